"""Derived code columns: found in training codes, enforced on decode, kept in the codec's state."""

import numpy as np
import pandas as pd

from tabsyn.table.schema import infer_schema
from tabsyn.tabular.codec import TableCodec
from tabsyn.tabular.codec.dependencies import apply_derived, determines, find_derived


def test_adult_education_num_follows_education(adult_small):
    codec = TableCodec().fit(adult_small, infer_schema(adult_small))
    assert ("education-num", "education") in codec.derived_columns()
    # education is a function of education-num too, but the first of the two stays free
    assert ("education", "education-num") not in codec.derived_columns()


def test_decode_writes_the_derived_column_from_its_source(adult_small):
    codec = TableCodec().fit(adult_small, infer_schema(adult_small))
    x_num, x_cat = codec.encode(adult_small)
    rng = np.random.default_rng(0)
    shuffled = x_cat.copy()
    for j, size in enumerate(codec.cat_sizes):  # every column's codes drawn independently: pairs broken
        shuffled[:, j] = rng.integers(0, size, len(shuffled))
    out = codec.decode(x_num, shuffled, positions=np.arange(len(shuffled)))
    pairs = set(zip(adult_small["education"], adult_small["education-num"]))
    assert all(p in pairs for p in zip(out["education"], out["education-num"]))
    # without derivation the same codes break the identity
    plain = TableCodec(derive=False).fit(adult_small, infer_schema(adult_small))
    broken = plain.decode(x_num, shuffled, positions=np.arange(len(shuffled)))
    assert not all(p in pairs for p in zip(broken["education"], broken["education-num"]))


def test_many_to_one_derives_the_coarser_column_only():
    rng = np.random.default_rng(1)
    city = rng.integers(0, 6, 600)
    state = city // 2                      # a function of city, not the other way round
    other = rng.integers(0, 3, 600)        # independent
    derived = find_derived(np.stack([state, city, other], 1), [3, 6, 3])
    assert [(d.target, d.source) for d in derived] == [(0, 1)]
    np.testing.assert_array_equal(derived[0].lookup, [0, 0, 1, 1, 2, 2])


def test_near_unique_columns_derive_nothing():
    """Every column is a function of a column with a code per row; too few rows per code do not count."""
    rng = np.random.default_rng(2)
    ident = np.arange(50)
    other = rng.integers(0, 3, 50)
    assert find_derived(np.stack([ident, other], 1), [50, 3]) == []


def test_chains_follow_a_free_column():
    a = np.repeat(np.arange(4), 30)
    b, c = a.copy(), a % 2   # b one-to-one with a; c a function of both
    derived = {d.target: d.source for d in find_derived(np.stack([a, b, c], 1), [4, 4, 2])}
    assert derived == {1: 0, 2: 0}
    out = apply_derived(np.stack([a, (a + 1) % 4, 1 - c], 1), find_derived(np.stack([a, b, c], 1), [4, 4, 2]))
    np.testing.assert_array_equal(out[:, 1], a)
    np.testing.assert_array_equal(out[:, 2], c)


def test_missing_flag_follows_a_category():
    n = 400
    kind = np.where(np.arange(n) % 4 == 0, "none", "some")
    amount = np.where(kind == "none", np.nan, np.arange(n, dtype=float))
    df = pd.DataFrame({"kind": kind, "amount": amount})
    codec = TableCodec().fit(df, infer_schema(df))
    assert codec.derived_columns() == [(("amount", "is missing"), "kind")] or \
        ("kind", ("amount", "is missing")) in codec.derived_columns()
    x_num, x_cat = codec.encode(df)
    x_cat[:, 1] = 1 - x_cat[:, 1]  # every flag wrong
    out = codec.decode(x_num, x_cat, positions=np.arange(n))
    assert (out["amount"].isna() == (out["kind"] == "none")).all()


def test_state_keeps_derivations_and_old_states_have_none(adult_small):
    codec = TableCodec().fit(adult_small, infer_schema(adult_small))
    state = codec.to_state()
    back = TableCodec.from_state(state)
    assert back.derived_columns() == codec.derived_columns()
    old = {k: v for k, v in state.items() if k not in ("derived", "derive")}
    assert TableCodec.from_state(old).derived == []


def test_determines_maps_unseen_source_codes_to_the_mode():
    np.testing.assert_array_equal(determines(np.array([0, 0, 2]), np.array([1, 1, 0]), 4, 2), [1, 1, 0, 1])


def test_a_column_that_varies_in_one_row_is_no_evidence():
    """'rare' is present exactly where 'cat' is, but in one row only: nothing is derived."""
    x = np.zeros((200, 2), np.int64)
    x[0] = 1
    assert find_derived(x, [2, 2]) == []
    x[:10] = 1  # ten rows of evidence
    assert [(d.target, d.source) for d in find_derived(x, [2, 2])] == [(1, 0)]
