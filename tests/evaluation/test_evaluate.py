"""evaluate() end to end on real Adult rows: the scores order tables the way they should."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tabsyn.evaluation import EvaluationResult, evaluate

from ._helpers import column_shuffled


@pytest.fixture(scope="module")
def fresh(adult_split):
    """Other real rows as the 'synthetic' table: what a perfect generator would give."""
    train, holdout, other = adult_split
    return evaluate(train, other, holdout=holdout, target="income")


@pytest.fixture(scope="module")
def shuffled(adult_split):
    """Each column of the training rows permuted on its own: right marginals, no pairs."""
    train, holdout, _ = adult_split
    return evaluate(train, column_shuffled(train), holdout=holdout, target="income")


@pytest.fixture(scope="module")
def copies(adult_split):
    """The training rows themselves, row order shuffled: a generator that memorised."""
    train, holdout, _ = adult_split
    return evaluate(train, train.sample(frac=1, random_state=1), holdout=holdout, target="income")


def test_fresh_real_rows_score_near_the_top(fresh):
    assert fresh.quality_score > 0.9
    assert fresh.fidelity.column_shapes > 0.9 and fresh.fidelity.column_pair_trends > 0.9
    assert abs(fresh.detection_auc - 0.5) < 0.06
    assert fresh.fidelity.data_structure == 1.0


def test_detection_against_the_holdout_is_chance_for_fresh_real_rows(fresh):
    d = fresh.detection
    assert fresh.detection_auc_holdout == d.roc_auc_holdout
    # Out-of-fold AUCs of two samples of one distribution scatter a little below 0.5.
    assert abs(d.roc_auc_holdout - 0.5) < 0.08
    assert d.n_rows_holdout == 800  # balanced like the other: min(holdout, synthetic) rows a side


def test_detection_against_the_holdout_flags_fake_rows(adult_split, shuffled, fresh):
    assert shuffled.detection_auc_holdout > fresh.detection_auc_holdout + 0.2
    train, holdout, other = adult_split
    fake = other.assign(age=other["age"] + 40, education="Preschool")  # obviously not real
    result = evaluate(train, fake, holdout=holdout)
    assert result.detection_auc_holdout > 0.99 and result.detection_auc > 0.99


def test_copies_are_caught_against_the_holdout_not_the_training_rows(copies):
    # Against the rows they copy, copies score far below chance (each row is in both
    # classes, so out of fold it predicts the opposite label); against unseen real rows
    # they are just real rows, so that AUC stays near 0.5 and does not reward copying.
    assert copies.detection_auc < 0.3
    assert abs(copies.detection_auc_holdout - 0.5) < 0.08


def test_a_holdout_leaves_the_training_rows_auc_as_it_was(adult_split, fresh):
    train, _, other = adult_split
    without = evaluate(train, other)
    assert without.detection_auc == fresh.detection_auc


def test_fresh_real_rows_are_as_useful_and_as_private_as_real_ones(fresh):
    e = fresh.efficacy
    assert (e.task, e.metric, e.target) == ("classification", "roc_auc", "income")
    assert e.real > 0.8 and abs(e.synthetic - e.real) < 0.05
    p = fresh.privacy
    assert abs(p.dcr_share - 0.5) < 0.06
    assert p.dcr_overfitting_protection > 0.85
    assert p.copy_rate < 0.01


def pair_score(result, a, b):
    d = result.fidelity.column_pair_trends_details
    return d.loc[(d["Column 1"] == a) & (d["Column 2"] == b), "Score"].item()


def test_column_shuffle_breaks_pairs_but_not_shapes(fresh, shuffled, copies):
    assert shuffled.fidelity.column_shapes > 0.99  # the same values, column by column
    # Against the same rows unshuffled, and on pairs that move together in real data:
    assert shuffled.fidelity.column_pair_trends < copies.fidelity.column_pair_trends - 0.08
    for a, b in (("education", "education-num"), ("relationship", "sex")):
        assert pair_score(shuffled, a, b) < 0.8 < pair_score(fresh, a, b)
    assert shuffled.detection_auc > fresh.detection_auc + 0.2
    assert shuffled.efficacy.synthetic < fresh.efficacy.synthetic - 0.2


def test_copies_of_training_rows_are_flagged(copies):
    # Train and holdout hold 800 rows each, so nothing is subsampled away from the copies.
    p = copies.privacy
    assert p.copy_rate > 0.99
    assert p.dcr_share > 0.95
    assert p.dcr_overfitting_protection < 0.2
    assert p.holdout_copy_rate < 0.01
    assert copies.quality_score == pytest.approx(1.0)


def test_same_random_state_same_numbers(adult_split, fresh):
    train, holdout, other = adult_split
    again = evaluate(train, other, holdout=holdout, target="income")
    assert again.to_dict()["detection"] == fresh.to_dict()["detection"]
    assert again.to_dict()["privacy"] == fresh.to_dict()["privacy"]


def test_to_dict_is_json_and_to_frame_lists_every_score(fresh):
    d = fresh.to_dict()
    json.dumps(d)
    assert set(d) == {"fidelity", "detection", "efficacy", "privacy", "info"}
    frame = fresh.to_frame()
    assert list(frame.columns) == ["section", "metric", "value"]
    assert {"quality_score", "column_pair_trends", "roc_auc", "roc_auc_holdout", "dcr_share",
            "copy_rate"} <= set(frame["metric"])
    holdout_auc = frame.loc[frame["metric"] == "roc_auc_holdout", "value"].item()
    assert holdout_auc == d["detection"]["roc_auc_holdout"] == fresh.detection.roc_auc_holdout
    assert "EvaluationResult" in str(fresh) and "roc_auc_holdout" in str(fresh)


def test_details_are_per_column_and_per_pair(fresh, adult_split):
    n_cols = adult_split[0].shape[1]
    assert len(fresh.fidelity.column_shapes_details) == n_cols
    assert len(fresh.fidelity.column_pair_trends_details) == n_cols * (n_cols - 1) // 2


def test_without_holdout_only_fidelity_and_detection(adult_split):
    train, _, other = adult_split
    result = evaluate(train.iloc[:300], other.iloc[:300])
    assert isinstance(result, EvaluationResult)
    assert result.efficacy is None and result.privacy is None
    assert result.to_dict()["privacy"] is None
    assert result.detection_auc_holdout is None
    assert result.to_dict()["detection"]["roc_auc_holdout"] is None  # the key is there, empty
    assert "roc_auc_holdout" not in set(result.to_frame()["metric"])
    assert "roc_auc_holdout" not in str(result)


def test_regression_target_with_missing_values(beijing_split):
    train, holdout = beijing_split
    result = evaluate(train, holdout.iloc[:150], holdout=holdout.iloc[150:], target="pm2.5", max_rows=600)
    e = result.efficacy
    assert (e.task, e.metric) == ("regression", "rmse")
    assert e.n_real == train["pm2.5"].notna().sum()
    assert 0 < e.real < holdout["pm2.5"].std() * 1.2 and np.isfinite(e.synthetic)


def test_max_rows_subsamples_every_table(adult_split):
    train, holdout, other = adult_split
    result = evaluate(train, other, holdout=holdout, max_rows=200)
    assert result.info["rows"] == {"real": 200, "synthetic": 200, "holdout": 200}


def mixed_table(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "f": rng.normal(size=n),
        "i": rng.integers(0, 1000, n),
        "b": rng.random(n) > 0.3,
        "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
        "d": pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        "key": [f"K{seed}-{i:05d}" for i in range(n)],
        "s": np.where(rng.random(n) < 0.1, None, rng.choice(["p", "q"], n)),
    })


def test_every_column_kind_end_to_end_without_warnings(tmp_path):
    real, synthetic, holdout = mixed_table(0), mixed_table(1), mixed_table(2)
    synthetic["i"] = synthetic["i"].astype(float)  # integers come back as floats: still numbers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(real, synthetic, holdout=holdout, target="b")
        result.to_html(tmp_path / "report.html")
    assert result.info["kinds"] == {"f": "numerical", "i": "numerical", "b": "categorical",
                                    "c": "categorical", "d": "datetime", "key": "id", "s": "categorical"}
    assert abs(result.detection_auc - 0.5) < 0.1 and result.privacy.copy_rate == 0.0


def test_verbose_says_on_stderr_which_part_runs_and_in_how_many_seconds_it_was_done(adult_split, capsys):
    train, holdout, other = adult_split
    result = evaluate(train.iloc[:200], other.iloc[:200], holdout=holdout.iloc[:200], target="income", verbose=True)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    for part in ("fidelity", "detection", "efficacy", "privacy"):
        started = [i for i, line in enumerate(lines) if line.startswith(f"evaluate: {part} (")]
        done = lines.index(f"evaluate: {part} done in {result.info['seconds'][part]:.1f} s")
        assert len(started) == 1 and started[0] < done
    assert out == ""
    evaluate(train.iloc[:200], other.iloc[:200])  # quiet by default
    assert "evaluate:" not in capsys.readouterr().err
