"""NumericCodec and its QuantileNormalizer: normals, exact integers, decimals, missing values, state."""

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import ColumnSpec, infer_schema
from tabsyn.tabular.codec import NumericCodec, QuantileNormalizer


def spec_of(col: pd.Series, name="x") -> ColumnSpec:
    return ColumnSpec(name, "numerical", str(col.dtype), int(col.isna().sum()), int(col.nunique()))


def fitted(col: pd.Series) -> NumericCodec:
    return NumericCodec(spec_of(col)).fit(col)


def round_trip(col: pd.Series) -> pd.Series:
    codec = fitted(col)
    return codec.decode(*codec.encode(col))


# -- the quantile map --------------------------------------------------------------

def test_quantile_normalizer_is_normal_and_invertible(adult):
    x = adult["fnlwgt"].to_numpy(dtype=float)
    q = QuantileNormalizer().fit(x)
    z = q.transform(x)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.02
    assert np.allclose(q.inverse_transform(z), x, rtol=1e-3)


def test_quantile_normalizer_keeps_a_mass_of_zeros_exact(adult):
    x = adult["capital-gain"].to_numpy(dtype=float)  # about 92% zeros
    q = QuantileNormalizer().fit(x)
    back = q.inverse_transform(q.transform(x))
    assert np.array_equal(back[x == 0], x[x == 0])


@pytest.mark.parametrize(
    "x",
    [
        np.array([-1.7e308, 1.7e308, 0.0, 1.0, 2.0]),
        np.array([-1e308] * 3 + [1e308] * 3),
        np.r_[np.zeros(50), 1e-9, 2e-9, 5e-324],
        np.r_[np.linspace(0, 1, 500), 1e12, -1e15],
    ],
    ids=["max-magnitudes", "two-huge-masses", "tiny-and-subnormal", "outliers"],
)
def test_quantile_normalizer_stays_finite_at_extreme_magnitudes(x):
    q = QuantileNormalizer().fit(x)
    z = q.transform(x)
    back = q.inverse_transform(np.r_[z, -40.0, 40.0])
    assert np.isfinite(z).all() and np.isfinite(back).all()
    assert back.min() >= x.min() and back.max() <= x.max()
    # Close, not exact: the extreme quantiles sit just inside the normal's clipped tails.
    np.testing.assert_allclose(back[: len(x)], x, rtol=1e-4, atol=1e-9 * np.abs(x).max())


def test_quantile_normalizer_state_round_trips(adult):
    q = QuantileNormalizer(n_quantiles=50).fit(adult["age"].to_numpy(dtype=float))
    again = QuantileNormalizer.from_state(q.to_state())
    z = np.linspace(-6, 6, 101)
    np.testing.assert_array_equal(again.inverse_transform(z), q.inverse_transform(z))
    assert len(again.quantiles_) == 50


# -- decode: the seen range, integers, decimals ---------------------------------------

def test_decode_clips_to_the_seen_range_and_rounds_integers_and_decimals():
    i, f = pd.Series([10, 20, 30, 40] * 5), pd.Series([0.25, 0.5, 0.75, 1.5] * 5)
    z, no = np.array([-9.0, 9.0, 0.1]), np.zeros(3, bool)
    back_i, back_f = fitted(i).decode(z, no), fitted(f).decode(z, no)
    assert back_i.tolist()[:2] == [10, 40] and back_i.dtype == np.int64
    assert back_f.tolist()[:2] == [0.25, 1.5]
    assert all(round(v, 2) == v for v in back_f)


def test_tiny_positive_numbers_are_not_rounded_to_zero():
    # Once rounded to 0 decimals: 1e-9 is within 1e-6 of an integer.
    col = pd.Series([1e-9, 2e-9, 3.5e-9, 7.25e-9] * 8)
    back = round_trip(col)
    pd.testing.assert_series_equal(back, col, check_exact=False, rtol=1e-6)
    assert (back > 0).all()


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(np.r_[[2**63 - 1, 2**63 - 5, -(2**63)], np.arange(30)], dtype="int64"),
        pd.Series([2**64 - 1] + list(range(30)), dtype="uint64"),
        pd.Series([2**62 + 7 * i for i in range(30)] + [None], dtype="Int64"),
    ],
    ids=["int64-extremes", "uint64-max", "Int64-large"],
)
def test_integers_never_leave_the_seen_range(column):
    codec = fitted(column)
    assert round_trip(column).dtype == column.dtype
    out = codec.decode(np.array([-40.0, 40.0, 0.0]), np.zeros(3, bool))  # far in both tails
    assert out.dtype == column.dtype
    assert out.min() == column.min() and out.max() == column.max()  # clipped exactly, no wrap-around


def test_large_integers_with_a_small_range_round_trip_exactly():
    column = pd.Series([2**62 + 1 + 7 * i for i in range(30)] + [None], dtype="Int64")
    codec = fitted(column)
    z, missing = codec.encode(column)
    assert missing.tolist() == [False] * 30 + [True] and z[-1] == 0.0  # missing at the median
    pd.testing.assert_series_equal(codec.decode(z, missing), column)


# -- encode of other rows ---------------------------------------------------------------

def test_encode_clips_integers_outside_the_seen_range_into_it():
    codec = fitted(pd.Series(np.arange(10, 60), dtype="int64"))
    z, _ = codec.encode(pd.Series([-(2**63), 9, 10, 59, 60, 2**63 - 1], dtype="int64"))
    assert z[0] == z[1] == z[2] and z[3] == z[4] == z[5] and z[2] < z[3]  # never wrapped around


def test_encode_refuses_missing_values_where_training_had_none():
    codec = fitted(pd.Series([1.5, 2.5, 4.0] * 4))
    with pytest.raises(ValueError, match=r"^column 'x': a missing value never seen in training; "
                                         r"accepted: values from 1.5 to 4.0$"):
        codec.encode(pd.Series([1.5, np.nan]))


# -- averaging and state ------------------------------------------------------------------

def test_average_is_the_normal_of_the_mean_value(adult):
    codec = fitted(adult["age"])
    z = np.stack([codec.encode(adult["age"].iloc[k::3].head(100))[0] for k in range(3)])
    values = np.stack([codec.normalizer_.inverse_transform(d) for d in z]).mean(0)
    np.testing.assert_allclose(codec.normalizer_.inverse_transform(codec.average(z)), values, rtol=1e-6)


@pytest.mark.parametrize("name", ["age", "fnlwgt", "capital-gain"])
def test_state_round_trip_is_exact(adult_small, name):
    col = adult_small[name].astype(float).mask(adult_small.index % 7 == 0) if name == "fnlwgt" else adult_small[name]
    spec = infer_schema(col.to_frame())[0]
    codec = NumericCodec(spec).fit(col)
    again = NumericCodec.from_state(codec.to_state())
    state, state2 = codec.to_state(), again.to_state()
    plain = [{k: v for k, v in s.items() if k != "normalizer"} for s in (state, state2)]
    assert plain[0] == plain[1]
    for key in ("references", "quantiles"):
        np.testing.assert_array_equal(state["normalizer"][key], state2["normalizer"][key])
    z, missing = codec.encode(col)
    np.testing.assert_array_equal(again.encode(col)[0], z)
    pd.testing.assert_series_equal(again.decode(z, missing), codec.decode(z, missing))
