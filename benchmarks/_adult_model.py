"""The default TabSynthesizer fitted on Adult's benchmark training split, fitted once and cached.

The issue-5 benchmarks (privacy guard, conditional sampling, imputation, memory) all
start from the same model: Adult shuffled with seed 0, first 80% train (as in
benchmarks/suite.py), ``TabSynthesizer(random_state=0)`` at default settings. The
model file goes to benchmarks/.cache/ (not committed: a model file holds the
training rows, encoded, for the privacy guard), beside the default preset it was fitted
at; when the default preset changes, the next benchmark fits the model again rather than
reporting figures of the old default. Their figures go to benchmarks/results/ through
:func:`write_results`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import tabsyn
from tabsyn import TabSynthesizer
from tabsyn.datasets import load_adult, train_holdout_split
from tabsyn.tabular.presets import PRESETS

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
MODEL = CACHE / "adult_default.tabsyn"
PRESET = CACHE / "adult_default.preset.json"  # the default preset MODEL was fitted at


def adult_split():
    """(train, holdout, target) under the benchmark protocol."""
    df, target, _ = load_adult()
    train, holdout = train_holdout_split(df, seed=0)
    return train, holdout, target


def adult_model(verbose: bool = True) -> tuple[TabSynthesizer, float | None]:
    """The cached model (fitting it first if needed, or again if the default preset changed since) and
    the fit seconds when fitted now."""
    preset = json.dumps(asdict(PRESETS["default"]), sort_keys=True)
    if MODEL.exists() and PRESET.exists() and PRESET.read_text() == preset:
        return tabsyn.load(MODEL), None
    train, _, _ = adult_split()
    start = time.perf_counter()
    synth = TabSynthesizer(random_state=0, verbose=verbose).fit(train)
    seconds = time.perf_counter() - start
    CACHE.mkdir(parents=True, exist_ok=True)
    synth.save(MODEL)
    PRESET.write_text(preset)
    return synth, seconds


def write_results(stem: str, record, lines: list[str] | None = None) -> None:
    """Write ``results/<stem>.json`` (and ``results/<stem>.md`` from ``lines``, also printed)."""
    folder = HERE / "results"
    folder.mkdir(exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(record, indent=2, default=str))
    if lines is not None:
        (folder / f"{stem}.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
