import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import infer_schema
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


# -- messy values: extremes, precision, units ------------------------------------

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


def test_tiny_positive_numbers_are_not_rounded_to_zero():
    # Once rounded to 0 decimals: 1e-9 is within 1e-6 of an integer.
    df = pd.DataFrame({"x": [1e-9, 2e-9, 3.5e-9, 7.25e-9] * 8})
    _, _, _, back = roundtrip(df)
    pd.testing.assert_frame_equal(back, df, check_exact=False, rtol=1e-6)
    assert (back["x"] > 0).all()


def extreme_latents(t, x_cat_cols):
    """Latents far in both tails: inverse must clip them into the seen range."""
    x_num = np.array([[-40.0], [40.0], [0.0]]).repeat(len(t.num_positions_), axis=1)
    return t.inverse_transform(x_num, np.zeros((3, x_cat_cols), dtype=np.int64))


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(np.r_[[2**63 - 1, 2**63 - 5, -(2**63)], np.arange(30)], dtype="int64"),
        pd.Series([2**64 - 1] + list(range(30)), dtype="uint64"),
        pd.Series([2**62 + 7 * i for i in range(30)] + [None], dtype="Int64"),
        pd.Series(pd.to_datetime(np.arange(30) * 1_000_000_007 + 1_600_000_000_000_000_001)),
    ],
    ids=["int64-extremes", "uint64-max", "Int64-large", "datetime-ns"],
)
def test_integers_and_timestamps_never_leave_the_seen_range(column):
    df = pd.DataFrame({"x": column})
    t, x_num, x_cat, back = roundtrip(df)
    assert back["x"].dtype == column.dtype
    out = extreme_latents(t, x_cat.shape[1])["x"]
    assert out.dtype == column.dtype
    assert out.min() == column.min() and out.max() == column.max()  # clipped exactly, no wrap-around


def test_large_integers_with_a_small_range_round_trip_exactly():
    column = pd.Series([2**62 + 1 + 7 * i for i in range(30)] + [None], dtype="Int64")
    _, _, _, back = roundtrip(pd.DataFrame({"x": column}))
    pd.testing.assert_series_equal(back["x"], column, check_names=False)


def test_datetimes_keep_their_unit_even_outside_the_nanosecond_range():
    column = pd.Series(np.array(["2999-12-31", "1066-10-14", "2020-02-29", "1999-01-01"] * 5, dtype="datetime64[s]"))
    _, _, _, back = roundtrip(pd.DataFrame({"x": column}))
    assert back["x"].dtype == column.dtype == np.dtype("datetime64[s]")
    pd.testing.assert_series_equal(back["x"], column, check_names=False)


def test_date_and_datetime_objects_come_back_as_python_objects():
    import datetime as dt

    dates = [dt.date(2021, 1, 1) + dt.timedelta(days=3 * i) for i in range(20)] + [None]
    stamps = [pd.Timestamp("2021-06-01 08:00", tz="Europe/Paris") + pd.Timedelta(hours=i) for i in range(21)]
    df = pd.DataFrame({"d": pd.Series(dates, dtype=object), "t": pd.Series(stamps, dtype=object)})
    t, x_num, x_cat, back = roundtrip(df)
    assert [s.kind for s in t.specs_] == ["datetime", "datetime"]
    assert back.dtypes.tolist() == [object, object]
    assert back["d"].tolist()[:20] == dates[:20] and back["d"].isna().tolist() == [False] * 20 + [True]
    assert all(type(v) is dt.date for v in back["d"].dropna())
    assert back["t"].tolist() == stamps


# -- high cardinality ---------------------------------------------------------------

def long_tail(n=4000, levels=3000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"c": [f"L{v}" for v in rng.zipf(1.3, n) % levels], "y": rng.normal(size=n)})


def test_a_long_tail_of_levels_is_pooled_into_one_code():
    df = long_tail()
    t = TableTransformer(max_categories=50)
    x_num, x_cat = t.fit_transform(df, infer_schema(df))
    assert t.cat_sizes_ == [50] and x_cat.max() == 49
    info = t.cat_info_[0]
    counts = df["c"].value_counts()
    assert len(info.categories) == 49  # the most frequent levels keep their own code
    assert counts[info.categories].min() >= counts[info.rare].max()
    back = t.inverse_transform(x_num, x_cat, id_offset=0)
    assert set(back["c"]) <= set(df["c"])  # only seen levels, drawn back from the tail
    rare = set(info.rare)
    assert back["c"].isin(rare).sum() == df["c"].isin(rare).sum()
    assert back["c"][~df["c"].isin(rare)].equals(df["c"][~df["c"].isin(rare)])
    assert back["c"].nunique() > 300  # the tail is spread, not collapsed onto a few levels


def test_pooled_draws_do_not_depend_on_batching():
    df = long_tail(n=600)
    t = TableTransformer(max_categories=10)
    x_num, x_cat = t.fit_transform(df, infer_schema(df))
    whole = t.inverse_transform(x_num, x_cat, id_offset=100)
    parts = [t.inverse_transform(x_num[i:i + 64], x_cat[i:i + 64], id_offset=100 + i) for i in range(0, 600, 64)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert not t.inverse_transform(x_num, x_cat, id_offset=0).equals(whole)


def test_max_categories_is_checked():
    df = pd.DataFrame({"c": list("abc") * 4})
    with pytest.raises(ValueError, match="max_categories must be an integer >= 2; got 1"):
        TableTransformer(max_categories=1).fit_transform(df, infer_schema(df))


# -- keys ----------------------------------------------------------------------------

def test_free_format_keys_keep_their_shape_and_never_repeat():
    import uuid

    rng = np.random.default_rng(0)
    keys = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(40)]
    df = pd.DataFrame({"k": keys, "v": rng.normal(size=40)})
    t, x_num, x_cat, _ = roundtrip(df)
    out = pd.concat([t.inverse_transform(x_num, x_cat, id_offset=k * 40)["k"] for k in range(50)])
    assert out.str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}").all()
    assert out.is_unique and set(out).isdisjoint(keys)


def test_keys_of_varying_length_use_the_characters_seen():
    keys = [f"{i * 7919:X}{'-' * (i % 3)}" for i in range(30)]  # uppercase hex and dashes, lengths vary
    df = pd.DataFrame({"k": keys, "v": np.arange(30) % 4})
    t, x_num, x_cat, back = roundtrip(df)
    assert back["k"].str.fullmatch(r"[0-9A-F]{8}").all() and back["k"].is_unique


# -- labels and plain state ------------------------------------------------------------

@pytest.mark.parametrize(
    "columns",
    [
        pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["group", "k"]),
        pd.Index([0, 1.5, "2"], name="features"),
        pd.Index([(1, 2), "a b", "é 名"], tupleize_cols=False),
        pd.RangeIndex(3),
    ],
    ids=["multiindex", "named-mixed", "tuple-unicode", "range"],
)
def test_column_labels_come_back_exactly(columns):
    df = pd.DataFrame({i: np.arange(24) % (i + 2) for i in range(3)})
    df.columns = columns
    _, _, _, back = roundtrip(df)
    pd.testing.assert_index_equal(back.columns, df.columns, exact="equiv")
    pd.testing.assert_frame_equal(back, df, check_column_type="equiv")


def messy_table(n=40):
    import datetime as dt

    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "interval": pd.cut(rng.normal(size=n), 4),
        "when": pd.Categorical(pd.date_range("2020", periods=4, tz="UTC").repeat(n // 4)),
        "u": (np.arange(n) * 7 % 29).astype(np.uint64) + np.uint64(2**63),
        "day": [dt.date(2020, 1, 1 + i % 28) for i in range(n)],
        "tail": [f"L{v}" for v in rng.zipf(1.5, n) % 30],
        "key": [f"{v:012x}" for v in rng.integers(0, 2**48, n)],
        "ts": pd.date_range("2021-01-01", periods=n, freq="min", tz="America/New_York"),
        (1, "t"): rng.normal(size=n),
    })


def test_state_is_plain_data_the_safe_loader_accepts(tmp_path):
    import torch

    from tabsyn.persistence import decode, encode

    df = messy_table()
    t = TableTransformer(max_categories=5)
    x_num, x_cat = t.fit_transform(df, infer_schema(df))
    torch.save(encode(t.to_state()), tmp_path / "state.pt")
    state = decode(torch.load(tmp_path / "state.pt", weights_only=True))
    t2 = TableTransformer.from_state(state)
    before = t.inverse_transform(x_num, x_cat, id_offset=3)
    after = t2.inverse_transform(x_num, x_cat, id_offset=3)
    pd.testing.assert_frame_equal(after, before)
    assert (after.dtypes == df.dtypes).all()
