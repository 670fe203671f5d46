"""Privacy: are synthetic rows closer to the training rows than fresh real rows would be?

Three figures, each compared with what a holdout of real rows never trained on gives:

- **DCR share**: the fraction of synthetic rows whose closest training row is nearer
  than their closest holdout row (ties count one half). Training and holdout rows are
  subsampled to the same number, so a generator that does not copy scores about 0.5;
  a generator that copies its training rows scores 1.0.
- **sdmetrics DCROverfittingProtection**: sdmetrics' own version of the same idea
  (``min(2 * (1 - share), 1)``, 1 = protected), on a smaller subsample because its
  pandas cross joins are slow.
- **copy rate**: the fraction of synthetic rows equal to some training row in every
  (non-ID) column, beside the same fraction for holdout rows, since real tables hold
  duplicate rows too.

Distances (Euclidean) are taken on quantile-scaled numerical columns (uniform on [0, 1],
learned on the training rows, with a missing-value indicator) and one-hot categorical
columns scaled by 1/sqrt(2), so a differing category and a numerical value at the other
end of its range both add 1 to the squared distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sdmetrics.single_table import DCROverfittingProtection
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import QuantileTransformer

from tabsyn.evaluation._checks import subsample
from tabsyn.evaluation.encoding import category_strings, datetime_to_float
from tabsyn.evaluation.fidelity import quiet_sdmetrics
from tabsyn.tabular.schema import CATEGORICAL, DATETIME, ID, ColumnSpec, sdmetrics_metadata

# Rows of training and of holdout data the distances are measured to (each), and
# synthetic rows measured: ~10k x 5k distances in a few seconds on 2 cores.
REFERENCE_ROWS = 10_000
QUERY_ROWS = 5_000
# sdmetrics' DCROverfittingProtection cross-joins in pandas: keep it to 1,000 rows a table.
SDMETRICS_ROWS = 1_000
# One-hot width per categorical column; rarer categories share one "other" slot.
MAX_ONE_HOT = 1_000


@dataclass
class Privacy:
    """How much the synthetic rows reveal the training rows; see the module doc.

    Attributes
    ----------
    dcr_share : float
        Fraction of synthetic rows closer to a training row than to a holdout row
        (0.5 ideal, 1.0 = copies).
    dcr_overfitting_protection : float
        sdmetrics' DCROverfittingProtection score (1 = protected, 0 = copies).
    copy_rate : float
        Fraction of synthetic rows equal to a training row.
    holdout_copy_rate : float
        Fraction of holdout rows equal to a training row: the rate real data has.
    n_reference, n_query : int
        Training (and holdout) rows measured to, and synthetic rows measured.
    synthetic_to_train, synthetic_to_holdout : ndarray
        Each measured synthetic row's distance to its closest training / holdout row.
    """

    dcr_share: float
    dcr_overfitting_protection: float
    copy_rate: float
    holdout_copy_rate: float
    n_reference: int
    n_query: int
    synthetic_to_train: np.ndarray = field(repr=False)
    synthetic_to_holdout: np.ndarray = field(repr=False)


class DistanceEncoding:
    """Quantile-scaled numericals with missing indicators, scaled one-hot categoricals."""

    def __init__(self, specs: list[ColumnSpec]):
        self.specs = [s for s in specs if s.kind != ID]

    def fit(self, train: pd.DataFrame) -> "DistanceEncoding":
        """Learn quantiles and categories from the training rows."""
        self.quantiles_, self.categories_ = {}, {}
        for s in self.specs:
            if s.kind == CATEGORICAL:
                keys = category_strings(train[s.name])
                top = keys.value_counts().index[:MAX_ONE_HOT]
                self.categories_[s.name] = {k: i for i, k in enumerate(top)}
            else:
                v = _numbers(train[s.name], s.kind)
                v = v[~np.isnan(v)].reshape(-1, 1)
                qt = QuantileTransformer(n_quantiles=max(1, min(1000, len(v))), random_state=0)
                self.quantiles_[s.name] = qt.fit(v if len(v) else np.zeros((1, 1)))
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """One row of coordinates per row of ``df``."""
        blocks = []
        for s in self.specs:
            if s.kind == CATEGORICAL:
                index = self.categories_[s.name]
                codes = category_strings(df[s.name]).map(index).fillna(len(index)).to_numpy(int)
                block = np.zeros((len(df), len(index) + 1))  # last slot: unseen or rare
                block[np.arange(len(df)), codes] = 1 / np.sqrt(2)
            else:
                v = _numbers(df[s.name], s.kind)
                missing = np.isnan(v)
                scaled = self.quantiles_[s.name].transform(np.nan_to_num(v).reshape(-1, 1))[:, 0]
                block = np.column_stack([np.where(missing, 0.0, scaled), missing.astype(float)])
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(df), 1))


def _numbers(col: pd.Series, kind: str) -> np.ndarray:
    if kind == DATETIME:
        return datetime_to_float(col)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)


def row_keys(df: pd.DataFrame, specs: list[ColumnSpec]) -> np.ndarray:
    """A 64-bit hash per row over the non-ID columns; equal rows hash alike across dtypes."""
    columns = {}
    for i, s in enumerate(specs):
        if s.kind == ID:
            continue
        col = df[s.name]
        if s.kind == DATETIME:
            col = pd.Series(datetime_to_float(col), index=df.index)
        columns[i] = category_strings(col)
    return pd.util.hash_pandas_object(pd.DataFrame(columns), index=False).to_numpy()


def _closest(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
    return nn.kneighbors(query)[0][:, 0]


def _sdmetrics_dcr(train, synthetic, holdout, specs, seed: int) -> float:
    n = min(len(train), len(holdout), len(synthetic), SDMETRICS_ROWS)
    frames = [subsample(f, n, seed + i).rename(columns=str) for i, f in enumerate((train, synthetic, holdout))]
    with quiet_sdmetrics():
        return float(DCROverfittingProtection.compute(
            real_training_data=frames[0], synthetic_data=frames[1], real_validation_data=frames[2],
            metadata=sdmetrics_metadata(specs), table_name=None,
        ))


def privacy(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    specs: list[ColumnSpec],
    *,
    seed: int,
) -> Privacy:
    """Compare ``synthetic`` with the training rows ``real`` and the unseen rows ``holdout``."""
    n_ref = min(len(real), len(holdout), REFERENCE_ROWS)
    train_ref = subsample(real, n_ref, seed)
    holdout_ref = subsample(holdout, n_ref, seed + 1)
    query = subsample(synthetic, QUERY_ROWS, seed + 2)
    encoding = DistanceEncoding(specs).fit(real)
    q = encoding.transform(query)
    to_train = _closest(encoding.transform(train_ref), q)
    to_holdout = _closest(encoding.transform(holdout_ref), q)
    share = np.mean(to_train < to_holdout) + 0.5 * np.mean(to_train == to_holdout)

    train_keys = row_keys(real, specs)
    return Privacy(
        dcr_share=float(share),
        dcr_overfitting_protection=_sdmetrics_dcr(real, synthetic, holdout, specs, seed + 3),
        copy_rate=float(np.isin(row_keys(synthetic, specs), train_keys).mean()),
        holdout_copy_rate=float(np.isin(row_keys(holdout, specs), train_keys).mean()),
        n_reference=n_ref,
        n_query=len(query),
        synthetic_to_train=to_train,
        synthetic_to_holdout=to_holdout,
    )
