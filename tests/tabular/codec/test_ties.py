"""Tied numerical columns: found in training values, learned as flags, copied on decode, kept in the state."""

import numpy as np
import pandas as pd
import pytest

from tabsyn import TabSynthesizer
from tabsyn.datasets import load_dataset
from tabsyn.table.schema import infer_schema
from tabsyn.tabular.codec import TableCodec
from tabsyn.tabular.codec.ties import find_ties, tied


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    """3,000 rows of the Taiwan credit table (Default): each month's payment often equals the bill before."""
    df, _, _ = load_dataset("default", download=False)
    return df.sample(n=3000, random_state=0).reset_index(drop=True)


def test_default_payments_tie_to_the_previous_bill(credit):
    codec = TableCodec().fit(credit, infer_schema(credit))
    assert codec.tied_columns() == [(f"PAY_AMT{k}", f"BILL_AMT{k + 1}") for k in range(1, 6)]
    # one two-level "equals" column per tie, after every other code column, never "missing"
    assert codec.cat_sizes[-5:] == [2] * 5 and codec.missing_codes()[-5:] == [None] * 5
    x_num, x_cat = codec.encode(credit)
    share = (credit["PAY_AMT1"] == credit["BILL_AMT2"]) & (credit["PAY_AMT1"] != 0)
    np.testing.assert_array_equal(x_cat[:, -5], share.to_numpy().astype(np.int64))


def test_decode_copies_where_the_flag_is_set_and_nowhere_else(credit):
    codec = TableCodec().fit(credit, infer_schema(credit))
    x_num, x_cat = codec.encode(credit)
    x_cat[:, -5:] = 0  # no row tied
    plain = codec.decode(x_num, x_cat, positions=np.arange(len(credit)))
    x_cat[:, -5] = 1  # every row: PAY_AMT1 takes BILL_AMT2's value
    out = codec.decode(x_num, x_cat, positions=np.arange(len(credit)))
    inside = credit["BILL_AMT2"].between(credit["PAY_AMT1"].min(), credit["PAY_AMT1"].max())
    assert (out["PAY_AMT1"][inside] == out["BILL_AMT2"][inside]).all()
    # a bill outside the seen payments (a negative balance) is not copied: the target stays in its range
    assert (out["PAY_AMT1"][~inside] == plain["PAY_AMT1"][~inside]).all() and (~inside).any()
    assert out["PAY_AMT1"].dtype == credit["PAY_AMT1"].dtype
    pd.testing.assert_frame_equal(out.drop(columns="PAY_AMT1"), plain.drop(columns="PAY_AMT1"))


def test_chance_ties_of_small_integers_are_not_ties(adult_small):
    # age == hours-per-week in 2-3% of Adult's rows, about what independent columns give
    codec = TableCodec().fit(adult_small, infer_schema(adult_small))
    assert codec.tied_columns() == []


def test_a_tie_needs_enough_rows_and_more_than_chance():
    rng = np.random.default_rng(0)
    n = 4000
    a = rng.integers(1, 10_000, n)
    b = rng.integers(1, 10_000, n)
    b[:300] = a[:300]                # 7.5% tied: found
    c = rng.integers(1, 10_000, n)
    c[:100] = a[:100]                # 2.5%: too few
    d = rng.integers(0, 3, n)        # three values: ties by chance in a third of the rows
    e = rng.integers(0, 3, n)
    cols = [a, b, c, d, e]
    miss = [np.zeros(n, bool)] * 5
    ties = find_ties(cols, miss, ["int64"] * 5, [10, 11, 12, 13, 14])
    # one tie between the first two (either may copy the other: each excludes its own mode's ties)
    assert [{t.target, t.source} for t in ties] == [{10, 11}]
    # columns of different dtypes are never compared
    assert find_ties([a, b], miss[:2], ["int64", "float64"], [0, 1]) == []


def test_missing_cells_and_the_mode_never_tie():
    t = np.array([0, 0, 4, 4, 5])
    s = np.array([0, 0, 4, 9, 5])
    missing = np.array([False, False, False, False, True])
    np.testing.assert_array_equal(tied(t, missing, s, np.zeros(5, bool), 0), [False, False, True, False, False])


def test_state_keeps_ties_and_old_states_have_none(credit):
    codec = TableCodec().fit(credit, infer_schema(credit))
    state = codec.to_state()
    back = TableCodec.from_state(state)
    assert back.tied_columns() == codec.tied_columns() and back.cat_sizes == codec.cat_sizes
    old = {k: v for k, v in state.items() if k not in ("ties", "tie")}
    assert TableCodec.from_state(old).ties == []
    assert TableCodec(tie=False).fit(credit, infer_schema(credit)).ties == []


@pytest.fixture(scope="module")
def credit_model(credit):
    return TabSynthesizer(preset="fast", vae_steps=200, diffusion_steps=400, verbose=False,
                          random_state=0).fit(credit)


def test_a_fitted_model_writes_tied_rows(credit, credit_model):
    out = credit_model.sample(2000, random_state=0)
    share = ((out["PAY_AMT1"] == out["BILL_AMT2"]) & (out["PAY_AMT1"] != 0)).mean()
    real = ((credit["PAY_AMT1"] == credit["BILL_AMT2"]) & (credit["PAY_AMT1"] != 0)).mean()
    assert 0.3 * real < share < 2 * real  # the real rate is 13%; without ties a model writes about none


def test_known_cells_are_never_overwritten_and_known_sources_are_copied(credit, credit_model):
    rows = credit.iloc[:300]
    given_target = credit_model.sample_remaining_columns(rows[["PAY_AMT1"]], random_state=0)
    assert (given_target["PAY_AMT1"].to_numpy() == rows["PAY_AMT1"].to_numpy()).all()
    given_source = credit_model.sample_remaining_columns(rows[["BILL_AMT2"]], random_state=0)
    assert (given_source["BILL_AMT2"].to_numpy() == rows["BILL_AMT2"].to_numpy()).all()
    copied = given_source["PAY_AMT1"] == given_source["BILL_AMT2"]
    assert copied.any()  # where the model tied the two, the payment is the given bill exactly
