"""Comparing table rows: value keys, row hashes, a distance space and nearest-row distances.

Shared by the privacy guard that ``TabSynthesizer.sample`` can apply and by the
privacy evaluation, so the guard removes exactly what the evaluation counts.

The distance space (:class:`RowSpace`): numerical and datetime columns are mapped
to [0, 1] through their quantiles in the reference rows, beside a 0/1 missing
indicator; categorical columns are one-hot, scaled by 1/sqrt(2), over their
``MAX_ONE_HOT`` most frequent reference levels (rarer and unseen levels share one
"other" slot). So a differing category, a missing value where the other row has
one, and a number at the other end of its range each add 1 to the squared
Euclidean distance. ID columns are left out: fresh keys say nothing about a row.

Rows are stored as ``RowPoints``, a compact pair (numbers, category codes); the
one-hot coordinates are built a block at a time when distances are taken, so
memory stays bounded whatever the number of levels.

This module works on pandas and NumPy only; it never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from tabsyn.table.quantiles import quantile_grid, quantile_position
from tabsyn.table.schema import CATEGORICAL, DATETIME, ID, ColumnSpec

MAX_ONE_HOT = 1_000     # one-hot width per categorical column; rarer levels share one slot
ONE_HOT_PRODUCT = 8     # nearest(): wider categorical columns are compared by code, not multiplied one-hot
N_QUANTILES = 1_000     # quantiles kept per numerical column
PAIRWISE_GROUP = 512    # nearest(): groups of up to this many reference rows are compared pair by pair
MISSING_KEY = "\0missing"


# -- keys of values and rows -------------------------------------------------------

def datetime_to_float(col: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (UTC for timezone-aware columns); NaT -> NaN."""
    values = pd.to_datetime(col, utc=True)
    out = values.astype("int64").to_numpy(dtype=np.float64)
    out[values.isna().to_numpy()] = np.nan
    return out


def category_key(value: object) -> object:
    """The key a category value is coded by: 1 and 1.0 are one category, whatever the dtype."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value


def _string_key(value: object) -> str:
    return MISSING_KEY if pd.isna(value) else str(category_key(value))


def category_strings(col: pd.Series) -> pd.Series:
    """Each value as a string key (1 and 1.0 alike); missing values get their own key.

    The key is computed once per distinct value (``pd.factorize``), not once per row: the
    guard keys every row of the table, which took seconds per 100,000 rows. Columns that
    mix kinds of values (True and 1 are one value to a hash table) are keyed row by row.
    """
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biuf":  # numpy numbers: factorized as they are
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        uniques = pd.Series(uniques).astype(object)  # the Python scalars astype(object) gives each row
    else:
        values = col.astype(object)
        if col.dtype == object and pd.api.types.infer_dtype(values, skipna=True).startswith("mixed"):
            return values.map(_string_key)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    keys = np.array([_string_key(v) for v in uniques] + [MISSING_KEY], dtype=object)
    return pd.Series(keys[codes], index=col.index, dtype=object)  # code -1 (missing) takes the last key


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
    if not columns:
        return np.zeros(len(df), dtype=np.uint64)
    return pd.util.hash_pandas_object(pd.DataFrame(columns), index=False).to_numpy()


def _numbers(col: pd.Series, kind: str) -> np.ndarray:
    if kind == DATETIME:
        return datetime_to_float(col)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)


# -- the distance space ------------------------------------------------------------

class RowPoints(NamedTuple):
    """Rows in the distance space, compactly: numbers in [0, 1] with missing flags, category codes."""

    numbers: np.ndarray  # (rows, 2 x numerical columns) float32: value, then is-missing
    codes: np.ndarray    # (rows, categorical columns) int32: slot of the level, "other" last

    def __len__(self) -> int:  # rows, not the tuple's two fields
        return max(self.numbers.shape[0], self.codes.shape[0])

    def take(self, index) -> "RowPoints":
        return RowPoints(self.numbers[index], self.codes[index])


class GroupIndex(NamedTuple):
    """Reference rows sorted by :meth:`RowSpace.group_keys`: ``order`` of the rows, their sorted ``keys``."""

    order: np.ndarray
    keys: np.ndarray


class RowSpace:
    """Learns the distance space from reference rows; see the module docstring.

    Parameters
    ----------
    specs : list of ColumnSpec
        The columns' kinds, in column order; ID columns are left out.
    """

    def __init__(self, specs: list[ColumnSpec]):
        self.specs = [s for s in specs if s.kind != ID]

    def fit(self, reference: pd.DataFrame) -> "RowSpace":
        """Learn each numerical column's quantiles and each categorical column's levels."""
        self.quantiles_: dict = {}
        self.levels_: dict = {}
        for s in self.specs:
            if s.kind == CATEGORICAL:
                keys = category_strings(reference[s.name])
                self.levels_[s.name] = list(keys.value_counts().index[:MAX_ONE_HOT])
            else:
                v = _numbers(reference[s.name], s.kind)
                v = v[~np.isnan(v)]
                self.quantiles_[s.name] = quantile_grid(v, N_QUANTILES)[1] if len(v) else np.zeros(1)
        self._index()
        return self

    def _index(self) -> None:
        self._lookup = {name: {k: i for i, k in enumerate(levels)} for name, levels in self.levels_.items()}
        self.sizes_ = [len(self.levels_[s.name]) + 1 for s in self.specs if s.kind == CATEGORICAL]

    def transform(self, df: pd.DataFrame) -> RowPoints:
        """The rows of ``df`` as :class:`RowPoints`."""
        numbers, codes = [], []
        for s in self.specs:
            if s.kind == CATEGORICAL:
                lookup = self._lookup[s.name]
                keys = category_strings(df[s.name])
                codes.append(keys.map(lookup).fillna(len(lookup)).to_numpy(np.int32))
            else:
                v = _numbers(df[s.name], s.kind)
                missing = np.isnan(v)
                u = _to_uniform(np.nan_to_num(v), self.quantiles_[s.name])
                numbers += [np.where(missing, 0.0, u), missing.astype(np.float64)]
        n = len(df)
        return RowPoints(
            np.column_stack(numbers).astype(np.float32) if numbers else np.zeros((n, 0), np.float32),
            np.column_stack(codes).astype(np.int32) if codes else np.zeros((n, 0), np.int32),
        )

    def dense(self, points: RowPoints, dtype=np.float64, *, columns: list[int] | None = None) -> np.ndarray:
        """Euclidean coordinates: the numbers, then the scaled one-hot blocks (of the categorical
        ``columns``, positions among the categorical columns; default all)."""
        columns = list(range(len(self.sizes_))) if columns is None else list(columns)
        sizes = [self.sizes_[j] for j in columns]
        n, k = len(points), points.numbers.shape[1]
        out = np.zeros((n, k + sum(sizes)), dtype=dtype)
        out[:, :k] = points.numbers
        if sizes:
            offsets = k + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
            out[np.arange(n)[:, None], offsets + points.codes[:, columns]] = np.sqrt(0.5)
        return out

    def _one_hot_columns(self) -> tuple[list[int], list[int]]:
        """Categorical columns (positions) taken as one-hot in the matrix product, and those compared code by code."""
        narrow = [j for j, size in enumerate(self.sizes_) if size <= ONE_HOT_PRODUCT]
        return narrow, [j for j, size in enumerate(self.sizes_) if size > ONE_HOT_PRODUCT]

    def group_keys(self, points: RowPoints) -> np.ndarray:
        """A 64-bit key per row over its category slots and missing flags.

        Two rows whose keys differ differ in a category slot or a missing flag, so they are
        at least 1 apart (each adds exactly 1 to the squared distance). Rows with equal keys
        almost always agree on both; a hash collision costs time, never a wrong distance,
        as the distances within a key still count every coordinate.
        """
        parts = np.concatenate([points.codes, points.numbers[:, 1::2] > 0.5], axis=1).astype(np.int64)
        if parts.shape[1] == 0:
            return np.zeros(len(points), dtype=np.uint64)
        return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()

    def group_index(self, reference: RowPoints) -> GroupIndex:
        """``reference``'s rows sorted by group, for :meth:`nearest` and :meth:`within` (a caller that
        searches one reference many times, as the privacy guard does, builds it once)."""
        keys = self.group_keys(reference)
        order = np.argsort(keys, kind="stable")
        return GroupIndex(order, keys[order])

    def nearest(self, query: RowPoints, reference: RowPoints, *, dtype=np.float64,
                block: int = 2**23, index: GroupIndex | None = None) -> np.ndarray:
        """Each query row's Euclidean distance to its closest reference row.

        Two passes find the closest row, then its distance is computed again directly, as the
        square root of the sum of squared differences in float64 (:meth:`_exact`): a copied
        row is at exactly 0, and small distances survive.

        1. Among the reference rows with the query row's :meth:`group_keys` (the same
           category slots and missing flags): a closest one found there less than 1 away is
           the closest of all, since every other row is at least 1 away. On flights, whose
           categories and missing flags split the rows into small groups, most rows end here.
        2. The rows left (nothing that close in their group) are compared with every
           reference row (:meth:`_closest`).

        Taken a block at a time: no block of rows or distances holds more than about
        ``block`` numbers, so memory stays bounded whatever the numbers of rows and levels.
        ``index`` is :meth:`group_index` of ``reference`` (built here if not given).
        """
        if len(reference) == 0:
            return np.full(len(query), np.inf)
        best, which = self._within_groups(query, reference, block, index)
        rest = np.flatnonzero(~(best < 1.0 - 1e-6))  # 1e-6: rounding must not skip a row 1 away elsewhere
        if len(rest):
            which[rest] = self._closest(query.take(rest), reference, dtype, block)[1]
        return self._exact(query, reference, which, block)

    def within(self, query: RowPoints, reference: RowPoints, radius: float, *, block: int = 2**23,
               index: GroupIndex | None = None) -> np.ndarray:
        """Whether each query row has a reference row closer than ``radius`` (``nearest(...) < radius``).

        For a radius up to 1 only the rows of the same group (:meth:`group_keys`) can be that
        close, so nothing is compared with the whole reference: the privacy guard's check of
        a sample costs a small part of a full nearest-row search.
        """
        if radius > 1.0 or len(reference) == 0:
            return self.nearest(query, reference, block=block, index=index) < radius
        best, which = self._within_groups(query, reference, block, index)
        out = np.zeros(len(query), dtype=bool)
        near = np.flatnonzero(best < radius * radius + 1e-6)  # candidates; their distances are recomputed
        if len(near):
            out[near] = self._exact(query.take(near), reference, which[near], block) < radius
        return out

    def _within_groups(self, query: RowPoints, reference: RowPoints, block: int,
                       index: GroupIndex | None) -> tuple[np.ndarray, np.ndarray]:
        """Per query row: the smallest squared distance to a reference row of its group and that row
        (inf and 0 where its group has none).

        Small groups are compared pair by pair, many groups at once (no Python loop per group);
        a group of more than ``PAIRWISE_GROUP`` rows gets a blocked matrix product (on Magic, whose
        rows all share one group, pair by pair was 20x slower than the product).
        """
        order, ref_keys = index if index is not None else self.group_index(reference)
        q_keys = self.group_keys(query)
        lo, hi = np.searchsorted(ref_keys, q_keys, "left"), np.searchsorted(ref_keys, q_keys, "right")
        count = hi - lo
        best, which = np.full(len(query), np.inf), np.zeros(len(query), dtype=np.int64)
        width = max(1, query.numbers.shape[1] + query.codes.shape[1])
        pairs = max(1, block // width)
        largest = min(pairs, PAIRWISE_GROUP)
        small = np.flatnonzero((count > 0) & (count <= largest))
        cum = np.cumsum(count[small])
        start = 0
        while start < len(small):  # chunks of queries with at most ``pairs`` pairs in all
            stop = max(start + 1, int(np.searchsorted(cum, (cum[start - 1] if start else 0) + pairs, "right")))
            rows, n = small[start:stop], count[small[start:stop]]
            q = np.repeat(rows, n)
            first = np.cumsum(n) - n  # where each query row's pairs begin
            r = order[np.repeat(lo[rows] - first, n) + np.arange(len(q))]
            d2 = ((query.numbers[q].astype(np.float64) - reference.numbers[r]) ** 2).sum(1)
            d2 += (query.codes[q] != reference.codes[r]).sum(1)
            low = np.minimum.reduceat(d2, first)
            at = np.flatnonzero(d2 == np.repeat(low, n))
            best[rows], which[rows] = low, r[at[np.searchsorted(at, first)]]  # the first closest pair
            start = stop
        for key in np.unique(q_keys[count > largest]):  # large groups: a matrix product each
            rows = np.flatnonzero(q_keys == key)
            members = order[lo[rows[0]]:hi[rows[0]]]
            best[rows], which[rows] = self._closest(query.take(rows), reference.take(members), np.float64, block)
            which[rows] = members[which[rows]]
        return best, which

    def _closest(self, query: RowPoints, reference: RowPoints, dtype, block: int) -> tuple[np.ndarray, np.ndarray]:
        """(approximate smallest squared distance, closest reference row) per query row, blocked.

        Through the expansion |q|^2 + |r|^2 - 2 q.r in ``dtype``: fast, but squared distances
        below its rounding error (about 1e-4 in float32) are lost, so the distances are
        recomputed afterwards (:meth:`_exact`). A categorical column of more than
        ``ONE_HOT_PRODUCT`` slots is not one-hot in the product: its codes are compared (a
        differing level adds exactly 1, as its one-hot blocks would), so a column of 1,000
        levels costs one comparison per pair of rows, not 1,000 multiplications.
        """
        narrow, wide = self._one_hot_columns()
        width = max(1, query.numbers.shape[1] + sum(self.sizes_[j] for j in narrow) + len(wide))
        q_step = max(64, min(2048, block // width))
        r_step = max(64, min(block // width, block // q_step))
        best = np.full(len(query), np.inf)
        which = np.zeros(len(query), dtype=np.int64)
        cached = self.dense(reference, dtype, columns=narrow) if len(reference) * width <= block else None
        for qs in range(0, len(query), q_step):
            part = query.take(slice(qs, qs + q_step))
            Q, Q_codes = self.dense(part, dtype, columns=narrow), part.codes[:, wide]
            q_norm, Q = (Q * Q).sum(1), -2.0 * Q  # |q|^2 moves no argmin: added to the minima only
            rows_best, rows_which = best[qs:qs + q_step], which[qs:qs + q_step]
            for rs in range(0, len(reference), r_step):
                rows = slice(rs, rs + r_step)
                R = cached[rows] if cached is not None else self.dense(reference.take(rows), dtype, columns=narrow)
                R_codes = reference.codes[rows][:, wide]
                d2 = Q @ R.T
                d2 += (R * R).sum(1)[None, :]
                for j in range(len(wide)):
                    d2 += Q_codes[:, j, None] != R_codes[None, :, j]
                arg = d2.argmin(1)
                low = d2[np.arange(len(arg)), arg] + q_norm
                better = low < rows_best
                rows_best[better], rows_which[better] = low[better], rs + arg[better]
        return best, which

    def _exact(self, query: RowPoints, reference: RowPoints, which: np.ndarray, block: int) -> np.ndarray:
        """Distances from each query row to reference row ``which``, as sqrt of summed squared differences."""
        width = max(1, query.numbers.shape[1] + sum(self.sizes_))
        step = max(1, block // width)
        out = np.empty(len(query))
        for s in range(0, len(query), step):
            rows = slice(s, s + step)
            diff = self.dense(query.take(rows)) - self.dense(reference.take(which[rows]))
            out[rows] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        return out

    # -- plain state ---------------------------------------------------------
    def to_state(self) -> dict:
        """Plain data, in column order (labels may be any hashable, so they are not used as keys)."""
        return {"specs": [s.to_dict() for s in self.specs],
                "quantiles": [self.quantiles_.get(s.name) for s in self.specs],
                "levels": [self.levels_.get(s.name) for s in self.specs]}

    @classmethod
    def from_state(cls, state: dict) -> "RowSpace":
        obj = cls([ColumnSpec(**d) for d in state["specs"]])
        obj.quantiles_ = {s.name: np.asarray(q) for s, q in zip(obj.specs, state["quantiles"]) if q is not None}
        obj.levels_ = {s.name: list(v) for s, v in zip(obj.specs, state["levels"]) if v is not None}
        obj._index()
        return obj


def _to_uniform(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Position of ``x`` among the quantiles ``q``, in [0, 1]; runs of equal quantiles map to their middle."""
    if len(q) == 1:
        return np.full(len(x), 0.5)
    return quantile_position(x, q, np.linspace(0.0, 1.0, len(q)))
