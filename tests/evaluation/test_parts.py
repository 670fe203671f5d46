"""The pieces behind evaluate(): the tree encoding, efficacy edge cases, detection."""

import numpy as np
import pandas as pd

from tabsyn.evaluation._checks import resolve_specs
from tabsyn.evaluation.detection import detection
from tabsyn.evaluation.efficacy import efficacy
from tabsyn.evaluation.encoding import TreeEncoding


def test_tree_encoding_codes_int_and_float_categories_alike(mixed_table):
    specs = resolve_specs(mixed_table)
    as_float = mixed_table.assign(code=mixed_table["code"].astype(float))
    enc = TreeEncoding(specs).fit(mixed_table, as_float)
    assert [s.name for s in enc.specs] == ["num", "code", "text", "when"]
    np.testing.assert_array_equal(enc.transform(mixed_table), enc.transform(as_float))
    X = enc.transform(mixed_table)
    assert np.isnan(X[2, 2]) and not np.isnan(X[0, 2])  # missing category stays NaN
    assert list(enc.categorical_mask_) == [False, True, True, False]


def test_detection_is_chance_on_one_distribution_and_certain_on_two():
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(list("ab"), 1000)})
    b = pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(list("ab"), 1000)})
    specs = resolve_specs(a)
    assert abs(detection(a, b, specs, seed=0).roc_auc - 0.5) < 0.05
    assert detection(a, b.assign(x=b["x"] + 5), specs, seed=0).roc_auc > 0.99


def test_detection_against_a_holdout_balances_rows_and_keeps_the_training_score():
    rng = np.random.default_rng(1)
    frame = lambda n, shift=0.0: pd.DataFrame({  # noqa: E731
        "x": rng.normal(size=n) + shift, "c": rng.choice(list("ab"), n)})
    train, synthetic, holdout = frame(1000), frame(1000), frame(300)
    specs = resolve_specs(train)
    alone = detection(train, synthetic, specs, seed=0)
    assert alone.roc_auc_holdout is None and alone.n_rows_holdout is None
    both = detection(train, synthetic, specs, seed=0, holdout=holdout, holdout_seed=7)
    assert (both.roc_auc, both.n_rows) == (alone.roc_auc, alone.n_rows)
    assert both.n_rows_holdout == 300 and abs(both.roc_auc_holdout - 0.5) < 0.08
    shifted = detection(train, synthetic, specs, seed=0, holdout=frame(300, shift=5.0))
    assert shifted.roc_auc_holdout > 0.99 and abs(shifted.roc_auc - 0.5) < 0.05


def test_efficacy_when_synthetic_has_one_class_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    real = pd.DataFrame({"x": x, "y": np.where(x > 0, "yes", "no")})
    synthetic = real.assign(y="no")
    specs = resolve_specs(real)
    e = efficacy(real, synthetic, real, "y", specs, seed=0)
    assert e.synthetic == 0.5 and e.real > 0.99


def test_efficacy_multiclass_with_a_class_missing_from_synthetic():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3, size=600)
    real = pd.DataFrame({"x": x, "y": np.floor(x).astype(int).astype(str)})
    synthetic = real[real["y"] != "2"]
    e = efficacy(real, synthetic, real, "y", resolve_specs(real), seed=0)
    assert e.task == "classification" and e.real > 0.99 and 0.5 < e.synthetic < e.real


def test_efficacy_binary_target_with_a_class_only_the_synthetic_rows_hold():
    """A DP model may write a binary target's "(other)" level; the task stays binary (it crashed)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    real = pd.DataFrame({"x": x, "y": np.where(x > 0, "yes", "no")})
    synthetic = real.copy()
    synthetic.loc[:20, "y"] = "(other)"
    e = efficacy(real, synthetic, real, "y", resolve_specs(real), seed=0)
    assert e.task == "classification" and e.real > 0.99 and e.synthetic > 0.95


def test_privacy_takes_nullable_integers_with_missing_values():
    """sdmetrics' DCR fails on pd.NA (flights' delays are Int64 with missing values); they go in as float NaN."""
    from tabsyn.evaluation.privacy import privacy

    rng = np.random.default_rng(0)

    def table(n):
        delay = pd.array(rng.integers(-20, 200, n), dtype="Int64")
        delay[rng.random(n) < 0.1] = pd.NA
        return pd.DataFrame({"delay": delay, "carrier": rng.choice(["AA", "UA", "B6"], n)})

    real, synthetic, holdout = table(300), table(200), table(100)
    result = privacy(real, synthetic, holdout, resolve_specs(real), seed=0)
    assert 0 <= result.dcr_overfitting_protection <= 1 and 0 <= result.dcr_share <= 1
