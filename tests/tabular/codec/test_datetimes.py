"""DatetimeCodec: counts of the coarsest unit, storage units, timezones, Python date objects, state."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import infer_schema
from tabsyn.tabular.codec import DatetimeCodec
from tabsyn.tabular.codec.datetimes import column_ticks, coarsest_unit, from_counts, to_counts, value_ticks


def fitted(col: pd.Series) -> DatetimeCodec:
    (spec,) = infer_schema(col.rename("x").to_frame())
    assert spec.kind == "datetime"
    return DatetimeCodec(spec).fit(col.rename("x"))


def round_trip(col: pd.Series) -> pd.Series:
    codec = fitted(col)
    return codec.decode(*codec.encode(col))


# -- the count encoding ------------------------------------------------------------

def test_counts_are_of_the_coarsest_unit_dividing_every_value():
    read = column_ticks(pd.Series(pd.date_range("2021-03-01 08:00", periods=5, freq="h", tz="Europe/Berlin")))
    assert (read.tick, read.tz, read.pyobject) == ("ns", "Europe/Berlin", None)
    unit = coarsest_unit(read.ticks, read.missing, read.tick)
    assert unit == 3_600 * 10**9
    counts = to_counts(read.ticks, read.tick, unit)
    assert np.diff(counts).tolist() == [1, 1, 1, 1]
    np.testing.assert_array_equal(from_counts(counts, "ns", unit).view(np.int64), read.ticks)


def test_known_values_and_the_column_give_the_same_counts():
    col = pd.Series(pd.date_range("2021-03-27", periods=48, freq="h", tz="Europe/Berlin"))
    codec = fitted(col)
    naive_local = [t.tz_localize(None) for t in col]  # naive values are read in the column's timezone
    ticks, unit = value_ticks(pd.Series(naive_local, dtype=object), codec.tick_, codec.tz_)
    np.testing.assert_array_equal(to_counts(ticks, unit, codec.unit_ns_), codec.to_numbers(col)[0])


def test_a_date_column_counts_days():
    dates = [dt.date(2021, 1, 1) + dt.timedelta(days=3 * i) for i in range(20)]
    codec = fitted(pd.Series(dates, dtype=object))
    assert (codec.tick_, codec.unit_ns_, codec.pyobject_) == ("D", 86_400 * 10**9, "date")
    assert codec.span_ == 57


# -- decode --------------------------------------------------------------------------

def test_nanosecond_timestamps_never_leave_the_seen_range():
    column = pd.Series(pd.to_datetime(np.arange(30) * 1_000_000_007 + 1_600_000_000_000_000_001))
    codec = fitted(column)
    assert round_trip(column).dtype == column.dtype
    out = codec.decode(np.array([-40.0, 40.0, 0.0]), np.zeros(3, bool))
    assert out.dtype == column.dtype
    assert out.min() == column.min() and out.max() == column.max()  # clipped exactly, no wrap-around


def test_datetimes_keep_their_unit_even_outside_the_nanosecond_range():
    column = pd.Series(np.array(["2999-12-31", "1066-10-14", "2020-02-29", "1999-01-01"] * 5, dtype="datetime64[s]"))
    back = round_trip(column)
    assert back.dtype == column.dtype == np.dtype("datetime64[s]")
    pd.testing.assert_series_equal(back, column.rename("x"), check_names=False)


def test_date_and_datetime_objects_come_back_as_python_objects():
    dates = [dt.date(2021, 1, 1) + dt.timedelta(days=3 * i) for i in range(20)] + [None]
    stamps = [pd.Timestamp("2021-06-01 08:00", tz="Europe/Paris") + pd.Timedelta(hours=i) for i in range(21)]
    back_d, back_t = round_trip(pd.Series(dates, dtype=object)), round_trip(pd.Series(stamps, dtype=object))
    assert back_d.dtype == back_t.dtype == object
    assert back_d.tolist()[:20] == dates[:20] and back_d.isna().tolist() == [False] * 20 + [True]
    assert all(type(v) is dt.date for v in back_d.dropna())
    assert back_t.tolist() == stamps


# -- known values ----------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Could not infer format")  # a string and a Timestamp in one list
def test_known_dates_outside_the_nanosecond_range_are_read_in_the_columns_unit():
    column = pd.Series(np.array(["2999-12-31", "1066-10-14", "2020-02-29", "1999-01-01"] * 5, dtype="datetime64[s]"))
    codec = fitted(column)
    got = codec.encode_known(pd.Series(["1500-06-01", column[0], None], dtype=object), np.array([True, True, False]))
    assert got.problem is None
    assert got.values[:2].tolist() == [pd.Timestamp("1500-06-01"), column[0]]
    np.testing.assert_array_equal(got.z[1], codec.encode(column)[0][0])


def test_a_known_local_time_that_does_not_exist_is_no_date():
    codec = fitted(pd.Series(pd.date_range("2021-03-27", periods=48, freq="h", tz="Europe/Berlin")))
    got = codec.encode_known(pd.Series(["2021-03-28 02:30"]), np.array([True]))  # the clocks skip this hour
    assert got.problem == ("column 'x': '2021-03-28 02:30' (not a date) outside what training saw; accepted: "
                           "values from Timestamp('2021-03-27 00:00:00+0100', tz='Europe/Berlin') to "
                           "Timestamp('2021-03-29 00:00:00+0200', tz='Europe/Berlin')")


# -- state -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "column",
    [
        pd.Series(pd.date_range("2021-03-01 08:00", periods=30, freq="h", tz="Europe/Berlin")).mask(
            lambda s: s.index % 5 == 0),
        pd.Series([dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(30)], dtype=object),
        pd.Series(np.array(["2999-12-31", "1066-10-14"] * 10, dtype="datetime64[s]")),
    ],
    ids=["tz-with-missing", "dates", "seconds"],
)
def test_state_round_trip_is_exact(column):
    codec = fitted(column)
    again = DatetimeCodec.from_state(codec.to_state())
    state, state2 = codec.to_state(), again.to_state()
    assert state.keys() == state2.keys()
    assert all(state[k] == state2[k] for k in state if k != "normalizer")
    z, missing = codec.encode(column)
    np.testing.assert_array_equal(again.encode(column)[0], z)
    pd.testing.assert_series_equal(again.decode(z, missing), codec.decode(z, missing))
