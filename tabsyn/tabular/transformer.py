"""DataFrame <-> model arrays: quantile-normal numbers, category codes, and back.

``TableTransformer.fit_transform(df)`` gives two arrays the VAE reads:

- ``x_num`` (rows x numerical columns, float32): each numerical or datetime
  column through a :class:`QuantileNormalizer` to a standard normal;
- ``x_cat`` (rows x categorical columns, int64): a code per category, with
  missing values as one more category. A numerical column with missing values
  adds a two-level "is missing" column here, so missingness is learned jointly
  with everything else and regenerated at its real rate.

``inverse_transform(x_num, x_cat)`` rebuilds a DataFrame with the original
column labels, order and dtypes: integers rounded, numbers clipped to the seen
range and rounded to the decimals seen, only categories seen in training,
datetimes in their unit and timezone, ID columns as new keys in the same format.

Messy tables, and what is done about them:

- Integer and datetime columns are modelled as exact integer offsets from their
  minimum, so int64 / uint64 extremes and nanosecond timestamps come back inside
  the seen range, never wrapped around or rounded past it.
- Numbers up to +-1.8e308 and down to subnormals go through the quantile map
  without overflow; values are rounded only to decimals that write every seen
  value exactly (relative to the column's float precision), so 1e-9 stays 1e-9.
- A categorical column with more than ``max_categories`` levels keeps the most
  frequent ``max_categories - 1`` and pools the long tail into one "rare" code,
  which inverse draws back from the tail's empirical distribution: the model
  stays small, and only categories seen in training ever appear.

Draws made while inverting (rare categories, free-format keys) are functions
of the row's position in the sample stream (``id_offset`` + row) and its codes,
so a row does not depend on how sampling was batched.

Everything stored is plain data (``to_state`` / ``from_state``): numbers,
strings, lists, dicts and numpy arrays. This module never imports torch.
"""

from __future__ import annotations

import datetime
import re
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from tabsyn.table.schema import CATEGORICAL, DATETIME, ID, NUMERICAL, ColumnSpec

_EPS = 1e-7  # keep ppf away from +-inf
MAX_CATEGORIES = 1000  # codes per categorical column, the rare-level pool included


class QuantileNormalizer:
    """Map values to a standard normal through their empirical quantiles (and back).

    Ties (e.g. a mass of exact zeros) map to one normal value, which maps back
    to exactly that number. Values beyond 2**1000 in magnitude are handled in
    units of a power of two, so neighbouring quantiles never overflow when
    subtracted.
    """

    def __init__(self, n_quantiles: int = 1000):
        self.n_quantiles = n_quantiles

    def fit(self, x: np.ndarray) -> "QuantileNormalizer":
        x = np.asarray(x, dtype=np.float64)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        self.scale_ = float(np.ldexp(1.0, int(np.frexp(peak)[1]) - 1)) if peak > 2.0**1000 else 1.0
        n_q = int(min(self.n_quantiles, len(x)))
        self.references_ = np.linspace(0.0, 1.0, n_q)
        self.quantiles_ = np.maximum.accumulate(np.quantile(x / self.scale_, self.references_))
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        q, r = self.quantiles_, self.references_
        x = np.asarray(x, dtype=np.float64) / self.scale_
        # Interpolate from both ends and average, so runs of equal quantiles
        # map to the middle of their reference interval.
        u = 0.5 * (np.interp(x, q, r) - np.interp(-x, -q[::-1], -r[::-1]))
        return ndtri(np.clip(u, _EPS, 1.0 - _EPS))

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        u = ndtr(np.asarray(z, dtype=np.float64))
        return np.interp(u, self.references_, self.quantiles_) * self.scale_

    def to_state(self) -> dict:
        return {"n_quantiles": self.n_quantiles, "references": self.references_,
                "quantiles": self.quantiles_, "scale": self.scale_}

    @classmethod
    def from_state(cls, s: dict) -> "QuantileNormalizer":
        obj = cls(s["n_quantiles"])
        obj.references_, obj.quantiles_ = np.asarray(s["references"]), np.asarray(s["quantiles"])
        obj.scale_ = float(s.get("scale", 1.0))
        return obj


# -- small pure helpers --------------------------------------------------------

def _numpy_dtype(dtype) -> np.dtype:
    """The NumPy dtype under a pandas nullable or sparse dtype."""
    for attr in ("numpy_dtype", "subtype"):
        inner = getattr(dtype, attr, None)
        if isinstance(inner, np.dtype):
            return inner
    return np.dtype(dtype) if isinstance(dtype, np.dtype) else np.dtype(np.float64)


def _decimals(values: np.ndarray, rtol: float, max_decimals: int = 8) -> int | None:
    """The fewest decimals that write every value exactly (to ``rtol``), or None if more than max_decimals."""
    sample = np.unique(values)
    if len(sample) > 5000:
        sample = sample[np.linspace(0, len(sample) - 1, 5000).astype(np.int64)]
    with np.errstate(over="ignore", invalid="ignore"):
        for d in range(max_decimals + 1):
            if np.all(np.abs(np.round(sample, d) - sample) <= rtol * np.abs(sample)):
                return d
    return None


def _offsets(values: np.ndarray, origin: int) -> np.ndarray:
    """``values - origin`` as float64, exact below 2**53 whatever the integers' magnitude."""
    with np.errstate(over="ignore"):
        return (values.astype(np.uint64) - np.uint64(origin % 2**64)).astype(np.float64)


def _from_offsets(x: np.ndarray, origin: int, span: int, unsigned: bool) -> np.ndarray:
    """Inverse of :func:`_offsets`: round, keep within ``[0, span]``, add ``origin`` back without overflow."""
    d = np.clip(np.round(x), 0.0, float(span))
    top = d >= float(span)  # float(span) may round past span: set the top exactly
    d = np.minimum(d, np.nextafter(2.0**64, 0.0))
    big = d >= 2.0**63
    u = np.where(big, d - 2.0**63, d).astype(np.uint64)
    u[big] += np.uint64(2**63)
    u = np.minimum(u, np.uint64(span))
    u[top] = np.uint64(span)
    with np.errstate(over="ignore"):
        v = u + np.uint64(origin % 2**64)
    return v if unsigned else v.view(np.int64)


def _mix64(h: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on uint64 that scatters neighbouring inputs."""
    with np.errstate(over="ignore"):
        h = h + np.uint64(0x9E3779B97F4A7C15)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def _row_hashes(positions: np.ndarray, salt: int) -> np.ndarray:
    """A scattered 64-bit value per stream position."""
    rows = np.asarray(positions, dtype=np.int64).astype(np.uint64)
    return _mix64(rows ^ np.uint64(salt % 2**64))


def _encode_values(values) -> list | dict:
    """Category values as plain data: a list of Python scalars, or a dict for intervals / datetimes."""
    index = values if isinstance(values, pd.Index) else pd.Index(list(values), tupleize_cols=False)
    if isinstance(index, pd.IntervalIndex):
        return {"interval": {"left": _encode_values(index.left), "right": _encode_values(index.right),
                             "closed": str(index.closed)}}
    if isinstance(index, pd.DatetimeIndex):
        return {"datetime": {"i8": index.asi8.copy(), "unit": str(index.unit),
                             "tz": None if index.tz is None else str(index.tz)}}
    return [v.item() if isinstance(v, np.generic) else v for v in index]


def _decode_values(obj, *, infer: bool = False) -> pd.Index:
    """Inverse of :func:`_encode_values` (``infer``: give a list its natural dtype, as interval bounds need)."""
    if isinstance(obj, dict) and "interval" in obj:
        d = obj["interval"]
        left, right = (_decode_values(d[side], infer=True) for side in ("left", "right"))
        return pd.IntervalIndex.from_arrays(left, right, closed=d["closed"])
    if isinstance(obj, dict) and "datetime" in obj:
        d = obj["datetime"]
        index = pd.DatetimeIndex(np.asarray(d["i8"], dtype=np.int64).view(f"datetime64[{d['unit']}]"))
        return index.tz_localize("UTC").tz_convert(d["tz"]) if d["tz"] else index
    return pd.Index(list(obj), dtype=None if infer else object, tupleize_cols=False)


# -- what inverse needs, per column kind ----------------------------------------

@dataclass
class _Numeric:
    """What inverse needs for one numerical or datetime column."""

    normalizer: QuantileNormalizer
    low: float
    high: float
    decimals: int | None      # round to this many decimals (0 for integers)
    missing_code_col: int | None  # index in x_cat of the "is missing" flag, if any
    tz: str | None = None      # datetime columns: timezone
    unit_ns: int = 1           # datetime columns: the coarsest unit dividing every value (a day, a second, ...)
    origin: int | None = None  # integer and datetime columns: values are modelled as offsets from this minimum ...
    span: int | None = None    # ... up to this offset (max - min), restored exactly in integer arithmetic
    tick: str = "ns"           # datetime columns: the storage unit ("ns", "us", "ms", "s", or "D" for dates)
    pyobject: str | None = None  # object columns of Python "date" or "datetime" values


@dataclass
class _Categorical:
    categories: list           # seen categories kept as codes, in code order
    has_missing: bool          # missing is the last code
    dtype_categories: list | None = None  # a category dtype's full category list (seen or not)
    ordered: bool = False
    rare: list | None = None   # the pooled long tail (one code after ``categories``) ...
    rare_weights: list | None = None  # ... and its empirical distribution
    mode: int = 0              # the most frequent code: the neutral value of an unknown cell


@dataclass
class _Id:
    prefix: str | None         # "CUST-" for "CUST-00042"; None for integer keys / free strings
    width: int                 # zero-padded digit width, or string length
    start: int                 # first new key number (past every training key)
    kind: str                  # "int", "pattern" or "random"
    template: list | None = None  # "random": the characters allowed at each position


# Day, hour, minute, second, millisecond, microsecond, nanosecond.
_TIME_UNITS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)
_TICK_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}

_ID_PATTERN = re.compile(r"^(.*?)(\d+)$")
_CHAR_CLASSES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _is_unsigned(dtype: str) -> bool:
    return _numpy_dtype(pd.api.types.pandas_dtype(dtype)).kind == "u"


class TableTransformer:
    """Fitted preprocessing for one table; see the module docstring.

    Parameters
    ----------
    max_categories : int, default=1000
        Most codes one categorical column gets; rarer levels share one code and
        are drawn back from their empirical distribution.
    """

    def __init__(self, *, max_categories: int = MAX_CATEGORIES):
        self.max_categories = max_categories

    def fit_transform(self, df: pd.DataFrame, specs: list[ColumnSpec]) -> tuple[np.ndarray, np.ndarray]:
        if not (isinstance(self.max_categories, int) and self.max_categories >= 2):
            raise ValueError(f"max_categories must be an integer >= 2; got {self.max_categories!r}")
        self.specs_ = list(specs)
        self.columns_index_ = {"multi": isinstance(df.columns, pd.MultiIndex), "names": list(df.columns.names)}
        self.num_info_: dict[int, _Numeric] = {}
        self.cat_info_: dict[int, _Categorical] = {}
        self.id_info_: dict[int, _Id] = {}
        num_cols, cat_cols, cat_sizes = [], [], []
        flags = []  # (position, missing flag) for numerical columns with missing values
        for pos, spec in enumerate(self.specs_):
            col = df.iloc[:, pos]
            if spec.kind in (NUMERICAL, DATETIME):
                values, missing, info = self._fit_numeric(col, spec)
                self.num_info_[pos] = info
                num_cols.append(values)
                if missing.any():
                    flags.append((pos, missing))
            elif spec.kind == CATEGORICAL:
                codes, info = self._fit_categorical(col, self.max_categories)
                self.cat_info_[pos] = info
                cat_cols.append(codes)
                cat_sizes.append(len(info.categories) + bool(info.rare) + int(info.has_missing))
            elif spec.kind == ID:
                self.id_info_[pos] = self._fit_id(col)
        # "is missing" flags go after the real categorical columns.
        for pos, flag in flags:
            self.num_info_[pos].missing_code_col = len(cat_cols)
            cat_cols.append(flag.astype(np.int64))
            cat_sizes.append(2)
        self.num_positions_ = list(self.num_info_)
        self.cat_positions_ = list(self.cat_info_)
        self.cat_sizes_ = cat_sizes
        n = len(df)
        x_num = np.stack(num_cols, axis=1).astype(np.float32) if num_cols else np.zeros((n, 0), np.float32)
        x_cat = np.stack(cat_cols, axis=1).astype(np.int64) if cat_cols else np.zeros((n, 0), np.int64)
        return x_num, x_cat

    # -- fitting, per kind --------------------------------------------------
    @staticmethod
    def _datetime_counts(col: pd.Series) -> tuple[np.ndarray, np.ndarray, dict]:
        """Datetimes as int64 counts of their coarsest unit since the epoch (UTC), and how to undo that."""
        info = {"tz": None, "pyobject": None, "tick": "ns"}
        present = col.dropna()
        if col.dtype == object and all(type(v) is datetime.date for v in present):
            info["pyobject"], info["tick"] = "date", "D"
            ticks = np.array(col.where(col.notna(), None).tolist(), dtype="datetime64[D]")
        else:
            if col.dtype == object:
                info["pyobject"] = "datetime"
                col = pd.to_datetime(col)
            if col.dt.tz is not None:
                info["tz"] = str(col.dt.tz)
                col = col.dt.tz_convert("UTC").dt.tz_localize(None)
            ticks = col.to_numpy()
            info["tick"] = np.datetime_data(ticks.dtype)[0]
        missing = np.isnat(ticks)
        ticks = ticks.view(np.int64)
        tick_ns = _TICK_NS[info["tick"]]
        unit = next(u for u in _TIME_UNITS_NS
                    if u % tick_ns == 0 and np.all(ticks[~missing] % (u // tick_ns) == 0))
        info["unit_ns"] = unit
        return ticks // (unit // tick_ns), missing, info

    def _fit_numeric(self, col: pd.Series, spec: ColumnSpec) -> tuple[np.ndarray, np.ndarray, _Numeric]:
        extra = {}
        if spec.kind == DATETIME:
            ints, missing, extra = self._datetime_counts(col)
        elif pd.api.types.is_integer_dtype(col.dtype):
            missing = col.isna().to_numpy()
            target = np.uint64 if _is_unsigned(spec.dtype) else np.int64
            ints = col.to_numpy(dtype=target, na_value=0)
        else:
            ints = None
            x = col.to_numpy(dtype=np.float64, na_value=np.nan)
            missing = np.isnan(x)
        if ints is not None:  # exact integers: model offsets from the minimum
            present = ints[~missing]
            origin, span = int(present.min()), int(present.max()) - int(present.min())
            x = np.where(missing, np.nan, _offsets(ints, origin))
            extra.update(origin=origin, span=span)
            decimals = 0
        present = x[~missing]
        if ints is None:
            decimals = _decimals(present, rtol=16 * float(np.finfo(_numpy_dtype(col.dtype)).eps)
                                 if _numpy_dtype(col.dtype).kind == "f" else 1e-12)
        normalizer = QuantileNormalizer().fit(present)
        info = _Numeric(normalizer, float(present.min()), float(present.max()), decimals, None, **extra)
        z = np.zeros_like(x)  # missing cells sit at the median; their flag carries the fact
        z[~missing] = normalizer.transform(present)
        return z, missing, info

    @staticmethod
    def _fit_categorical(col: pd.Series, max_categories: int) -> tuple[np.ndarray, _Categorical]:
        present = col.dropna()
        dtype_categories, ordered = None, False
        if isinstance(col.dtype, pd.CategoricalDtype):
            dtype_categories, ordered = col.cat.categories, bool(col.cat.ordered)
            counts = present.value_counts(sort=False)
            order = [c for c in dtype_categories if counts.get(c, 0) > 0]
        else:
            counts = present.value_counts(sort=False)
            order = sorted(counts.index.tolist(), key=lambda v: (str(type(v)), v))
        order = [c.item() if isinstance(c, np.generic) else c for c in order]
        categories, rare, weights = order, None, None
        if len(order) > max_categories:
            # Keep the most frequent levels (ties by order); pool the tail into one code.
            rank = sorted(range(len(order)), key=lambda i: -counts[order[i]])
            keep = set(rank[: max_categories - 1])
            categories = [c for i, c in enumerate(order) if i in keep]
            rare = [c for i, c in enumerate(order) if i not in keep]
            tail = np.array([counts[c] for c in rare], dtype=np.float64)
            weights = (tail / tail.sum()).tolist()
        lookup = {c: i for i, c in enumerate(categories)}
        other = len(categories)
        missing = col.isna().to_numpy()
        codes = np.full(len(col), other + bool(rare), dtype=np.int64)
        codes[~missing] = [lookup.get(v, other) for v in col[~missing]]
        mode = int(np.bincount(codes).argmax()) if len(codes) else 0
        return codes, _Categorical(categories, bool(missing.any()), dtype_categories, ordered, rare, weights, mode)

    @staticmethod
    def _fit_id(col: pd.Series) -> _Id:
        values = col.dropna()
        if pd.api.types.is_integer_dtype(col.dtype):
            return _Id(None, 0, int(values.max()) + 1, "int")
        strings = values.astype(str)
        matches = [_ID_PATTERN.match(s) for s in strings]
        if all(matches):
            prefixes = {m.group(1) for m in matches}
            widths = {len(m.group(2)) for m in matches}
            if len(prefixes) == 1:
                start = max(int(m.group(2)) for m in matches) + 1
                return _Id(prefixes.pop(), max(widths), start, "pattern")
        # Free-format keys: learn the characters allowed at each position (a UUID
        # keeps its dashes and hex digits); keys of varying length get the median length.
        chars = set("".join(strings))
        classes = [c for c in _CHAR_CLASSES if chars & set(c)] or [_CHAR_CLASSES[1]]
        lengths = strings.str.len()
        if lengths.nunique() == 1:
            template = []
            for i in range(int(lengths.iloc[0])):
                seen = {s[i] for s in strings}
                if len(seen) == 1:
                    template.append(seen.pop())
                    continue
                alphabet = set(seen)
                for cls in _CHAR_CLASSES:
                    if seen & set(cls):
                        alphabet |= set(_hex_or_all(cls, chars))
                template.append("".join(sorted(alphabet)))
        else:
            alphabet = "".join(sorted(set().union(*(_hex_or_all(c, chars) for c in classes))))
            template = [alphabet] * max(int(np.median(lengths)), 8)
        salt = zlib.crc32("|".join(template).encode())
        return _Id(None, len(template), salt, "random", template)

    # -- inverse -------------------------------------------------------------
    def inverse_transform(
        self, x_num: np.ndarray, x_cat: np.ndarray, *, id_offset: int = 0, positions: np.ndarray | None = None
    ) -> pd.DataFrame:
        """Rebuild a DataFrame from model arrays.

        ``positions`` are the rows' positions in the sample stream (default:
        ``id_offset``, ``id_offset + 1``, ...). New keys and every draw made here
        are functions of the position, so batching never changes a row.
        """
        n = len(x_num) if x_num.size or not x_cat.size else len(x_cat)
        if positions is None:
            positions = np.arange(n, dtype=np.int64) + id_offset
        positions = np.asarray(positions, dtype=np.int64)
        columns = {}
        for j, pos in enumerate(self.num_positions_):
            columns[pos] = self._inverse_numeric(self.specs_[pos], self.num_info_[pos], x_num[:, j], x_cat)
        for j, pos in enumerate(self.cat_positions_):
            columns[pos] = self._inverse_categorical(self.specs_[pos], self.cat_info_[pos], x_cat[:, j],
                                                     x_cat, positions, pos)
        for pos, info in self.id_info_.items():
            columns[pos] = self._new_ids(self.specs_[pos], info, positions)
        out = pd.DataFrame({i: columns[i].reset_index(drop=True) for i in range(len(self.specs_))})
        labels = [s.name for s in self.specs_]
        index = getattr(self, "columns_index_", {"multi": False, "names": [None]})
        if index["multi"]:
            out.columns = pd.MultiIndex.from_tuples(labels, names=index["names"])
        else:
            out.columns = pd.Index(labels, tupleize_cols=False, name=index["names"][0])
        return out

    @staticmethod
    def _inverse_numeric(spec: ColumnSpec, info: _Numeric, z: np.ndarray, x_cat: np.ndarray) -> pd.Series:
        x = np.clip(info.normalizer.inverse_transform(z), info.low, info.high)
        missing = x_cat[:, info.missing_code_col] == 1 if info.missing_code_col is not None else np.zeros(len(x), bool)
        return TableTransformer.numeric_values(spec, info, x, missing)

    @staticmethod
    def numeric_values(spec: ColumnSpec, info: _Numeric, x: np.ndarray, missing: np.ndarray) -> pd.Series:
        """Model-space numbers (offsets for integers and datetimes) -> the column's values and dtype."""
        if info.origin is not None:
            ints = _from_offsets(x, info.origin, info.span, unsigned=spec.kind != DATETIME and _is_unsigned(spec.dtype))
        elif spec.kind == DATETIME:  # states written before offsets were used
            ints = np.round(x).astype(np.int64)
        else:
            ints = None
            if info.decimals is not None:
                with np.errstate(over="ignore", invalid="ignore"):
                    rounded = np.round(x, info.decimals)
                x = np.clip(np.where(np.isfinite(rounded), rounded, x), info.low, info.high)
        if spec.kind == DATETIME:
            return TableTransformer._inverse_datetime(spec, info, ints, missing)
        values = pd.Series(x) if ints is None else pd.Series(ints)
        values = values.astype(spec.dtype)
        if missing.any():
            values[missing] = None
        return values

    @staticmethod
    def _inverse_datetime(spec: ColumnSpec, info: _Numeric, counts: np.ndarray, missing: np.ndarray) -> pd.Series:
        tick_ns = _TICK_NS[info.tick]
        ticks = (counts * (info.unit_ns // tick_ns)).view(f"datetime64[{info.tick}]")
        ticks[missing] = np.datetime64("NaT")
        if info.pyobject == "date":
            return pd.Series(ticks.astype(object), dtype=object)
        values = pd.Series(ticks)
        if info.tz:
            values = values.dt.tz_localize("UTC").dt.tz_convert(info.tz)
        if info.pyobject == "datetime":
            return values.astype(object)
        return values.astype(spec.dtype)

    @staticmethod
    def _inverse_categorical(spec: ColumnSpec, info: _Categorical, codes: np.ndarray, x_cat: np.ndarray,
                             positions: np.ndarray, pos: int) -> pd.Series:
        codes = np.asarray(codes)
        values = np.empty(len(codes), dtype=object)
        n_known = len(info.categories)
        known = codes < n_known
        lookup = np.empty(n_known, dtype=object)
        lookup[:] = list(info.categories)
        values[known] = lookup[codes[known]]
        missing = codes >= n_known + bool(info.rare)
        values[missing] = np.nan
        pooled = ~known & ~missing
        if pooled.any():
            # Draw each pooled row's level from the tail's empirical distribution,
            # with a uniform that depends on the row's stream position and codes.
            h = _row_hashes(positions, salt=pos * 0x2545F4914F6CDD1D + 1)
            for j in range(x_cat.shape[1]):
                h = _mix64(h ^ x_cat[:, j].astype(np.uint64))
            u = (h[pooled] >> np.uint64(11)).astype(np.float64) * 2.0**-53
            cdf = np.cumsum(info.rare_weights)
            picks = np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(info.rare) - 1)
            rare = np.empty(len(info.rare), dtype=object)
            rare[:] = list(info.rare)
            values[pooled] = rare[picks]
        return TableTransformer.categorical_values(spec, info, values)

    @staticmethod
    def categorical_values(spec: ColumnSpec, info: _Categorical, values: np.ndarray) -> pd.Series:
        """Category values (an object array, NaN where missing) -> the column's dtype."""
        series = pd.Series(values, dtype=object)
        if info.dtype_categories is not None:
            return series.astype(pd.CategoricalDtype(info.dtype_categories, ordered=info.ordered))
        return series.astype(spec.dtype)

    @staticmethod
    def _new_ids(spec: ColumnSpec, info: _Id, positions: np.ndarray) -> pd.Series:
        if info.kind in ("int", "pattern"):
            numbers = positions.astype(object) + info.start
            if info.kind == "int":
                return pd.Series(numbers.astype(np.int64)).astype(spec.dtype)
            return pd.Series([f"{info.prefix}{k:0{info.width}d}" for k in numbers], dtype=object).astype(spec.dtype)
        template = info.template or ["0123456789abcdefghijklmnopqrstuvwxyz"] * max(info.width, 8)
        return pd.Series(_keys_from_template(template, positions, info.start), dtype=object).astype(spec.dtype)

    # -- draws (imputation) ------------------------------------------------------
    def missing_codes(self) -> list[int | None]:
        """Per model categorical column, the code that means "missing" (None when it has none)."""
        codes: list[int | None] = [None] * len(self.cat_sizes_)
        for j, pos in enumerate(self.cat_positions_):
            info = self.cat_info_[pos]
            if info.has_missing:
                codes[j] = len(info.categories) + bool(info.rare)
        for pos in self.num_positions_:
            flag = self.num_info_[pos].missing_code_col
            if flag is not None:
                codes[flag] = 1
        return codes

    def average_draws(self, x_num: np.ndarray) -> np.ndarray:
        """(draws, rows, numerical columns) normals -> per row, the normal of the draws' mean value."""
        out = np.zeros(x_num.shape[1:], np.float64)
        for j, pos in enumerate(self.num_positions_):
            info = self.num_info_[pos]
            values = np.clip(info.normalizer.inverse_transform(x_num[:, :, j]), info.low, info.high)
            out[:, j] = info.normalizer.transform(values.mean(0))
        return out

    # -- plain state ---------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "max_categories": self.max_categories,
            "columns_index": {"multi": self.columns_index_["multi"], "names": list(self.columns_index_["names"])},
            "specs": [s.to_dict() for s in self.specs_],
            "num": {
                pos: {
                    "normalizer": i.normalizer.to_state(), "low": i.low, "high": i.high,
                    "decimals": i.decimals, "missing_code_col": i.missing_code_col,
                    "tz": i.tz, "unit_ns": i.unit_ns, "origin": i.origin, "span": i.span,
                    "tick": i.tick, "pyobject": i.pyobject,
                }
                for pos, i in self.num_info_.items()
            },
            "cat": {
                pos: {"categories": _encode_values(i.categories), "has_missing": i.has_missing,
                      "dtype_categories": None if i.dtype_categories is None else _encode_values(i.dtype_categories),
                      "ordered": i.ordered, "rare": None if i.rare is None else _encode_values(i.rare),
                      "rare_weights": i.rare_weights, "mode": i.mode}
                for pos, i in self.cat_info_.items()
            },
            "id": {pos: {"prefix": i.prefix, "width": i.width, "start": i.start, "kind": i.kind,
                         "template": i.template} for pos, i in self.id_info_.items()},
            "cat_sizes": list(self.cat_sizes_),
        }

    @classmethod
    def from_state(cls, s: dict) -> "TableTransformer":
        obj = cls(max_categories=s.get("max_categories", MAX_CATEGORIES))
        obj.specs_ = [ColumnSpec(**d) for d in s["specs"]]
        obj.columns_index_ = dict(s.get("columns_index", {"multi": False, "names": [None]}))
        obj.num_info_ = {}
        for pos, d in s["num"].items():
            d = dict(d)
            normalizer = QuantileNormalizer.from_state(d.pop("normalizer"))
            obj.num_info_[int(pos)] = _Numeric(normalizer, **d)
        obj.cat_info_ = {}
        for pos, d in s["cat"].items():
            d = dict(d)
            d["categories"] = list(_decode_values(d["categories"]))
            if d.get("dtype_categories") is not None:
                d["dtype_categories"] = _decode_values(d["dtype_categories"])
            if d.get("rare") is not None:
                d["rare"] = list(_decode_values(d["rare"]))
            obj.cat_info_[int(pos)] = _Categorical(**d)
        obj.id_info_ = {int(pos): _Id(**d) for pos, d in s["id"].items()}
        obj.num_positions_ = list(obj.num_info_)
        obj.cat_positions_ = list(obj.cat_info_)
        obj.cat_sizes_ = list(s["cat_sizes"])
        return obj


def _hex_or_all(cls: str, chars: set) -> str:
    """A letter class narrowed to hex digits when the column's letters of that case are all a-f."""
    if cls[0] in "aA" and chars & set(cls) <= set(cls[:6]):
        return cls[:6]
    return cls


def _keys_from_template(template: list, positions: np.ndarray, salt: int) -> list:
    """Keys for the stream ``positions``, one character from each position's alphabet.

    The position number goes through a bijective hash and is written in the
    mixed radix of the alphabets (last position first), so keys look random and,
    once the alphabets hold 2**64 combinations, never repeat.
    """
    base = _row_hashes(positions, salt)
    n = len(positions)
    h, stream, capacity = base.copy(), 0, 1
    digits = [None] * len(template)
    for i in range(len(template) - 1, -1, -1):
        alphabet = np.array(list(template[i]))
        a = len(alphabet)
        if a == 1:
            digits[i] = np.full(n, template[i])
            continue
        digits[i] = alphabet[(h % np.uint64(a)).astype(np.int64)]
        h //= np.uint64(a)
        capacity *= a
        if capacity >= 2**64:  # this hash is spent: continue with a fresh one
            stream += 1
            h, capacity = _mix64(base ^ np.uint64(stream * 0x9E3779B97F4A7C15 % 2**64)), 1
    return ["".join(row) for row in zip(*digits)] if digits else [""] * n

