"""One categorical column <-> integer codes: :class:`CategoricalCodec`.

A code per category seen in training, in a stable order (a category dtype's
order, else sorted); missing values, when training saw some, are one more code
at the end. A column with more than ``max_categories`` levels keeps the most
frequent ``max_categories - 1`` and pools the long tail into one "rare" code,
which decode draws back from the tail's empirical distribution, with a uniform
that depends on the row's stream position and codes only: the model stays
small, and only categories seen in training ever appear.

Category values are stored as plain data (:func:`values_to_state` /
:func:`values_from_state`): lists of Python scalars, or dicts for intervals
and datetimes. This module never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from tabsyn.table.schema import CATEGORICAL, ColumnSpec
from tabsyn.tabular.codec.hashing import row_uniforms
from tabsyn.tabular.codec.values import is_hashable, is_missing, problem, show, unique

MAX_CATEGORIES = 1000  # codes per categorical column, the rare-level pool included


def values_to_state(values) -> list | dict:
    """Category values as plain data: a list of Python scalars, or a dict for intervals / datetimes."""
    index = values if isinstance(values, pd.Index) else pd.Index(list(values), tupleize_cols=False)
    if isinstance(index, pd.IntervalIndex):
        return {"interval": {"left": values_to_state(index.left), "right": values_to_state(index.right),
                             "closed": str(index.closed)}}
    if isinstance(index, pd.DatetimeIndex):
        return {"datetime": {"i8": index.asi8.copy(), "unit": str(index.unit),
                             "tz": None if index.tz is None else str(index.tz)}}
    return [v.item() if isinstance(v, np.generic) else v for v in index]


def values_from_state(obj, *, infer: bool = False) -> pd.Index:
    """Inverse of :func:`values_to_state` (``infer``: give a list its natural dtype, as interval bounds need)."""
    if isinstance(obj, dict) and "interval" in obj:
        d = obj["interval"]
        left, right = (values_from_state(d[side], infer=True) for side in ("left", "right"))
        return pd.IntervalIndex.from_arrays(left, right, closed=d["closed"])
    if isinstance(obj, dict) and "datetime" in obj:
        d = obj["datetime"]
        index = pd.DatetimeIndex(np.asarray(d["i8"], dtype=np.int64).view(f"datetime64[{d['unit']}]"))
        return index.tz_localize("UTC").tz_convert(d["tz"]) if d["tz"] else index
    return pd.Index(list(obj), dtype=None if infer else object, tupleize_cols=False)


class KnownCodes(NamedTuple):
    """Known cells of one categorical column (see :meth:`CategoricalCodec.encode_known`)."""

    codes: np.ndarray           # (rows,) codes; the most frequent code where unknown
    values: pd.Series | None    # the known values as the generated column holds them (None on a problem)
    problem: str | None         # what is wrong with the given values, if anything


class CategoricalCodec:
    """One categorical column <-> integer codes; see the module docstring.

    Parameters
    ----------
    spec : ColumnSpec
        The column (its label, kind and dtype).
    max_categories : int, default=1000
        Most codes the column gets, the rare-level pool included.
    salt : int, default=0
        Tells this column's draws of pooled levels apart from other columns'.

    Attributes
    ----------
    categories_ : list
        The categories with a code of their own, in code order.
    rare_, rare_weights_ : list or None
        The pooled long tail (one code after ``categories_``) and its empirical distribution.
    has_missing_ : bool
        Whether training saw missing values (then the last code).
    dtype_categories_ : pandas.Index or None
        A category dtype's full category list (seen or not), and ``ordered_`` its order flag.
    mode_ : int
        The most frequent code: the neutral value of an unknown cell.
    """

    kind = CATEGORICAL

    def __init__(self, spec: ColumnSpec, *, max_categories: int = MAX_CATEGORIES, salt: int = 0):
        self.spec = spec
        self.max_categories = max_categories
        self.salt = salt

    @property
    def n_codes(self) -> int:
        return len(self.categories_) + bool(self.rare_) + int(self.has_missing_)

    @property
    def missing_code(self) -> int | None:
        """The code that means "missing" (None when training saw no missing value)."""
        return len(self.categories_) + bool(self.rare_) if self.has_missing_ else None

    def seen_categories(self) -> list:
        """Every category seen in training: those with a code, then the pooled ones."""
        return list(self.categories_) + list(self.rare_ or [])

    # -- fit, encode, decode ------------------------------------------------------
    def fit(self, col: pd.Series) -> "CategoricalCodec":
        present = col.dropna()
        self.dtype_categories_, self.ordered_ = None, False
        counts = present.value_counts(sort=False)
        if isinstance(col.dtype, pd.CategoricalDtype):
            self.dtype_categories_, self.ordered_ = col.cat.categories, bool(col.cat.ordered)
            order = [c for c in self.dtype_categories_ if counts.get(c, 0) > 0]
        else:
            order = sorted(counts.index.tolist(), key=lambda v: (str(type(v)), v))
        order = [c.item() if isinstance(c, np.generic) else c for c in order]
        self.categories_, self.rare_, self.rare_weights_ = order, None, None
        if len(order) > self.max_categories:
            # Keep the most frequent levels (ties by order); pool the tail into one code.
            rank = sorted(range(len(order)), key=lambda i: -counts[order[i]])
            keep = set(rank[: self.max_categories - 1])
            self.categories_ = [c for i, c in enumerate(order) if i in keep]
            self.rare_ = [c for i, c in enumerate(order) if i not in keep]
            tail = np.array([counts[c] for c in self.rare_], dtype=np.float64)
            self.rare_weights_ = (tail / tail.sum()).tolist()
        missing = col.isna().to_numpy()
        self.has_missing_ = bool(missing.any())
        codes = self.encode(col)
        self.mode_ = int(np.bincount(codes).argmax()) if len(codes) else 0
        return self

    def encode(self, col: pd.Series) -> np.ndarray:
        """The column -> int64 codes; raises ValueError for values (or missing ones) training never saw."""
        other = len(self.categories_)
        lookup = {c: i for i, c in enumerate(self.categories_)}
        lookup.update((c, other) for c in self.rare_ or ())
        missing = col.isna().to_numpy()
        codes = np.full(len(col), other + bool(self.rare_), dtype=np.int64)
        codes[~missing] = [lookup.get(v, -1) for v in col[~missing]]
        unseen = codes < 0
        if unseen.any() or (missing.any() and not self.has_missing_):
            bad = ["a missing value"] if missing.any() and not self.has_missing_ else []
            bad += unique([show(v) for v in col[~missing][unseen[~missing]]])
            raise ValueError(problem(self.spec.name, bad, "never seen in training", self.accepted()))
        return codes

    def decode(self, codes: np.ndarray, *, positions: np.ndarray, row_codes: np.ndarray) -> pd.Series:
        """Codes -> the column; a pooled code draws a level of the tail from the row's position and codes."""
        codes = np.asarray(codes)
        values = np.empty(len(codes), dtype=object)
        n_known = len(self.categories_)
        known = codes < n_known
        lookup = np.empty(n_known, dtype=object)
        lookup[:] = list(self.categories_)
        values[known] = lookup[codes[known]]
        missing = codes >= n_known + bool(self.rare_)
        values[missing] = np.nan
        pooled = ~known & ~missing
        if pooled.any():
            u = row_uniforms(positions, row_codes, self.salt)[pooled]
            cdf = np.cumsum(self.rare_weights_)
            picks = np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(self.rare_) - 1)
            rare = np.empty(len(self.rare_), dtype=object)
            rare[:] = list(self.rare_)
            values[pooled] = rare[picks]
        return self.to_values(values)

    def to_values(self, values: np.ndarray) -> pd.Series:
        """Category values (an object array, NaN where missing) -> the column's dtype."""
        series = pd.Series(values, dtype=object)
        if self.dtype_categories_ is not None:
            return series.astype(pd.CategoricalDtype(self.dtype_categories_, ordered=self.ordered_))
        return series.astype(self.spec.dtype)

    # -- known values -------------------------------------------------------------
    def encode_known(self, col: pd.Series, known: np.ndarray) -> KnownCodes:
        """Encode the ``known`` cells of ``col``; a problem names every value never seen in training."""
        n, known = len(col), np.asarray(known, bool)
        given = col.reset_index(drop=True)[known]
        lookup = {c: i for i, c in enumerate(self.categories_)}
        rare = {c: c for c in self.rare_ or ()}
        codes, canonical, bad = np.zeros(len(given), np.int64), np.full(len(given), np.nan, dtype=object), []
        for i, v in enumerate(given):
            v = v.item() if isinstance(v, np.generic) else v
            if is_missing(v):
                if not self.has_missing_:
                    bad.append("a missing value")
                codes[i] = len(self.categories_) + bool(self.rare_)
            elif is_hashable(v) and v in lookup:
                codes[i], canonical[i] = lookup[v], self.categories_[lookup[v]]
            elif is_hashable(v) and v in rare:
                codes[i], canonical[i] = len(self.categories_), rare[v]
            else:
                bad.append(show(v))
        full_codes = np.full(n, self.mode_, np.int64)
        full_codes[known] = codes
        if bad:
            return KnownCodes(full_codes, None,
                              problem(self.spec.name, unique(bad), "never seen in training", self.accepted()))
        full = np.empty(n, dtype=object)
        full[:] = [self.categories_[0] if self.categories_ else np.nan]  # unknown cells: any valid value
        full[known] = canonical
        return KnownCodes(full_codes, self.to_values(full), None)

    def accepted(self) -> str:
        """``accepted: 'Female', 'Male' or a missing value`` (the first ten seen categories)."""
        seen = self.seen_categories()
        shown = ", ".join(show(v) for v in seen[:10]) + (f", ... ({len(seen)} in all)" if len(seen) > 10 else "")
        return f"accepted: {shown}" + (" or a missing value" if self.has_missing_ else "")

    # -- plain state --------------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "spec": self.spec.to_dict(), "max_categories": self.max_categories, "salt": self.salt,
            "categories": values_to_state(self.categories_), "has_missing": self.has_missing_,
            "dtype_categories": None if self.dtype_categories_ is None else values_to_state(self.dtype_categories_),
            "ordered": self.ordered_, "rare": None if self.rare_ is None else values_to_state(self.rare_),
            "rare_weights": self.rare_weights_, "mode": self.mode_,
        }

    @classmethod
    def from_state(cls, state: dict) -> "CategoricalCodec":
        obj = cls(ColumnSpec(**state["spec"]), max_categories=state["max_categories"], salt=state["salt"])
        obj.categories_ = list(values_from_state(state["categories"]))
        obj.has_missing_, obj.ordered_, obj.mode_ = state["has_missing"], state["ordered"], state["mode"]
        obj.dtype_categories_ = (None if state["dtype_categories"] is None
                                 else values_from_state(state["dtype_categories"]))
        obj.rare_ = None if state["rare"] is None else list(values_from_state(state["rare"]))
        obj.rare_weights_ = state["rare_weights"]
        return obj
