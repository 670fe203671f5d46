"""CategoricalCodec: codes in a stable order, missing as a code, the pooled long tail, state."""

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import infer_schema
from tabsyn.tabular.codec import CategoricalCodec


def fitted(col: pd.Series, **kw) -> CategoricalCodec:
    (spec,) = infer_schema(col.rename("c").to_frame())
    assert spec.kind == "categorical"
    return CategoricalCodec(spec, **kw).fit(col.rename("c"))


def decode(codec, codes, start=0):
    codes = np.asarray(codes)
    return codec.decode(codes, positions=np.arange(len(codes)) + start, row_codes=codes[:, None])


def long_tail(n=4000, levels=3000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.Series([f"L{v}" for v in rng.zipf(1.3, n) % levels])


def test_codes_follow_the_sorted_categories_and_missing_is_the_last(adult_small):
    col = adult_small["workclass"]
    codec = fitted(col)
    assert codec.categories_ == sorted(col.dropna().unique())
    assert codec.missing_code == codec.n_codes - 1 == len(codec.categories_)
    codes = codec.encode(col)
    assert (codes[col.isna().to_numpy()] == codec.missing_code).all()
    assert codec.mode_ == codec.categories_.index("Private")
    pd.testing.assert_series_equal(decode(codec, codes), col.rename(None).astype(object), check_names=False)


def test_a_category_dtype_keeps_its_categories_and_order():
    col = pd.Series(pd.Categorical(["lo", "hi", "mid", "hi"] * 5, categories=["lo", "mid", "hi", "xl"], ordered=True))
    codec = fitted(col)
    assert codec.categories_ == ["lo", "mid", "hi"] and codec.missing_code is None
    back = decode(codec, codec.encode(col))
    assert back.dtype == col.dtype
    pd.testing.assert_series_equal(back, col, check_names=False)


def test_a_long_tail_of_levels_is_pooled_into_one_code():
    col = long_tail()
    codec = fitted(col, max_categories=50)
    codes = codec.encode(col)
    assert codec.n_codes == 50 and codes.max() == 49
    counts = col.value_counts()
    assert len(codec.categories_) == 49  # the most frequent levels keep their own code
    assert counts[codec.categories_].min() >= counts[codec.rare_].max()
    back = decode(codec, codes)
    assert set(back) <= set(col)  # only seen levels, drawn back from the tail
    rare = col.isin(set(codec.rare_))
    assert back.isin(set(codec.rare_)).sum() == rare.sum()
    assert back[~rare].equals(col[~rare])
    assert back.nunique() > 300  # the tail is spread, not collapsed onto a few levels
    assert codec.seen_categories() == codec.categories_ + codec.rare_


def test_pooled_draws_do_not_depend_on_batching():
    col = long_tail(n=600)
    codec = fitted(col, max_categories=10)
    codes = codec.encode(col)
    whole = decode(codec, codes, start=100)
    parts = [decode(codec, codes[i:i + 64], start=100 + i) for i in range(0, 600, 64)]
    pd.testing.assert_series_equal(pd.concat(parts, ignore_index=True), whole)
    assert not decode(codec, codes, start=0).equals(whole)


def test_encode_refuses_categories_never_seen(adult_small):
    codec = fitted(adult_small["sex"])
    with pytest.raises(ValueError, match=r"^column 'c': a missing value, 'Other' never seen in training; "
                                         r"accepted: 'Female', 'Male'$"):
        codec.encode(pd.Series(["Male", "Other", None]))


def test_encode_of_rows_it_was_fitted_on_matches_fit():
    col = long_tail(n=600)
    codec = fitted(col, max_categories=10)
    np.testing.assert_array_equal(codec.encode(col.iloc[100:200]), codec.encode(col)[100:200])


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["a", None, "b", "c"] * 6, dtype="string"),
        pd.Series(pd.cut(np.random.default_rng(1).normal(size=40), 4)),
        pd.Series(pd.Categorical(pd.date_range("2020", periods=4, tz="UTC").repeat(10))),
        pd.Series([True, None, False, True] * 6, dtype="boolean"),
        long_tail(n=300),
    ],
    ids=["string", "interval", "datetime-categories", "boolean", "long-tail"],
)
def test_state_round_trip_is_exact(column):
    codec = fitted(column, max_categories=20, salt=7)
    again = CategoricalCodec.from_state(codec.to_state())
    assert repr(again.to_state()) == repr(codec.to_state())
    codes = codec.encode(column)
    np.testing.assert_array_equal(again.encode(column), codes)
    pd.testing.assert_series_equal(decode(again, codes), decode(codec, codes))
