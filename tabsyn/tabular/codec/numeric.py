"""One numerical column <-> standard normals: :class:`NumericCodec` and its :class:`QuantileNormalizer`.

The column's values become model-space numbers first, then normals through
their empirical quantiles:

- integer columns are modelled as exact integer offsets from their minimum, so
  int64 / uint64 extremes come back inside the seen range, never wrapped around
  or rounded past it;
- float columns keep their values; numbers up to +-1.8e308 and down to
  subnormals go through the quantile map without overflow, and decode rounds
  only to decimals that write every seen value exactly (relative to the
  column's float precision), so 1e-9 stays 1e-9;
- a missing value sits at the median (normal 0); whether it was missing is a
  two-level "is missing" column that the table codec adds to the codes.

:class:`~tabsyn.tabular.codec.datetimes.DatetimeCodec` is this codec over
counts of a time unit. This module never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from tabsyn.table.quantiles import quantile_grid, quantile_position
from tabsyn.table.schema import NUMERICAL, ColumnSpec
from tabsyn.tabular.codec.values import is_missing, problem, show, unique

_EPS = 1e-7  # keep ppf away from +-inf


class QuantileNormalizer:
    """Map values to a standard normal through their empirical quantiles (and back).

    Ties (e.g. a mass of exact zeros) map to one normal value, which maps back
    to exactly that number. Values beyond 2**1000 in magnitude are handled in
    units of a power of two, so neighbouring quantiles never overflow when
    subtracted.

    Parameters
    ----------
    n_quantiles : int, default=1000
        Quantiles kept (fewer when there are fewer values).
    """

    def __init__(self, n_quantiles: int = 1000):
        self.n_quantiles = n_quantiles

    def fit(self, x: np.ndarray) -> "QuantileNormalizer":
        x = np.asarray(x, dtype=np.float64)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        self.scale_ = float(np.ldexp(1.0, int(np.frexp(peak)[1]) - 1)) if peak > 2.0**1000 else 1.0
        self.references_, self.quantiles_ = quantile_grid(x / self.scale_, self.n_quantiles)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        u = quantile_position(np.asarray(x, dtype=np.float64) / self.scale_, self.quantiles_, self.references_)
        return ndtri(np.clip(u, _EPS, 1.0 - _EPS))

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        u = ndtr(np.asarray(z, dtype=np.float64))
        return np.interp(u, self.references_, self.quantiles_) * self.scale_

    def to_state(self) -> dict:
        return {"n_quantiles": self.n_quantiles, "references": self.references_,
                "quantiles": self.quantiles_, "scale": self.scale_}

    @classmethod
    def from_state(cls, state: dict) -> "QuantileNormalizer":
        obj = cls(state["n_quantiles"])
        obj.references_, obj.quantiles_ = np.asarray(state["references"]), np.asarray(state["quantiles"])
        obj.scale_ = float(state["scale"])
        return obj


# -- exact integers and decimals ---------------------------------------------------

def numpy_dtype(dtype) -> np.dtype:
    """The NumPy dtype under a pandas nullable or sparse dtype."""
    for attr in ("numpy_dtype", "subtype"):
        inner = getattr(dtype, attr, None)
        if isinstance(inner, np.dtype):
            return inner
    return np.dtype(dtype) if isinstance(dtype, np.dtype) else np.dtype(np.float64)


def is_unsigned(dtype: str) -> bool:
    return numpy_dtype(pd.api.types.pandas_dtype(dtype)).kind == "u"


def fewest_decimals(values: np.ndarray, rtol: float, max_decimals: int = 8) -> int | None:
    """The fewest decimals that write every value exactly (to ``rtol``), or None if more than max_decimals."""
    sample = np.unique(values)
    if len(sample) > 5000:
        sample = sample[np.linspace(0, len(sample) - 1, 5000).astype(np.int64)]
    with np.errstate(over="ignore", invalid="ignore"):
        for d in range(max_decimals + 1):
            if np.all(np.abs(np.round(sample, d) - sample) <= rtol * np.abs(sample)):
                return d
    return None


def offsets(values: np.ndarray, origin: int) -> np.ndarray:
    """``values - origin`` as float64, exact below 2**53 whatever the integers' magnitude."""
    with np.errstate(over="ignore"):
        return (values.astype(np.uint64) - np.uint64(origin % 2**64)).astype(np.float64)


def from_offsets(x: np.ndarray, origin: int, span: int, unsigned: bool) -> np.ndarray:
    """Inverse of :func:`offsets`: round, keep within ``[0, span]``, add ``origin`` back without overflow."""
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


class KnownNumbers(NamedTuple):
    """Known cells of one numerical column (see :meth:`NumericCodec.encode_known`)."""

    z: np.ndarray               # (rows,) normals; 0 (the median) where unknown or missing
    missing: np.ndarray         # (rows,) known cells given as missing
    values: pd.Series | None    # the known values as the generated column holds them (None on a problem)
    problem: str | None         # what is wrong with the given values, if anything


class NumericCodec:
    """One numerical column <-> standard normals; see the module docstring.

    Parameters
    ----------
    spec : ColumnSpec
        The column (its label, kind and dtype).
    n_quantiles : int, default=1000
        Quantiles the :class:`QuantileNormalizer` keeps.

    Attributes
    ----------
    normalizer_ : QuantileNormalizer
        Model-space numbers <-> normals.
    low_, high_ : float
        The seen range, in model space; decode clips to it.
    decimals_ : int or None
        Decimals decode rounds to (0 for integers; None: no rounding).
    origin_, span_ : int or None
        Integer columns: model space is ``value - origin_``, from 0 to ``span_``.
    has_missing_ : bool
        Whether training saw missing values (the column then has an "is missing" flag).
    """

    kind = NUMERICAL
    value_noun = "a number"  # what a known value must be
    state_fields = ("low_", "high_", "decimals_", "origin_", "span_", "has_missing_")  # learned, besides the normalizer

    def __init__(self, spec: ColumnSpec, *, n_quantiles: int = 1000):
        self.spec = spec
        self.n_quantiles = n_quantiles

    # -- the column as model-space numbers (DatetimeCodec replaces these) -------------
    def fit_numbers(self, col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Learn how the column becomes numbers; its values as exact integers or floats, and missing."""
        return self.to_numbers(col, exact=pd.api.types.is_integer_dtype(col.dtype))

    def to_numbers(self, col: pd.Series, *, exact: bool) -> tuple[np.ndarray, np.ndarray]:
        """The values as int64 / uint64 (``exact``) or float64, and which are missing."""
        if exact:
            target = np.uint64 if is_unsigned(self.spec.dtype) else np.int64
            return col.to_numpy(dtype=target, na_value=0), col.isna().to_numpy()
        x = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return x, np.isnan(x)

    def from_numbers(self, numbers: np.ndarray, missing: np.ndarray) -> pd.Series:
        """Numbers (exact integers or floats) -> the column's values and dtype."""
        values = pd.Series(numbers).astype(self.spec.dtype)
        if missing.any():
            values[missing] = None
        return values

    def parse_known(self, values: pd.Series) -> np.ndarray:
        """Given values (none missing) -> exact integers or float64; ValueError / TypeError if not numbers."""
        numbers = pd.to_numeric(pd.Series(list(values), dtype=object)).to_numpy()
        return numbers if numbers.dtype.kind in "iu" else numbers.astype(np.float64)

    # -- fit, encode, decode ------------------------------------------------------
    def fit(self, col: pd.Series) -> "NumericCodec":
        numbers, missing = self.fit_numbers(col)
        if numbers.dtype.kind in "iu":  # exact integers: model offsets from the minimum
            present = numbers[~missing]
            self.origin_, self.span_ = int(present.min()), int(present.max()) - int(present.min())
            x = np.where(missing, np.nan, offsets(numbers, self.origin_))
            self.decimals_ = 0
        else:
            self.origin_ = self.span_ = None
            x = numbers
            dtype = numpy_dtype(col.dtype)
            self.decimals_ = fewest_decimals(x[~missing], rtol=16 * float(np.finfo(dtype).eps)
                                             if dtype.kind == "f" else 1e-12)
        present = x[~missing]
        self.normalizer_ = QuantileNormalizer(self.n_quantiles).fit(present)
        self.low_, self.high_ = float(present.min()), float(present.max())
        self.has_missing_ = bool(missing.any())
        return self

    def encode(self, col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """The column -> (normals, missing); missing cells sit at the median, 0.

        Integers outside the seen range are clipped into it. Raises ValueError
        for missing values in a column that had none in training.
        """
        numbers, missing = self.to_numbers(col, exact=self.origin_ is not None)
        if missing.any() and not self.has_missing_:
            raise ValueError(problem(self.spec.name, ["a missing value"], "never seen in training", self.accepted()))
        x = numbers
        if self.origin_ is not None:
            x = offsets(numbers, self.origin_)
            x[numbers < numbers.dtype.type(self.origin_)] = 0.0
            x[numbers > numbers.dtype.type(self.origin_ + self.span_)] = float(self.span_)
        z = np.zeros(len(x), np.float64)
        z[~missing] = self.normalizer_.transform(x[~missing])
        return z, missing

    def decode(self, z: np.ndarray, missing: np.ndarray) -> pd.Series:
        """Normals (and which cells are missing) -> the column, within the seen range."""
        return self.to_values(np.clip(self.normalizer_.inverse_transform(z), self.low_, self.high_), missing)

    def to_values(self, x: np.ndarray, missing: np.ndarray) -> pd.Series:
        """Model-space numbers (offsets for integers) -> the column's values and dtype."""
        if self.origin_ is not None:
            unsigned = self.kind == NUMERICAL and is_unsigned(self.spec.dtype)
            return self.from_numbers(from_offsets(x, self.origin_, self.span_, unsigned), missing)
        if self.decimals_ is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                rounded = np.round(x, self.decimals_)
            x = np.clip(np.where(np.isfinite(rounded), rounded, x), self.low_, self.high_)
        return self.from_numbers(x, missing)

    def average(self, z: np.ndarray) -> np.ndarray:
        """(draws, rows) normals -> per row, the normal of the draws' mean value."""
        values = np.clip(self.normalizer_.inverse_transform(z), self.low_, self.high_)
        return self.normalizer_.transform(values.mean(0))

    # -- known values -------------------------------------------------------------
    def encode_known(self, col: pd.Series, known: np.ndarray) -> KnownNumbers:
        """Encode the ``known`` cells of ``col``; a problem names every value outside what training saw."""
        n, known = len(col), np.asarray(known, bool)
        given = col.reset_index(drop=True)[known]
        missing = np.array([is_missing(v) for v in given], dtype=bool)
        x = np.zeros(len(given))
        present = given[~missing]
        outside, exact = np.zeros(len(given), bool), None
        try:
            numbers = self.parse_known(present)
            if self.origin_ is not None and numbers.dtype.kind in "iu":
                # Exact integer offsets: float64 would round large integers (and nanosecond counts).
                exact = [int(v) - self.origin_ for v in numbers]
                outside[~missing] = [d < 0 or d > self.span_ for d in exact]
                exact = [min(max(d, 0), self.span_) for d in exact]
                x[~missing] = [float(d) for d in exact]
            else:
                x[~missing] = numbers - float(self.origin_) if self.origin_ is not None else numbers
        except (ValueError, TypeError, OverflowError):
            bad = [f"{show(v)} (not {self.value_noun})" for v in present.iloc[:1]]
        else:
            low, high = self.model_range()
            outside |= ~missing & ((x < low) | (x > high) | np.isnan(x))
            bad = unique([show(v) for v in given[outside]])
            x = np.clip(np.nan_to_num(x), low, high)
        if missing.any() and not self.has_missing_:
            bad = ["a missing value"] + bad
        z = self.normalizer_.transform(x) if len(x) else x
        z[missing] = 0.0  # where training put missing cells
        full_z, full_missing = np.zeros(n), np.zeros(n, bool)
        full_z[known], full_missing[known] = z, missing
        if bad:
            return KnownNumbers(full_z, full_missing, None,
                                problem(self.spec.name, bad, "outside what training saw", self.accepted()))
        if exact is None:
            full_x = np.zeros(n)
            full_x[known] = x
            values = self.to_values(full_x, full_missing & self.has_missing_)
        else:  # the given integers exactly, not through float64
            full_d = np.zeros(n, dtype=object)
            full_d[np.flatnonzero(known)[~missing]] = exact
            unsigned = self.kind == NUMERICAL and is_unsigned(self.spec.dtype)
            numbers = np.array([self.origin_ + d for d in full_d], dtype=np.uint64 if unsigned else np.int64)
            values = self.from_numbers(numbers, full_missing & self.has_missing_)
        return KnownNumbers(full_z, full_missing, values, None)

    def model_range(self) -> tuple[float, float]:
        """The seen range in model space."""
        return (0.0, float(self.span_)) if self.origin_ is not None else (self.low_, self.high_)

    def accepted(self) -> str:
        """``accepted: values from 17 to 90``, as the column writes its ends."""
        ends = self.to_values(np.array(self.model_range()), np.zeros(2, bool))
        missing = " or a missing value" if self.has_missing_ else ""
        return f"accepted: values from {show(ends.iloc[0])} to {show(ends.iloc[1])}{missing}"

    # -- plain state --------------------------------------------------------------
    def to_state(self) -> dict:
        return {"spec": self.spec.to_dict(), "n_quantiles": self.n_quantiles,
                "normalizer": self.normalizer_.to_state(),
                **{name.rstrip("_"): getattr(self, name) for name in self.state_fields}}

    @classmethod
    def from_state(cls, state: dict) -> "NumericCodec":
        obj = cls(ColumnSpec(**state["spec"]), n_quantiles=state["n_quantiles"])
        obj.normalizer_ = QuantileNormalizer.from_state(state["normalizer"])
        for name in cls.state_fields:
            setattr(obj, name, state[name.rstrip("_")])
        return obj
