"""Numeric matrices for gradient-boosted trees, shared by detection and ML efficacy.

Numerical columns stay as floats, datetimes become float nanoseconds, categorical
columns become integer codes over the union of the categories seen in every table,
so real, synthetic and holdout rows are coded alike. Missing values stay NaN, which
``HistGradientBoosting*`` handles natively. ID columns are left out: a fresh key per
row says nothing about the distribution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabsyn.table.rows import category_key, datetime_to_float
from tabsyn.table.schema import CATEGORICAL, DATETIME, ID, ColumnSpec

# HistGradientBoosting handles a categorical feature natively only below max_bins (255)
# levels; columns with more levels are passed as ordinal codes instead.
MAX_NATIVE_LEVELS = 255


class TreeEncoding:
    """Encode DataFrames with the same columns as one float matrix for tree models.

    Parameters
    ----------
    specs : list of ColumnSpec
        The columns' kinds, in column order.
    exclude : sequence of labels, optional
        Columns to leave out (e.g. the target of a prediction task).
    """

    def __init__(self, specs: list[ColumnSpec], *, exclude=()):
        self.specs = [s for s in specs if s.kind != ID and s.name not in set(exclude)]

    def fit(self, *frames: pd.DataFrame) -> "TreeEncoding":
        """Learn category codes from the union of the values in ``frames``."""
        self.codes_ = {}
        for spec in self.specs:
            if spec.kind == CATEGORICAL:
                values = pd.concat([f[spec.name] for f in frames]).dropna().map(category_key).unique()
                self.codes_[spec.name] = {v: i for i, v in enumerate(sorted(values, key=str))}
        self.categorical_mask_ = np.array([
            s.kind == CATEGORICAL and len(self.codes_[s.name]) <= MAX_NATIVE_LEVELS for s in self.specs
        ], dtype=bool)
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """The float matrix of ``df``: one column per encoded column, NaN where missing."""
        out = np.empty((len(df), len(self.specs)), dtype=np.float64)
        for j, spec in enumerate(self.specs):
            col = df[spec.name]
            if spec.kind == CATEGORICAL:
                codes = self.codes_[spec.name]
                keys = col.astype(object).map(lambda v: np.nan if pd.isna(v) else category_key(v))
                out[:, j] = keys.map(codes).to_numpy(dtype=np.float64)  # unseen -> NaN
            elif spec.kind == DATETIME:
                out[:, j] = datetime_to_float(col)
            else:
                out[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        return out
