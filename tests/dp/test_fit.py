"""A DP fit: what it spends, what it stores, and the errors around it (real Adult rows, tiny budgets)."""

from __future__ import annotations

import builtins

import numpy as np
import pandas as pd
import pytest

from tabsyn import TabSynthesizer
from tabsyn.cli import main
from tabsyn.dp.fit import BudgetError, DPPlan, check_budget, default_delta
from tabsyn.dp.sgd import calibrate_noise, composed_epsilon

TINY_DP = dict(preset="fast", vae_steps=4, diffusion_steps=6, sampling_steps=3, verbose=False, random_state=0)


@pytest.fixture(scope="module")
def named(adult):
    """600 Adult rows plus a column of names that each occur once (what must never reach the file)."""
    df = adult.sample(n=600, random_state=1).reset_index(drop=True)
    df["name"] = [f"Person{i:04d}Q" for i in range(len(df))]
    return df


@pytest.fixture(scope="module")
def dp_model(named):
    return TabSynthesizer(dp_epsilon=3.0, **TINY_DP).fit(named)


@pytest.mark.parametrize("epsilon,q,steps", [(1.0, 0.03, 300), (3.0, 0.1, 50), (10.0, 0.5, 20)])
def test_calibrated_noise_never_spends_more_than_asked(epsilon, q, steps):
    delta = 1e-5
    sigma = calibrate_noise(epsilon, delta, [(q, steps), (q, 2 * steps)], [(20.0, 1.0, 2)])
    spent = composed_epsilon([(sigma, q, steps), (sigma, q, 2 * steps), (20.0, 1.0, 2)], delta)
    assert spent <= epsilon and spent > 0.97 * epsilon  # within budget, and not wastefully below it
    assert composed_epsilon([(0.9 * sigma, q, steps), (0.9 * sigma, q, 2 * steps), (20.0, 1.0, 2)], delta) > epsilon


def test_dp_fit_spends_at_most_its_budget_and_says_how(dp_model, named):
    p = dp_model.privacy_
    assert p["epsilon"] == 3.0 and p["delta"] == pytest.approx(default_delta(len(named)))
    assert p["spent_epsilon"] <= p["epsilon"] + 1e-9
    split = p["split"]
    assert split["preprocessing"]["epsilon"] + split["gaussian"]["epsilon"] == pytest.approx(3.0)
    assert split["vae"]["steps"] == 4 and split["denoiser"]["steps"] == 6
    assert dp_model.settings_["dp"] == split and dp_model.guard_ is None
    assert all("train_loss" not in r and "val_loss" not in r for h in dp_model.history_.values() for r in h.records)
    out = dp_model.sample(200, random_state=0)
    assert list(out.columns) == list(named.columns) and len(out) == 200
    assert not out["name"].isin(named["name"]).any()  # the name column is text: its rare values merged


def test_dp_model_file_holds_no_training_rows(dp_model, named, tmp_path):
    path = tmp_path / "dp.tabsyn"
    dp_model.save(path)
    blob = path.read_bytes()
    assert not any(name.encode() in blob for name in named["name"])
    loaded = TabSynthesizer.load(path) if hasattr(TabSynthesizer, "load") else __import__("tabsyn").load(path)
    assert loaded.guard_ is None and loaded.privacy_ == dp_model.privacy_
    with pytest.raises(ValueError, match="differential privacy.*privacy_guard=False"):
        loaded.sample(10, privacy_guard=True)


@pytest.mark.parametrize("kw,message", [
    (dict(dp_epsilon=0), "dp_epsilon must be a positive finite number"),
    (dict(dp_epsilon=float("inf")), "dp_epsilon must be a positive finite number"),
    (dict(dp_epsilon="3"), "dp_epsilon must be a positive finite number"),
    (dict(dp_epsilon=1.0, dp_delta=0.5), r"dp_delta must be in \(0, 1/n\)"),
    (dict(dp_epsilon=1.0, dp_delta=0.0), r"dp_delta must be in \(0, 1/n\)"),
    (dict(dp_delta=1e-6), "dp_delta=1e-06 needs dp_epsilon"),
])
def test_bad_budgets_are_refused_before_any_work(named, kw, message):
    with pytest.raises(ValueError, match=message):
        TabSynthesizer(**{**TINY_DP, **kw}).fit(named)


def test_an_unreachable_budget_says_what_would_meet_it():
    with pytest.raises(BudgetError, match="cannot be met.*larger epsilon, fewer steps"):
        DPPlan.make(0.01, 1e-6, 600, 512, 400, 2000)
    plan = DPPlan.make(10.0, 1e-6, 30_000, 1024, 400, 2000)
    assert 0 < plan.noise_multiplier < 2 and plan.spent(400, 2000)["spent_epsilon"] <= 10.0
    assert check_budget(2, None, 1000) == (2.0, 1e-4)


def test_missing_opacus_names_the_extra(named, monkeypatch):
    real_import = builtins.__import__

    def no_opacus(name, *args, **kwargs):
        if name.startswith("opacus"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_opacus)
    with pytest.raises(ImportError, match=r'pip install "tabsyn\[dp\]"'):
        TabSynthesizer(dp_epsilon=1.0, **TINY_DP).fit(named)


def test_cli_fit_with_dp_epsilon_then_sample(named, tmp_path, capsys):
    data, model, out = tmp_path / "t.csv", tmp_path / "m.tabsyn", tmp_path / "out.csv"
    named.drop(columns=["name"]).to_csv(data, index=False)
    assert main(["fit", str(data), "-o", str(model), "--dp-epsilon", "5", "--vae-steps", "3",
                 "--diffusion-steps", "4", "--preset", "fast", "--quiet", "--seed", "0"]) == 0
    printed = capsys.readouterr().out
    assert "differential privacy: (" in printed and "of the 5 asked for" in printed and "no training rows" in printed
    assert main(["sample", str(model), "-n", "50", "-o", str(out), "--seed", "1"]) == 0
    assert "privacy guard: off" in capsys.readouterr().out
    assert len(pd.read_csv(out)) == 50
    assert main(["fit", str(data), "-o", str(model), "--dp-epsilon", "-1", "--quiet"]) == 2
    assert "dp_epsilon must be a positive finite number (e.g. 1, 3 or 10); got -1.0" in capsys.readouterr().err


def test_dp_columns_are_kinds_by_dtype_and_keys_unread(adult):
    from tabsyn.dp.columns import OTHER, private_columns
    from tabsyn.table.schema import infer_schema

    df = adult.copy()
    df["row_id"] = np.arange(1000, 1000 + len(df))
    pc = private_columns(df, infer_schema(df), 1.0, 1e-6, np.random.default_rng(0))
    kinds = {s.name: s.kind for s in pc.specs}
    assert kinds["row_id"] == "id" and kinds["age"] == "numerical" and kinds["workclass"] == "categorical"
    assert pc.surrogate["row_id"].tolist() == list(range(len(pc.surrogate)))  # the same whatever the keys
    assert OTHER in set(pc.surrogate["native-country"])  # 9% of Adult's rows are of rare countries
    assert OTHER not in set(pc.surrogate["income"])       # two levels, both released: nothing to merge
    prepared = pc.prepare(df)
    released, merged = pc.levels["native-country"]
    assert merged == OTHER and set(prepared["native-country"].dropna()) <= set(released) | {OTHER}


def test_surrogate_keeps_every_released_level_beside_missing_cells():
    """Missing cells used to overwrite surrogate rows: a released level with one surrogate row vanished, and
    the codec then refused the real rows holding it."""
    from tabsyn.dp.columns import SURROGATE_ROWS, private_columns
    from tabsyn.table.schema import infer_schema
    from tabsyn.tabular.codec import TableCodec

    # 60 levels of 3 rows: one surrogate row each, some of which the evenly spaced missing cells overwrote.
    levels = ["big"] * 5000 + ["mid"] * 900 + [f"rare{i}" for i in range(60) for _ in range(3)] + [None] * 900
    df = pd.DataFrame({"c": levels, "x": np.arange(len(levels), dtype=float)})
    pc = private_columns(df, infer_schema(df), 1000.0, 1e-6, np.random.default_rng(0))
    released, merged = pc.levels["c"]
    assert set(released) >= {f"rare{i}" for i in range(60)} and set(pc.surrogate["c"].dropna()) >= set(released)
    assert len(pc.surrogate) >= SURROGATE_ROWS and pc.surrogate["c"].isna().any()
    codec = TableCodec().fit(pc.surrogate, pc.specs)
    x_num, x_cat = codec.encode(pc.prepare(df))
    assert len(x_cat) == len(df)
