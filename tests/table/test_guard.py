"""The privacy guard: exact and near copies of real rows are redrawn, reproducibly, or fit says why not."""

import numpy as np
import pandas as pd
import pytest

import tabsyn
from tabsyn import TabSynthesizer
from tabsyn.table.guard import GuardReport, PrivacyGuard, PrivacyGuardError
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


def test_a_table_of_few_distinct_rows_is_sampled_as_drawn_by_default(tiny_settings):
    df = pd.DataFrame({"a": ["x", "y"] * 50, "b": ["p", "q", "q", "p"] * 25})  # 4 distinct rows, all 4 possible
    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    assert synth.guard_.copies_unavoidable()
    out = synth.sample(30, privacy_guard=0)
    assert len(out) == 30 and out.attrs["privacy_guard"]["replaced"] == 0


# -- narrow tables: small distances survive, and fallbacks instead of failures ------------

def narrow_guard(adult, columns, rows=6000, held_out=1000):
    df = adult[columns].iloc[:rows].reset_index(drop=True)
    specs = infer_schema(df)
    return df, PrivacyGuard(specs).fit(df, held_out=np.arange(rows - held_out, rows))


@pytest.mark.parametrize("columns", [["fnlwgt"], ["age", "hours-per-week"]], ids=["one-column", "two-columns"])
def test_narrow_real_tables_get_a_nonzero_threshold(adult, columns):
    df, guard = narrow_guard(adult, columns)
    fresh = guard.held_out_distances_[guard.held_out_distances_ > 0]
    assert len(fresh) >= 20 and fresh.min() < 1e-2  # squared below 1e-4: float32 read these as 0
    assert 0 < guard.threshold(0.01) <= guard.threshold(0.1) and guard.fallback(0.01) is None
    # The distances are the exact ones: the closest training row by brute force, in float64.
    space, points = guard.space_, guard.points_
    train, held = points.take(np.arange(0, 5000)), points.take(np.arange(5000, 5040))
    brute = np.sqrt(((space.dense(held)[:, None, :] - space.dense(train)[None, :, :]) ** 2).sum(-1).min(1))
    np.testing.assert_allclose(space.nearest(held, train), brute, rtol=1e-9, atol=1e-12)
    # Rows a hair away from a real row are caught as too close, copies as copies.
    near = df.iloc[:50].copy()
    near[columns[0]] = near[columns[0]] + 1 if columns == ["fnlwgt"] else near[columns[0]]
    exact, close = guard.check(near, 0.01)
    if columns == ["fnlwgt"]:
        assert close.mean() > 0.5 and not (exact & close).any()
    else:
        assert exact.all() and not close.any()


def three_categories(adult, n=600):
    race = adult["race"].iloc[:n]
    return race.where(race.isin(["White", "Black"]), "Other").to_frame("race").reset_index(drop=True)


def test_one_column_of_three_categories_falls_back_to_nothing_and_says_so(adult):
    df = three_categories(adult)
    guard = PrivacyGuard(infer_schema(df)).fit(df, held_out=np.arange(500, 600))
    assert guard.copies_unavoidable() and guard.threshold(0.01) == 0
    assert guard.fallback(0.01).startswith("nothing: every row the model can write is one of the 3 distinct")
    exact, close = guard.check(df, 0.01)
    assert not exact.any() and not close.any()  # nothing to redraw: no draw could avoid a copy
    report = GuardReport(rows=len(df), quantile=0.01)
    report = guard.settle(report, df, np.array([], dtype=int))
    assert report.kept_copies == len(df) and report.fallback.startswith("nothing: ")
    assert report.to_dict()["fallback"] == report.fallback and "fallback: nothing: " in str(report)
    with pytest.raises(PrivacyGuardError, match=r"privacy_guard \(strict\) cannot do what was asked: nothing: "):
        guard.settle(GuardReport(rows=len(df), quantile=0.01), df, np.array([], dtype=int), strict=True)


def test_one_integer_column_falls_back_to_exact_copies_only(adult):
    df, guard = narrow_guard(adult, ["age"])
    assert not guard.copies_unavoidable() and guard.threshold(0.01) == 0
    assert guard.fallback(0.01).startswith("exact copies only: only ")
    assert guard.fallback(0) is None  # exact copies only was asked for
    exact, close = guard.check(df.iloc[:100], 0.01)
    assert exact.all() and not close.any()
    report = guard.settle(GuardReport(rows=100, threshold=0.0, quantile=0.01), df.iloc[:100], np.arange(0))
    assert report.fallback.startswith("exact copies only") and report.kept_copies == 0


def test_rows_left_after_the_redraws_are_kept_and_counted_or_strict_fails(adult_guard):
    df, _, guard = adult_guard
    frame = df.iloc[:40].reset_index(drop=True)
    report = GuardReport(rows=40, exact_copies=40, replaced=40, threshold=guard.threshold(0.01), quantile=0.01)
    report = guard.settle(report, frame, np.array([3, 7]), redraws=20)
    assert (report.kept_copies, report.kept_close) == (2, 0)
    assert "after 20 redraws are kept as drawn" in report.fallback and "kept 2 exact copies" in str(report)
    with pytest.raises(PrivacyGuardError, match=r"after 20 redraws, 2 of 40 rows were still copies .* "
                                                r"privacy_guard=False, or leave strict off"):
        guard.settle(GuardReport(rows=40, quantile=0.01), frame, np.array([3, 7]), strict=True, redraws=20)
    assert guard.settle(GuardReport(rows=40, quantile=0.01), frame, np.arange(0), strict=True).fallback is None


def test_reports_of_batches_sum_their_kept_rows_and_keep_each_fallback_once():
    a = GuardReport(rows=10, kept_copies=2, fallback="nothing: x")
    b = GuardReport(rows=5, kept_copies=1, kept_close=1, fallback="nothing: x")
    total = GuardReport.total([a.to_dict(), None, b.to_dict()])
    assert (total.rows, total.kept_copies, total.kept_close, total.fallback) == (15, 3, 1, "nothing: x")
    assert GuardReport.total([{"rows": 3, "replaced": 0, "exact_copies": 0, "too_close": 0, "redraws": 0,
                               "threshold": 0.0, "quantile": 0.01}]).fallback is None  # older reports


def test_sample_reports_the_fallback_of_a_three_category_table(adult, tiny_settings):
    df = three_categories(adult, n=300)
    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    out = synth.sample(50, privacy_guard=True)
    report = out.attrs["privacy_guard"]
    assert report["fallback"].startswith("nothing: ") and report["kept_copies"] == 50


@pytest.mark.parametrize("value", [-0.1, 1.0, 2, "yes", [0.1]])
def test_privacy_guard_values_are_checked(copying, value):
    _, synth = copying
    accepted = r"False, True \(quantile 0.01\) or a quantile in \[0, 1\)"
    with pytest.raises(ValueError, match=r"privacy_guard must be " + accepted):
        synth.sample(3, privacy_guard=value)
