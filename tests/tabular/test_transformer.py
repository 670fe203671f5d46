import numpy as np
import pandas as pd
import pytest

from tabsyn.tabular.schema import infer_schema
from tabsyn.tabular.transformer import QuantileNormalizer, TableTransformer


def roundtrip(df):
    t = TableTransformer()
    x_num, x_cat = t.fit_transform(df, infer_schema(df))
    return t, x_num, x_cat, t.inverse_transform(x_num, x_cat)


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


def test_adult_round_trips_exactly(adult_small):
    t, x_num, x_cat, back = roundtrip(adult_small)
    assert list(back.columns) == list(adult_small.columns)
    assert (back.dtypes == adult_small.dtypes).all()
    pd.testing.assert_frame_equal(back, adult_small, check_exact=False, rtol=1e-3)
    assert x_num.dtype == np.float32 and x_cat.dtype == np.int64


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, 5, 3, 9, 120, 7] * 5, dtype="int64"),
        pd.Series([1, 5, None, 9, 120, 7] * 5, dtype="Int64"),
        pd.Series([0.5, 1.25, np.nan, 2.0, 8.5, 3.0] * 5, dtype="float64"),
        pd.Series([0.5, 1.25, None, 2.0, 8.5, 3.0] * 5, dtype="Float64"),
        pd.Series([True, False, True, True, False, False] * 5, dtype="bool"),
        pd.Series([True, None, True, True, False, False] * 5, dtype="boolean"),
        pd.Series(["a", "b", np.nan, "c", "a", "b"] * 5, dtype="object"),
        pd.Series(["a", "b", None, "c", "a", "b"] * 5, dtype="string"),
        pd.Series(pd.Categorical(["lo", "hi", "mid", "hi", "lo", "lo"] * 5, categories=["lo", "mid", "hi", "xl"])),
        pd.Series(pd.date_range("2021-03-01", periods=30, freq="D")),
        pd.Series(pd.date_range("2021-03-01 08:00", periods=30, freq="h", tz="Europe/Berlin")),
    ],
    ids=lambda s: str(s.dtype),
)
def test_each_column_kind_round_trips_its_dtype_and_values(column):
    df = pd.DataFrame({"x": column, "y": np.arange(len(column)) % 4})
    _, _, _, back = roundtrip(df)
    assert back["x"].dtype == column.dtype
    pd.testing.assert_series_equal(back["x"], df["x"], check_exact=False, rtol=1e-3)


def test_missing_numbers_become_a_learned_flag_column():
    df = pd.DataFrame({"x": [1.0, np.nan, 3.0, np.nan, 5.0, 6.0], "c": list("ababab")})
    t, x_num, x_cat, _ = roundtrip(df)
    assert t.cat_sizes_ == [2, 2]  # c, then the "x is missing" flag
    assert x_cat[:, 1].tolist() == [0, 1, 0, 1, 0, 0]
    assert not np.isnan(x_num).any()


def test_inverse_clips_to_the_seen_range_and_rounds_integers_and_decimals():
    df = pd.DataFrame({"i": [10, 20, 30, 40] * 5, "f": [0.25, 0.5, 0.75, 1.5] * 5, "z": [1, 2, 3, 4] * 5})
    t = TableTransformer()
    t.fit_transform(df, infer_schema(df, max_int_levels=2))
    x_num = np.array([[-9.0, -9.0, 0.0], [9.0, 9.0, 0.0], [0.1, 0.1, 0.1]])
    back = t.inverse_transform(x_num, np.zeros((3, 0), dtype=np.int64))
    assert back["i"].tolist()[:2] == [10, 40] and back["i"].dtype == np.int64
    assert back["f"].tolist()[:2] == [0.25, 1.5]
    assert all(round(v, 2) == v for v in back["f"])


def test_id_columns_get_new_keys_in_the_same_format():
    n = 30
    df = pd.DataFrame({"key": [f"CUST-{i:05d}" for i in range(n)], "row": np.arange(1, n + 1), "v": np.arange(n) % 3})
    t, x_num, x_cat, _ = roundtrip(df)
    back = t.inverse_transform(x_num[:4], x_cat[:4], id_offset=2)
    assert back["key"].tolist() == ["CUST-00032", "CUST-00033", "CUST-00034", "CUST-00035"]
    assert back["row"].tolist() == [33, 34, 35, 36]
    assert set(back["key"]).isdisjoint(df["key"])


def test_state_round_trip_gives_the_same_inverse(adult_small):
    t, x_num, x_cat, back = roundtrip(adult_small)
    t2 = TableTransformer.from_state(t.to_state())
    pd.testing.assert_frame_equal(t2.inverse_transform(x_num, x_cat), back)
