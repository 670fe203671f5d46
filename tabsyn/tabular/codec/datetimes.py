"""One datetime column <-> standard normals: :class:`DatetimeCodec`.

A datetime is modelled as an integer count of the column's coarsest time unit
(a day, an hour, ..., a nanosecond: the largest dividing every seen value)
since the epoch, in UTC; from there on it is an integer column of
:class:`~tabsyn.tabular.codec.numeric.NumericCodec` (exact offsets from the
minimum). Decode gives the column back in its storage unit (nanoseconds, or
seconds for dates outside the nanosecond range) and timezone, and columns of
Python ``date`` / ``datetime`` objects as such objects.

The one count encoding (:func:`to_counts` / :func:`from_counts`) serves the
training column and the known values a user gives alike. This module never
imports torch.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

import numpy as np
import pandas as pd

from tabsyn.table.schema import DATETIME
from tabsyn.tabular.codec.numeric import NumericCodec

# Storage units of datetime64 columns, and the units a column may count in:
# day, hour, minute, second, millisecond, microsecond, nanosecond. Each divides the one before.
TICK_NS = {"D": 86_400 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
TIME_UNITS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)


class ColumnTicks(NamedTuple):
    """A datetime column as int64 ticks of its storage unit since the epoch (UTC)."""

    ticks: np.ndarray       # int64 (NaT where missing)
    missing: np.ndarray     # bool
    tick: str               # the storage unit: "ns", "us", "ms", "s", or "D" for dates
    tz: str | None          # the column's timezone
    pyobject: str | None    # "date" / "datetime" for object columns of Python values


def column_ticks(col: pd.Series) -> ColumnTicks:
    """Read a datetime column (datetime64, tz-aware, or Python ``date`` / ``datetime`` objects)."""
    tz = pyobject = None
    present = col.dropna()
    if col.dtype == object and all(type(v) is datetime.date for v in present):
        pyobject, tick = "date", "D"
        ticks = np.array(col.where(col.notna(), None).tolist(), dtype="datetime64[D]")
    else:
        if col.dtype == object:
            pyobject = "datetime"
            col = pd.to_datetime(col)
        if col.dt.tz is not None:
            tz = str(col.dt.tz)
            col = col.dt.tz_convert("UTC").dt.tz_localize(None)
        ticks = col.to_numpy()
        tick = np.datetime_data(ticks.dtype)[0]
    return ColumnTicks(ticks.view(np.int64), np.isnat(ticks), tick, tz, pyobject)


def value_ticks(values: pd.Series, tick: str, tz: str | None) -> tuple[np.ndarray, str]:
    """Datetimes a user gives (strings, Timestamps, dates; none missing) -> int64 ticks and their unit.

    Naive values for a timezone-aware column are read in the column's
    timezone; dates outside the nanosecond range (years before 1677 or after
    2262) are read one by one, in the column's unit. Raises ValueError /
    TypeError when a value is not a date.
    """
    unit = tick if tick != "D" else "s"  # pandas has no day unit
    try:
        try:
            stamps = pd.to_datetime(pd.Series(list(values), dtype=object))
        except pd.errors.OutOfBoundsDatetime:
            ticks = [_utc(pd.Timestamp(v), tz).as_unit(unit).asm8.view(np.int64) for v in values]
            return np.array(ticks, dtype=np.int64), unit
        if tz is not None:
            stamps = (stamps.dt.tz_localize(tz) if stamps.dt.tz is None else stamps).dt.tz_convert("UTC")
            stamps = stamps.dt.tz_localize(None)
        elif stamps.dt.tz is not None:
            raise ValueError("a timezone-aware datetime for a naive column")
    except (ValueError, TypeError, OverflowError):
        raise
    except Exception as err:  # pytz's InvalidTimeError: a local time in a DST gap or overlap
        raise ValueError(f"{err} is no single time in {tz}") from err
    return stamps.dt.as_unit(unit).to_numpy().view(np.int64), unit


def _utc(stamp: pd.Timestamp, tz: str | None) -> pd.Timestamp:
    """One value as :func:`value_ticks` reads a whole series: naive UTC."""
    if tz is not None:
        return (stamp.tz_localize(tz) if stamp.tz is None else stamp).tz_convert("UTC").tz_localize(None)
    if stamp.tz is not None:
        raise ValueError("a timezone-aware datetime for a naive column")
    return stamp


def coarsest_unit(ticks: np.ndarray, missing: np.ndarray, tick: str) -> int:
    """The largest of :data:`TIME_UNITS_NS` dividing every present tick (in nanoseconds)."""
    tick_ns = TICK_NS[tick]
    return next(u for u in TIME_UNITS_NS if u % tick_ns == 0 and np.all(ticks[~missing] % (u // tick_ns) == 0))


def to_counts(ticks: np.ndarray, tick: str, unit_ns: int) -> np.ndarray:
    """Ticks of ``tick`` -> counts of ``unit_ns`` nanoseconds (floored)."""
    tick_ns = TICK_NS[tick]
    return ticks // (unit_ns // tick_ns) if unit_ns >= tick_ns else ticks * (tick_ns // unit_ns)


def from_counts(counts: np.ndarray, tick: str, unit_ns: int) -> np.ndarray:
    """Inverse of :func:`to_counts`, as ``datetime64[tick]`` (``unit_ns`` a multiple of the tick)."""
    return (counts * (unit_ns // TICK_NS[tick])).view(f"datetime64[{tick}]")


class DatetimeCodec(NumericCodec):
    """One datetime column <-> standard normals; see the module docstring.

    Attributes
    ----------
    tick_ : str
        The storage unit decode writes ("ns", "us", "ms", "s", or "D" for dates).
    unit_ns_ : int
        The unit counted, in nanoseconds (a day, a second, ...).
    tz_ : str or None
        The column's timezone.
    pyobject_ : str or None
        "date" / "datetime" for object columns of Python values.

    The rest (normalizer, seen range as count offsets, missing values) as in
    :class:`~tabsyn.tabular.codec.numeric.NumericCodec`.
    """

    kind = DATETIME
    value_noun = "a date"
    state_fields = NumericCodec.state_fields + ("tick_", "unit_ns_", "tz_", "pyobject_")

    def fit_numbers(self, col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        read = column_ticks(col)
        self.tick_, self.tz_, self.pyobject_ = read.tick, read.tz, read.pyobject
        self.unit_ns_ = coarsest_unit(read.ticks, read.missing, read.tick)
        return to_counts(read.ticks, read.tick, self.unit_ns_), read.missing

    def to_numbers(self, col: pd.Series, *, exact: bool = True) -> tuple[np.ndarray, np.ndarray]:
        read = column_ticks(col)
        return to_counts(read.ticks, read.tick, self.unit_ns_), read.missing

    def from_numbers(self, counts: np.ndarray, missing: np.ndarray) -> pd.Series:
        ticks = from_counts(counts, self.tick_, self.unit_ns_)
        ticks[missing] = np.datetime64("NaT")
        if self.pyobject_ == "date":
            return pd.Series(ticks.astype(object), dtype=object)
        values = pd.Series(ticks)
        if self.tz_:
            values = values.dt.tz_localize("UTC").dt.tz_convert(self.tz_)
        if self.pyobject_ == "datetime":
            return values.astype(object)
        return values.astype(self.spec.dtype)

    def parse_known(self, values: pd.Series) -> np.ndarray:
        ticks, unit = value_ticks(values, self.tick_, self.tz_)
        return to_counts(ticks, unit, self.unit_ns_)
