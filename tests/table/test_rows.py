"""Row keys, the distance space and nearest-row distances shared by the guard and the evaluation."""

import numpy as np
import pandas as pd
import pytest

from tabsyn.table import rows
from tabsyn.table.rows import RowSpace, row_keys
from tabsyn.table.schema import infer_schema


def test_row_keys_match_equal_rows_across_dtypes(mixed_table):
    specs = infer_schema(mixed_table)
    other = mixed_table.assign(code=mixed_table["code"].astype(float), key="another key")
    np.testing.assert_array_equal(row_keys(mixed_table, specs), row_keys(other, specs))
    changed = mixed_table.assign(num=mixed_table["num"] + 1e-9)
    assert not np.isin(row_keys(changed, specs), row_keys(mixed_table, specs)).any()


def test_unseen_categories_share_the_other_slot_and_numbers_lie_in_the_unit_interval(mixed_table):
    space = RowSpace(infer_schema(mixed_table)).fit(mixed_table)
    seen, unseen = space.transform(mixed_table), space.transform(mixed_table.assign(text="never seen"))
    assert seen.numbers.shape == unseen.numbers.shape == (40, 4)  # num and when, each with a flag
    assert (unseen.codes[:, 1] == 4).all() and set(seen.codes[:, 1]) == {0, 1, 2, 3}  # u, v, w and missing
    dense = space.dense(seen)
    assert dense.min() >= 0 and dense.max() <= 1
    assert set(np.unique(dense[:, 4:])) == {0.0, np.sqrt(0.5)}


def test_nearest_matches_brute_force_in_any_block_size(adult):
    df = adult.head(600)
    specs = infer_schema(df)
    space = RowSpace(specs).fit(df.iloc[:400])
    ref, query = space.transform(df.iloc[:400]), space.transform(df.iloc[400:])
    R, Q = space.dense(ref), space.dense(query)
    brute = np.sqrt(((Q[:, None, :] - R[None, :, :]) ** 2).sum(-1).min(1))
    for block in (2**23, 5000):  # one block, and many small ones
        np.testing.assert_allclose(space.nearest(query, ref, block=block), brute, atol=1e-6)
    np.testing.assert_allclose(space.nearest(query, ref, dtype=np.float32), brute, atol=1e-3)


@pytest.mark.parametrize("one_hot_up_to", [0, 10**6])
def test_categories_compared_by_code_give_the_one_hot_distances(adult, monkeypatch, one_hot_up_to):
    """Wide categorical columns are compared code by code in nearest(); every column so, or none, agrees."""
    df = adult.head(500)
    space = RowSpace(infer_schema(df)).fit(df.iloc[:300])
    ref, query = space.transform(df.iloc[:300]), space.transform(df.iloc[300:])
    assert any(size > rows.ONE_HOT_PRODUCT for size in space.sizes_)  # native-country, education: compared
    expected = space.nearest(query, ref)
    monkeypatch.setattr(rows, "ONE_HOT_PRODUCT", one_hot_up_to)
    np.testing.assert_allclose(space.nearest(query, ref, block=3000), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("pairwise_up_to", [0, 4, 10**6])
def test_nearest_and_within_search_the_row_groups_first_and_match_brute_force(adult, monkeypatch, pairwise_up_to):
    """Rows are compared within their group (category slots and missing flags) pair by pair or by a matrix
    product, the rest with every row; the distances, and within()'s answers, are brute force's."""
    df = adult.head(900).reset_index(drop=True)
    df["age"] = df["age"].astype(float).mask(np.random.default_rng(0).random(len(df)) < 0.3)  # missing flags
    space = RowSpace(infer_schema(df)).fit(df.iloc[:600])
    ref = space.transform(df.iloc[:600])
    query = space.transform(pd.concat([df.iloc[600:], df.iloc[:50]]))  # 50 copies: distance 0
    R, Q = space.dense(ref), space.dense(query)
    brute = np.sqrt(((Q[:, None, :] - R[None, :, :]) ** 2).sum(-1).min(1))
    assert (brute[-50:] == 0).all() and (brute > 1).any() and ((brute > 0) & (brute < 1)).any()
    monkeypatch.setattr(rows, "PAIRWISE_GROUP", pairwise_up_to)
    np.testing.assert_allclose(space.nearest(query, ref, block=20_000), brute, rtol=1e-9, atol=1e-12)
    for radius in (0.0, 0.2, 0.5, 1.0, 1.3):
        np.testing.assert_array_equal(space.within(query, ref, radius, block=20_000), brute < radius)


def test_a_copied_row_is_at_distance_exactly_zero_and_a_changed_category_at_one(adult):
    df = adult.head(300).reset_index(drop=True)
    space = RowSpace(infer_schema(df)).fit(df)
    ref = space.transform(df)
    assert (space.nearest(space.transform(df.head(20)), ref) == 0).all()
    # One category changed to a level no row has with these other values: distance 1.
    changed = df.head(1).assign(race="Other", sex="Female" if df.loc[0, "sex"] == "Male" else "Male")
    assert space.nearest(space.transform(changed), space.transform(df.head(1)))[0] == pytest.approx(np.sqrt(2))


def test_state_round_trips_as_plain_data(mixed_table):
    space = RowSpace(infer_schema(mixed_table)).fit(mixed_table)
    again = RowSpace.from_state(space.to_state())
    a, b = space.transform(mixed_table), again.transform(mixed_table)
    np.testing.assert_array_equal(a.numbers, b.numbers)
    np.testing.assert_array_equal(a.codes, b.codes)


def test_category_strings_keyed_per_distinct_value_match_the_per_row_keys():
    """Keys come from the distinct values (factorized), the same as keying every row: across dtypes and mixes."""
    columns = [
        pd.Series([1.0, 2.5, np.nan, -0.0, 0.0, 1.0]), pd.Series([3, 1, 3], dtype=np.int64),
        pd.Series([1, None, 3], dtype="Int64"), pd.Series([True, None, False], dtype="boolean"),
        pd.Series(["a", None, "b", "a"], dtype="string"), pd.Series(pd.Categorical(["x", None, "y", "x"])),
        pd.Series(["a", None, "b", "a"], dtype=object), pd.Series([True, 1, 1.0, "a", None, np.nan, 2.5]),
        pd.Series([True, False, True]),
    ]
    for col in columns:
        per_row = col.astype(object).map(lambda v: rows.MISSING_KEY if pd.isna(v) else str(rows.category_key(v)))
        pd.testing.assert_series_equal(rows.category_strings(col.set_axis(col.index + 7)), per_row.set_axis(
            col.index + 7))
    assert list(rows.category_strings(pd.Series([True, 1]))) == ["True", "1"]  # not merged as one value
