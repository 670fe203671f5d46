"""TableCodec: one codec per column, laid out in (x_num, x_cat) and back, and its plain state."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import infer_schema
from tabsyn.tabular.codec import TableCodec


def round_trip(df, **kw):
    codec = TableCodec(**kw)
    x_num, x_cat = codec.fit_encode(df, infer_schema(df))
    return codec, x_num, x_cat, codec.decode(x_num, x_cat, positions=np.arange(len(df)))


def assert_same_state(a, b):
    """Two plain states are equal, numpy arrays included."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same_state(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_state(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (a != a and b != b)


def test_adult_round_trips_exactly(adult_small):
    codec, x_num, x_cat, back = round_trip(adult_small)
    assert list(back.columns) == list(adult_small.columns)
    assert (back.dtypes == adult_small.dtypes).all()
    pd.testing.assert_frame_equal(back, adult_small, check_exact=False, rtol=1e-3)
    assert x_num.dtype == np.float32 and x_cat.dtype == np.int64
    assert x_num.shape == (1500, codec.n_num) and x_cat.shape == (1500, len(codec.cat_sizes))
    assert codec.n_num == 5 and len(codec.cat_sizes) == 10  # education-num is integer codes; no number missing


def test_encode_of_the_fitted_table_is_what_fit_encode_gave(adult_small):
    codec, x_num, x_cat, _ = round_trip(adult_small)
    again = codec.encode(adult_small)
    np.testing.assert_array_equal(again[0], x_num)
    np.testing.assert_array_equal(again[1], x_cat)
    part = codec.encode(adult_small.iloc[200:300])
    np.testing.assert_array_equal(part[0], x_num[200:300])
    np.testing.assert_array_equal(part[1], x_cat[200:300])


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
    _, _, _, back = round_trip(df)
    assert back["x"].dtype == column.dtype
    pd.testing.assert_series_equal(back["x"], df["x"], check_exact=False, rtol=1e-3)


def test_missing_numbers_become_a_learned_flag_column():
    df = pd.DataFrame({"x": [1.0, np.nan, 3.0, np.nan, 5.0, 6.0], "c": list("ababab")})
    codec, x_num, x_cat, _ = round_trip(df)
    assert codec.cat_sizes == [2, 2]  # c, then the "x is missing" flag
    assert x_cat[:, 1].tolist() == [0, 1, 0, 1, 0, 0]
    assert not np.isnan(x_num).any()
    assert codec.missing_codes() == [None, 1]


def test_missing_codes_name_each_columns_missing_level(adult_small):
    codec, *_ = round_trip(adult_small)
    specs = [s for s in codec.specs if s.kind == "categorical"]
    codes = codec.missing_codes()
    assert [s.name for s, c in zip(specs, codes) if c is not None] == ["workclass", "occupation", "native-country"]
    assert all(c is None or c == size - 1 for c, size in zip(codes, codec.cat_sizes))


def test_decode_clips_integers_and_decimals_and_writes_new_keys():
    df = pd.DataFrame({"i": [10, 20, 30, 40] * 5, "f": [0.25, 0.5, 0.75, 1.5] * 5,
                       "key": [f"CUST-{i:05d}" for i in range(20)]})
    codec = TableCodec().fit(df, infer_schema(df, max_int_levels=2))
    x_num = np.array([[-9.0, -9.0], [9.0, 9.0], [0.1, 0.1]])
    back = codec.decode(x_num, np.zeros((3, 0), dtype=np.int64), positions=np.arange(3) + 2)
    assert back["i"].tolist()[:2] == [10, 40] and back["i"].dtype == np.int64
    assert back["f"].tolist()[:2] == [0.25, 1.5]
    assert back["key"].tolist() == ["CUST-00022", "CUST-00023", "CUST-00024"]


def test_average_draws_averages_each_numerical_column(adult_small):
    codec, x_num, _, _ = round_trip(adult_small)
    draws = np.stack([x_num[:10], x_num[10:20], x_num[20:30]])
    out = codec.average_draws(draws)
    assert out.shape == (10, codec.n_num)
    num = [s for s in codec.specs if s.kind == "numerical"]
    ages = np.stack([adult_small["age"].to_numpy()[k * 10:(k + 1) * 10] for k in range(3)]).mean(0)
    back = codec.decode(out, np.zeros((10, len(codec.cat_sizes)), np.int64), positions=np.arange(10))
    assert num[0].name == "age"
    np.testing.assert_allclose(back["age"], np.round(ages), atol=1)


def test_categories_are_looked_up_by_label(adult_small):
    codec, *_ = round_trip(adult_small, max_categories=5)
    seen = codec.categories("education")
    assert sorted(seen) == sorted(adult_small["education"].unique()) and len(seen) == 16  # pooled ones too
    with pytest.raises(ValueError, match=r"^categories: numerical, not categorical: 'age'; the categorical "
                                         r"columns are \['workclass', 'education'"):
        codec.categories("age")
    with pytest.raises(ValueError, match=r"^categories: no column named 'nope'"):
        codec.categories("nope")


def test_max_categories_is_checked():
    df = pd.DataFrame({"c": list("abc") * 4})
    with pytest.raises(ValueError, match="max_categories must be an integer >= 2; got 1"):
        TableCodec(max_categories=1).fit(df, infer_schema(df))


def test_an_unfitted_codec_and_wrong_shapes_say_what_to_do(adult_small):
    with pytest.raises(AttributeError, match=r"This TableCodec is not fitted yet. Call 'fit'"):
        TableCodec().cat_sizes
    codec, x_num, x_cat, _ = round_trip(adult_small)
    with pytest.raises(ValueError, match=r"decode takes x_num of shape \(5, 5\) and x_cat of shape \(5, 10\) "
                                         r"for 5 positions; got \(4, 5\) and \(4, 10\)"):
        codec.decode(x_num[:4], x_cat[:4], positions=np.arange(5))
    with pytest.raises(ValueError, match=r"encode takes the fitted table's columns \['age', 'workclass'"):
        codec.encode(adult_small.iloc[:, ::-1])
    with pytest.raises(ValueError, match=r"^2 columns have values the model cannot take:\n- column 'race': 'y' "
                                         r"never seen in training; .*\n- column 'sex': 'x' never seen in training; "
                                         r"accepted: 'Female', 'Male'$"):
        codec.encode(adult_small.head(3).assign(sex="x", race="y"))


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
    _, _, _, back = round_trip(df)
    pd.testing.assert_index_equal(back.columns, df.columns, exact="equiv")
    pd.testing.assert_frame_equal(back, df, check_column_type="equiv")


def messy_table(n=40):
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "interval": pd.cut(rng.normal(size=n), 4),
        "when": pd.Categorical(pd.date_range("2020", periods=4, tz="UTC").repeat(n // 4)),
        "u": (np.arange(n) * 7 % 29).astype(np.uint64) + np.uint64(2**63),
        "day": [dt.date(2020, 1, 1 + i % 28) for i in range(n)],
        "tail": [f"L{v}" for v in rng.zipf(1.5, n) % 30],
        "key": [f"{v:012x}" for v in rng.integers(0, 2**48, n)],
        "ts": pd.date_range("2021-01-01", periods=n, freq="min", tz="America/New_York"),
        "gaps": pd.array([None if i % 6 == 0 else i for i in range(n)], dtype="Int64"),
        (1, "t"): rng.normal(size=n),
    })


def test_state_round_trip_is_exact_and_gives_the_same_decode(adult_small):
    for df, max_categories in ((adult_small, 1000), (messy_table(), 5)):
        codec, x_num, x_cat, back = round_trip(df, max_categories=max_categories)
        again = TableCodec.from_state(codec.to_state())
        assert_same_state(again.to_state(), codec.to_state())
        pd.testing.assert_frame_equal(again.decode(x_num, x_cat, positions=np.arange(len(df))), back)
        assert again.specs == codec.specs and again.cat_sizes == codec.cat_sizes and again.n_num == codec.n_num


def test_state_is_plain_data_the_safe_loader_accepts(tmp_path):
    import torch

    from tabsyn.persistence import decode, encode

    df = messy_table()
    codec = TableCodec(max_categories=5)
    x_num, x_cat = codec.fit_encode(df, infer_schema(df))
    torch.save(encode(codec.to_state()), tmp_path / "state.pt")
    state = decode(torch.load(tmp_path / "state.pt", weights_only=True))
    again = TableCodec.from_state(state)
    before = codec.decode(x_num, x_cat, positions=np.arange(len(df)) + 3)
    after = again.decode(x_num, x_cat, positions=np.arange(len(df)) + 3)
    pd.testing.assert_frame_equal(after, before)
    assert (after.dtypes == df.dtypes).all()
