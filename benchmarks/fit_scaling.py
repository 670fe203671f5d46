"""Fit seconds of the default TabSynthesizer against table size: 2, 30, 200 and 2,000-row slices of Adult.

Each slice is the first N rows of Adult's shuffled training split (the suite's protocol,
seed 0); each fit runs in this process, one after another, with the budgets
``resolve_settings`` picks for it. Writes ``benchmarks/results/fit_scaling.json`` and
prints a markdown table.

    python benchmarks/fit_scaling.py                  # about 2 minutes on 2 cores
    python benchmarks/fit_scaling.py --rows 2000 26048
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SEED, machine, split, versions  # noqa: E402

from tabsyn import TabSynthesizer  # noqa: E402

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2, 30, 200, 2000])
    args = parser.parse_args(argv)
    train, _, _ = split("adult")
    results = []
    for n in args.rows:
        df = train.iloc[:n].reset_index(drop=True)
        start = time.perf_counter()
        synth = TabSynthesizer(random_state=SEED, verbose=False).fit(df)
        seconds = time.perf_counter() - start
        s = synth.settings_
        record = {"rows": n, "fit_seconds": seconds, "batch_size": s["batch_size"], "vae_steps": s["vae_steps"],
                  "diffusion_steps": s["diffusion_steps"],
                  "diffusion_epochs_run": len(synth.history_["diffusion"].records),
                  "stop_reason": synth.history_["diffusion"].stop_reason}
        results.append(record)
        print(json.dumps(record), flush=True)
    out = {"torch_threads": torch.get_num_threads(), "machine": machine(), "versions": versions(), "results": results,
           "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": "python benchmarks/fit_scaling.py " + " ".join(argv or sys.argv[1:])}
    (HERE / "results" / "fit_scaling.json").write_text(json.dumps(out, indent=2, default=str))
    print("| rows | fit s | batch | VAE steps | diffusion steps (budget) | diffusion epochs run | stop |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['rows']:,} | {r['fit_seconds']:.1f} | {r['batch_size']} | {r['vae_steps']} | "
              f"{r['diffusion_steps']} | {r['diffusion_epochs_run']} | {r['stop_reason']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
