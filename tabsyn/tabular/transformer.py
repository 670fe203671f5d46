"""DataFrame <-> model arrays: quantile-normal numbers, category codes, and back.

``TableTransformer.fit_transform(df)`` gives two arrays the VAE reads:

- ``x_num`` (rows x numerical columns, float32): each numerical or datetime
  column through a :class:`QuantileNormalizer` to a standard normal;
- ``x_cat`` (rows x categorical columns, int64): a code per category, with
  missing values as one more category. A numerical column with missing values
  adds a two-level "is missing" column here, so missingness is learned jointly
  with everything else and regenerated at its real rate.

``inverse_transform(x_num, x_cat)`` rebuilds a DataFrame with the original
column names, order and dtypes: integers rounded, numbers clipped to the seen
range and rounded to the decimals seen, only categories seen in training,
datetimes in their timezone, ID columns as new keys in the same format.

Everything stored is plain data (``to_state`` / ``from_state``). This module
never imports torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from tabsyn.tabular.schema import CATEGORICAL, DATETIME, ID, NUMERICAL, ColumnSpec

_EPS = 1e-7  # keep ppf away from +-inf


class QuantileNormalizer:
    """Map values to a standard normal through their empirical quantiles (and back).

    Ties (e.g. a mass of exact zeros) map to one normal value, which maps back
    to exactly that number.
    """

    def __init__(self, n_quantiles: int = 1000):
        self.n_quantiles = n_quantiles

    def fit(self, x: np.ndarray) -> "QuantileNormalizer":
        x = np.asarray(x, dtype=np.float64)
        n_q = int(min(self.n_quantiles, len(x)))
        self.references_ = np.linspace(0.0, 1.0, n_q)
        self.quantiles_ = np.maximum.accumulate(np.quantile(x, self.references_))
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        q, r = self.quantiles_, self.references_
        # Interpolate from both ends and average, so runs of equal quantiles
        # map to the middle of their reference interval.
        u = 0.5 * (np.interp(x, q, r) - np.interp(-x, -q[::-1], -r[::-1]))
        return ndtri(np.clip(u, _EPS, 1.0 - _EPS))

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        return np.interp(ndtr(np.asarray(z, dtype=np.float64)), self.references_, self.quantiles_)

    def to_state(self) -> dict:
        return {"n_quantiles": self.n_quantiles, "references": self.references_, "quantiles": self.quantiles_}

    @classmethod
    def from_state(cls, s: dict) -> "QuantileNormalizer":
        obj = cls(s["n_quantiles"])
        obj.references_, obj.quantiles_ = np.asarray(s["references"]), np.asarray(s["quantiles"])
        return obj


def _decimals(values: np.ndarray, max_decimals: int = 8) -> int | None:
    """The fewest decimals that write every value exactly, or None if more than max_decimals."""
    sample = values[: 5000]
    for d in range(max_decimals + 1):
        scaled = sample * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d
    return None


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


@dataclass
class _Categorical:
    categories: list           # seen categories, in code order (missing is code len(categories))
    has_missing: bool
    dtype_categories: list | None = None  # a category dtype's full category list (seen or not)
    ordered: bool = False


@dataclass
class _Id:
    prefix: str | None         # "CUST-" for "CUST-00042"; None for integer keys / free strings
    width: int                 # zero-padded digit width, or string length
    start: int                 # first new key number (past every training key)
    kind: str                  # "int", "pattern" or "random"


# Day, hour, minute, second, millisecond, microsecond, nanosecond.
_TIME_UNITS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)

_ID_PATTERN = re.compile(r"^(.*?)(\d+)$")


class TableTransformer:
    """Fitted preprocessing for one table; see the module docstring."""

    def fit_transform(self, df: pd.DataFrame, specs: list[ColumnSpec]) -> tuple[np.ndarray, np.ndarray]:
        self.specs_ = list(specs)
        self.num_info_: dict[int, _Numeric] = {}
        self.cat_info_: dict[int, _Categorical] = {}
        self.id_info_: dict[int, _Id] = {}
        num_cols, cat_cols, cat_sizes = [], [], []
        flags = []  # (position, missing flag) for numerical columns with missing values
        for pos, spec in enumerate(self.specs_):
            col = df.iloc[:, pos]
            if spec.kind in (NUMERICAL, DATETIME):
                values, info = self._fit_numeric(col, spec)
                self.num_info_[pos] = info
                num_cols.append(values)
                if spec.n_missing:
                    flags.append((pos, col.isna().to_numpy()))
            elif spec.kind == CATEGORICAL:
                codes, info = self._fit_categorical(col)
                self.cat_info_[pos] = info
                cat_cols.append(codes)
                cat_sizes.append(len(info.categories) + int(info.has_missing))
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
    def _as_float(col: pd.Series, spec: ColumnSpec) -> tuple[np.ndarray, str | None, int]:
        """Numbers as float64 (NaN for missing); datetimes as counts of their coarsest unit since the epoch."""
        if spec.kind == DATETIME:
            tz = str(col.dt.tz) if col.dt.tz is not None else None
            naive = col.dt.tz_convert("UTC").dt.tz_localize(None) if tz else col
            missing = naive.isna().to_numpy()
            ns = naive.astype("datetime64[ns]").to_numpy(dtype="datetime64[ns]").astype(np.int64)
            unit = next(u for u in _TIME_UNITS_NS if np.all(ns[~missing] % u == 0))
            counts = (ns // unit).astype(np.float64)  # exact in float64 for any unit >= 1 us
            counts[missing] = np.nan
            return counts, tz, unit
        return col.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan), None, 1

    def _fit_numeric(self, col: pd.Series, spec: ColumnSpec) -> tuple[np.ndarray, _Numeric]:
        x, tz, unit_ns = self._as_float(col, spec)
        present = x[~np.isnan(x)]
        normalizer = QuantileNormalizer().fit(present)
        if spec.kind == DATETIME or pd.api.types.is_integer_dtype(col.dtype):
            decimals = 0
        else:
            decimals = _decimals(present)
        info = _Numeric(normalizer, float(present.min()), float(present.max()), decimals, None, tz, unit_ns)
        z = np.zeros_like(x)  # missing cells sit at the median; their flag carries the fact
        z[~np.isnan(x)] = normalizer.transform(present)
        return z, info

    @staticmethod
    def _fit_categorical(col: pd.Series) -> tuple[np.ndarray, _Categorical]:
        present = col.dropna()
        plain = lambda values: [c.item() if isinstance(c, np.generic) else c for c in values]  # noqa: E731
        dtype_categories, ordered = None, False
        if isinstance(col.dtype, pd.CategoricalDtype):
            seen = set(present.unique())
            dtype_categories, ordered = plain(col.cat.categories), bool(col.cat.ordered)
            categories = [c for c in dtype_categories if c in seen]
        else:
            categories = plain(sorted(present.unique().tolist(), key=lambda v: (str(type(v)), v)))
        lookup = {c: i for i, c in enumerate(categories)}
        missing = col.isna().to_numpy()
        codes = np.full(len(col), len(categories), dtype=np.int64)
        codes[~missing] = [lookup[v] for v in col[~missing]]
        return codes, _Categorical(categories, bool(missing.any()), dtype_categories, ordered)

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
        return _Id(None, int(np.median(strings.str.len())), 0, "random")

    # -- inverse -------------------------------------------------------------
    def inverse_transform(
        self, x_num: np.ndarray, x_cat: np.ndarray, *, id_offset: int = 0, rng: np.random.Generator | None = None
    ) -> pd.DataFrame:
        """Rebuild a DataFrame; ``id_offset`` numbers new keys after earlier batches."""
        n = len(x_num) if x_num.size or not x_cat.size else len(x_cat)
        columns = {}
        for j, pos in enumerate(self.num_positions_):
            columns[pos] = self._inverse_numeric(self.specs_[pos], self.num_info_[pos], x_num[:, j], x_cat)
        for j, pos in enumerate(self.cat_positions_):
            columns[pos] = self._inverse_categorical(self.specs_[pos], self.cat_info_[pos], x_cat[:, j])
        for pos, info in self.id_info_.items():
            columns[pos] = self._new_ids(self.specs_[pos], info, n, id_offset, rng)
        out = pd.DataFrame({i: columns[i] for i in range(len(self.specs_))})
        out.columns = pd.Index([s.name for s in self.specs_], tupleize_cols=False)
        return out

    @staticmethod
    def _inverse_numeric(spec: ColumnSpec, info: _Numeric, z: np.ndarray, x_cat: np.ndarray) -> pd.Series:
        x = np.clip(info.normalizer.inverse_transform(z), info.low, info.high)
        if info.decimals is not None:
            x = np.round(x, info.decimals)
        missing = x_cat[:, info.missing_code_col] == 1 if info.missing_code_col is not None else np.zeros(len(x), bool)
        if spec.kind == DATETIME:
            stamps = (x.astype(np.int64) * info.unit_ns).astype("datetime64[ns]")
            stamps[missing] = np.datetime64("NaT")
            values = pd.Series(stamps)
            if info.tz:
                values = values.dt.tz_localize("UTC").dt.tz_convert(info.tz)
            return values.astype(spec.dtype)
        values = pd.Series(x)
        if missing.any():
            values[missing] = np.nan
        return values.astype(spec.dtype)

    @staticmethod
    def _inverse_categorical(spec: ColumnSpec, info: _Categorical, codes: np.ndarray) -> pd.Series:
        codes = np.asarray(codes)
        values = np.empty(len(codes), dtype=object)
        known = codes < len(info.categories)
        lookup = np.empty(len(info.categories), dtype=object)
        lookup[:] = info.categories
        values[known] = lookup[codes[known]]
        values[~known] = np.nan
        series = pd.Series(values, dtype=object)
        dtype = spec.dtype
        if info.dtype_categories is not None:
            return series.astype(pd.CategoricalDtype(info.dtype_categories, ordered=info.ordered))
        if not known.all() and dtype in ("bool",) + tuple(f"int{b}" for b in (8, 16, 32, 64)):
            return series  # cannot happen: such dtypes hold no missing values in training
        return series.astype(dtype)

    @staticmethod
    def _new_ids(spec: ColumnSpec, info: _Id, n: int, offset: int, rng: np.random.Generator | None) -> pd.Series:
        numbers = np.arange(info.start + offset, info.start + offset + n)
        if info.kind == "int":
            return pd.Series(numbers).astype(spec.dtype)
        if info.kind == "pattern":
            return pd.Series([f"{info.prefix}{k:0{info.width}d}" for k in numbers], dtype=object).astype(spec.dtype)
        rng = rng if rng is not None else np.random.default_rng()
        alphabet = np.array(list("0123456789abcdefghijklmnopqrstuvwxyz"))
        draws = rng.integers(0, len(alphabet), size=(n, max(info.width, 8)))
        return pd.Series(["".join(row) for row in alphabet[draws]], dtype=object).astype(spec.dtype)

    # -- plain state ---------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "specs": [s.to_dict() for s in self.specs_],
            "num": {
                pos: {
                    "normalizer": i.normalizer.to_state(), "low": i.low, "high": i.high,
                    "decimals": i.decimals, "missing_code_col": i.missing_code_col,
                    "tz": i.tz, "unit_ns": i.unit_ns,
                }
                for pos, i in self.num_info_.items()
            },
            "cat": {
                pos: {"categories": list(i.categories), "has_missing": i.has_missing,
                      "dtype_categories": i.dtype_categories, "ordered": i.ordered}
                for pos, i in self.cat_info_.items()
            },
            "id": {pos: {"prefix": i.prefix, "width": i.width, "start": i.start, "kind": i.kind} for pos, i in self.id_info_.items()},
            "cat_sizes": list(self.cat_sizes_),
        }

    @classmethod
    def from_state(cls, s: dict) -> "TableTransformer":
        obj = cls()
        obj.specs_ = [ColumnSpec(**d) for d in s["specs"]]
        obj.num_info_ = {
            int(pos): _Numeric(QuantileNormalizer.from_state(d["normalizer"]), d["low"], d["high"],
                               d["decimals"], d["missing_code_col"], d["tz"], d["unit_ns"])
            for pos, d in s["num"].items()
        }
        obj.cat_info_ = {int(pos): _Categorical(**d) for pos, d in s["cat"].items()}
        obj.id_info_ = {int(pos): _Id(**d) for pos, d in s["id"].items()}
        obj.num_positions_ = list(obj.num_info_)
        obj.cat_positions_ = list(obj.cat_info_)
        obj.cat_sizes_ = list(s["cat_sizes"])
        return obj
