"""Imputation on Adult: TabSynthesizer.impute against mean/mode imputation, 20% of cells hidden.

    python benchmarks/impute.py                 # about 1 min on 2 cores once the model is cached (fitting it: 5 min)

The default TabSynthesizer on Adult's benchmark training split
(benchmarks/_adult_model.py) fills the holdout rows with 20% of their cells hidden
at random (seed 0). The holdout rows used are those the model can take (categories
seen in training, numbers in the training range); the rest are counted. Scores on
the hidden cells only: accuracy for categorical columns, RMSE divided by the
column's training standard deviation for numerical ones; the baseline fills with
the training mean (numbers) and mode (categories). Writes
benchmarks/results/impute.json and .md.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _adult_model import adult_model, adult_split, write_results  # noqa: E402

HIDDEN = 0.2


def usable(train: pd.DataFrame, rows: pd.DataFrame, specs) -> pd.Series:
    """Rows whose every present value the model accepts (missing cells are imputed, like hidden ones)."""
    ok = pd.Series(True, index=rows.index)
    for s in specs:
        seen, col = train[s.name].dropna(), rows[s.name]
        fine = col.isin(set(seen)) if s.kind == "categorical" else col.between(seen.min(), seen.max())
        ok &= fine | col.isna()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args(argv)
    synth, _ = adult_model()
    train, holdout, _ = adult_split()
    specs = synth.columns_
    keep = usable(train, holdout, specs)
    truth = holdout[keep].reset_index(drop=True)
    hide = np.random.default_rng(0).random(truth.shape) < HIDDEN
    hide &= truth.notna().to_numpy()  # score only cells that had a value
    holes = truth.mask(hide)
    baseline = {s.name: train[s.name].mode()[0] if s.kind == "categorical" else train[s.name].mean() for s in specs}
    runs = {}
    for draws in args.draws:
        start = time.perf_counter()
        runs[f"impute, draws={draws}"] = (synth.impute(holes, draws=draws, random_state=0), time.perf_counter() - start)
        print(f"draws={draws}: {runs[f'impute, draws={draws}'][1]:.0f} s", flush=True)
    runs["mean / mode"] = (holes.fillna(baseline), 0.0)

    per_column, totals = [], {}
    for method, (filled, seconds) in runs.items():
        acc, err = [], []
        for j, s in enumerate(specs):
            cells = hide[:, j]
            if not cells.any():
                continue
            real, got = truth.loc[cells, s.name], filled.loc[cells, s.name]
            if s.kind == "categorical":
                score = float((real.to_numpy() == got.to_numpy()).mean())
                acc.append(score)
            else:
                score = float(np.sqrt(np.mean((real.to_numpy(float) - got.to_numpy(float)) ** 2)) / train[s.name].std())
                err.append(score)
            per_column.append({"method": method, "column": s.name, "kind": s.kind, "cells": int(cells.sum()),
                               "score": score})
        totals[method] = {"seconds": seconds, "categorical_accuracy": float(np.mean(acc)),
                          "numerical_rmse_over_std": float(np.mean(err))}
    record = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "hidden_share": HIDDEN,
              "holdout_rows_used": len(truth), "holdout_rows_skipped": int((~keep).sum()),
              "hidden_cells": int(hide.sum()), "totals": totals, "per_column": per_column}
    methods = list(runs)
    lines = [
        f"Adult: {len(truth):,} holdout rows ({int((~keep).sum())} skipped: values unseen in training), "
        f"{int(hide.sum()):,} cells hidden ({HIDDEN:.0%}); {record['date'][:10]}; `python benchmarks/impute.py`",
        "",
        "| method | categorical accuracy (mean over columns) | numerical RMSE / std (mean over columns) | seconds |",
        "|---|---|---|---|",
        *[f"| {m} | {totals[m]['categorical_accuracy']:.4f} | {totals[m]['numerical_rmse_over_std']:.4f} "
          f"| {totals[m]['seconds']:.1f} |" for m in methods],
        "",
        "| column | kind | hidden cells | " + " | ".join(methods) + " |",
        "|---|---|---|" + "---|" * len(methods),
    ]
    for s in specs:
        scores = {r["method"]: r for r in per_column if r["column"] == s.name}
        if scores:
            first = next(iter(scores.values()))
            lines.append(f"| {s.name} | {s.kind} ({'accuracy' if s.kind == 'categorical' else 'RMSE / std'}) "
                         f"| {first['cells']} | " + " | ".join(f"{scores[m]['score']:.4f}" for m in methods) + " |")
    write_results("impute", record, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
