"""Fit seconds of the default TabSynthesizer on a wide table: 1,000 rows x 500 columns made from Adult.

The table is the first 1,000 rows of Adult's shuffled training split (the suite's protocol,
seed 0), its 15 columns repeated until there are 500; copy k of a column is the column
rolled down by k rows, so every copy keeps the real column's values and marginal while the
copies of a row come from different people. The fit runs in this process with the budgets
``resolve_settings`` picks for it; the seconds of each stage are read from the histories.
Writes ``benchmarks/results/wide_table.json`` and prints one JSON line.

    OMP_NUM_THREADS=1 python benchmarks/wide_table.py --threads 1
    python benchmarks/wide_table.py --rows 1000 --columns 200 --preset fast
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SEED, machine, split, versions  # noqa: E402

from tabsyn import TabSynthesizer  # noqa: E402
from tabsyn.evaluation.detection import detection  # noqa: E402

HERE = Path(__file__).resolve().parent


def wide_adult(rows: int, columns: int) -> pd.DataFrame:
    """``rows`` rows of Adult's training split, its columns repeated (copy k rolled by k rows) to ``columns``."""
    base = split("adult")[0].iloc[:rows].reset_index(drop=True)
    parts = {}
    for k in range(-(-columns // base.shape[1])):
        for name in base.columns:
            values = base[name].to_numpy()
            parts[f"{name}_{k}"] = pd.Series(np.roll(values, k), dtype=base[name].dtype)
    return pd.DataFrame(parts).iloc[:, :columns]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=500)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--threads", type=int, default=None, help="n_jobs of the fit (default: the idle cores)")
    parser.add_argument("--detection", action="store_true", help="also the detection AUC of a sample")
    parser.add_argument("--out", default=str(HERE / "results" / "wide_table.json"))
    args = parser.parse_args(argv)
    df = wide_adult(args.rows, args.columns)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synth = TabSynthesizer(preset=args.preset, n_jobs=args.threads, random_state=SEED, verbose=False).fit(df)
    seconds = time.perf_counter() - start
    s, h = synth.settings_, synth.history_
    record = {"rows": args.rows, "columns": args.columns, "preset": args.preset, "fit_seconds": seconds,
              "fit_seconds_attribute": synth.fit_seconds_, "torch_threads": args.threads,
              "vae_seconds": h["vae"].records[-1]["seconds"],
              "diffusion_seconds": h["diffusion"].records[-1]["seconds"],
              "batch_size": s["batch_size"], "vae_steps": s["vae_steps"], "diffusion_steps": s["diffusion_steps"],
              "diffusion_stop": h["diffusion"].stop_reason, "vae_val_recon": h["vae"].best_value,
              "diffusion_val_loss": h["diffusion"].best_value,
              "fit_stages": getattr(synth, "fit_stages_", None),
              "estimate": {k: getattr(synth.fit_estimate_, k) for k in ("vae_seconds", "denoiser_seconds")}
              if hasattr(synth, "fit_estimate_") else None,
              "warnings": [str(w.message) for w in caught if issubclass(w.category, UserWarning)]}
    if args.detection:  # how well the rows drawn follow the table (0.5: indistinguishable)
        specs = synth.columns_
        synthetic = synth.sample(len(df), random_state=SEED)
        record["detection_auc"] = detection(df, synthetic, specs, seed=SEED).roc_auc
    print(json.dumps(record), flush=True)
    out = {"machine": machine(), "versions": versions(), "result": record,
           "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": "python benchmarks/wide_table.py " + " ".join(argv or sys.argv[1:])}
    Path(args.out).write_text(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
