"""The privacy guard: exact and near copies of real rows are redrawn, reproducibly, or fit says why not."""

import numpy as np
import pandas as pd
import pytest

import tabsyn
from tabsyn import TabSynthesizer
from tabsyn.table.guard import PrivacyGuard, PrivacyGuardError
from tabsyn.table.rows import row_keys
from tabsyn.table.schema import infer_schema


@pytest.fixture(scope="module")
def adult_guard(adult):
    df = adult.iloc[:3000].reset_index(drop=True)
    specs = infer_schema(df)
    return df, specs, PrivacyGuard(specs).fit(df, held_out=np.arange(2700, 3000))


def test_training_rows_are_exact_copies_and_fresh_rows_are_close_at_about_the_quantile(adult, adult_guard):
    df, _, guard = adult_guard
    exact, close = guard.check(df.iloc[:200], 0.05)
    assert exact.all() and not close.any()  # an exact copy is counted once, as a copy
    fresh = adult.iloc[5000:7000].reset_index(drop=True)
    exact, close = guard.check(fresh, 0.05)
    assert exact.mean() < 0.01  # real duplicates exist, but few
    assert 0.02 < close.mean() < 0.12  # fresh real rows fall below the 5% quantile about 5% of the time


def test_threshold_grows_with_the_quantile_and_zero_means_exact_copies_only(adult_guard):
    _, _, guard = adult_guard
    assert guard.threshold(0) == 0.0
    assert 0 < guard.threshold(0.01) < guard.threshold(0.1) < guard.threshold(0.5)


def test_nothing_held_out_judges_exact_copies_only(adult_guard):
    df, specs, _ = adult_guard
    guard = PrivacyGuard(specs).fit(df.head(500), held_out=np.array([], dtype=int))
    assert guard.threshold(0.5) == 0.0


def test_guard_state_is_plain_and_round_trips(adult_guard):
    df, _, guard = adult_guard
    again = PrivacyGuard.from_state(guard.to_state())
    for a, b in zip(guard.check(df.iloc[2500:2900], 0.1), again.check(df.iloc[2500:2900], 0.1)):
        np.testing.assert_array_equal(a, b)


def few_combinations(n=60, levels=6, seed=0):
    """Three 6-level columns, 60 rows: a third of the draws of a tiny model repeat a training row."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.choice([f"{c}{i}" for i in range(levels)], n) for c in "abc"})


@pytest.fixture(scope="module")
def copying(tiny_settings):
    df = few_combinations()
    return df, TabSynthesizer(**tiny_settings, random_state=0).fit(df)


def test_guard_replaces_every_copy_and_reports_it(copying):
    df, synth = copying
    specs = synth.columns_
    unguarded = synth.sample(400, random_state=1)
    assert np.isin(row_keys(unguarded, specs), row_keys(df, specs)).mean() > 0.2
    guarded = synth.sample(400, random_state=1, privacy_guard=0)
    assert not np.isin(row_keys(guarded, specs), row_keys(df, specs)).any()
    report = guarded.attrs["privacy_guard"]
    copies = int(np.isin(row_keys(unguarded, specs), row_keys(df, specs)).sum())
    assert report["rows"] == 400 and report["exact_copies"] == report["replaced"] == copies
    assert report["redraws"] >= copies and report["quantile"] == 0
    # Rows that were not copies are left alone.
    kept = ~np.isin(row_keys(unguarded, specs), row_keys(df, specs))
    pd.testing.assert_frame_equal(guarded[kept], unguarded[kept])


def test_guarded_rows_do_not_depend_on_batch_size_and_survive_save_load(copying, tmp_path):
    _, synth = copying
    a = synth.sample(150, random_state=7, privacy_guard=0, batch_size=150)
    b = synth.sample(150, random_state=7, privacy_guard=0, batch_size=16)
    pd.testing.assert_frame_equal(a, b)
    synth.save(tmp_path / "m.tabsyn")
    pd.testing.assert_frame_equal(tabsyn.load(tmp_path / "m.tabsyn").sample(150, random_state=7, privacy_guard=0), a)


def test_a_table_of_few_distinct_rows_cannot_be_guarded_and_says_so(tiny_settings):
    df = pd.DataFrame({"a": ["x", "y"] * 50, "b": ["p", "q", "q", "p"] * 25})  # 4 distinct rows
    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    with pytest.raises(PrivacyGuardError, match=r"after 20 redraws, \d+ of 30 rows were still copies .* "
                                                r"\(4 distinct in training\). .* privacy_guard=False"):
        synth.sample(30, privacy_guard=0)


@pytest.mark.parametrize("value", [-0.1, 1.0, 2, "yes", [0.1]])
def test_privacy_guard_values_are_checked(copying, value):
    _, synth = copying
    accepted = r"False, True \(quantile 0.01\) or a quantile in \[0, 1\)"
    with pytest.raises(ValueError, match=r"privacy_guard must be " + accepted):
        synth.sample(3, privacy_guard=value)
