"""Sampling speed against fidelity: Heun steps, network precision and row-block size, on one fitted model.

Fits ``TabSynthesizer()`` (defaults) once on a table's training split (the suite's
protocol: shuffle seed 0, 80/20), keeps the model in ``benchmarks/.cache/``, then
samples as many rows as the training split under each sampling configuration and
scores them with ``tabsyn.evaluate`` (quality, pair trends, detection AUC against the
training rows and against the holdout). Rows/s is the median of ``--repeats`` timed
runs of 8,192 rows, after a warm-up. Writes ``benchmarks/results/sampling_speed_<table>.json``
and prints a markdown table (pasted into benchmarks/ABLATIONS.md).

    python benchmarks/sampling_speed.py --dataset adult                 # about 10 minutes on 2 cores
    python benchmarks/sampling_speed.py --dataset default --steps 30 12
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SEED, machine, split, versions  # noqa: E402

import tabsyn  # noqa: E402
from tabsyn import TabSynthesizer  # noqa: E402

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def fitted(dataset: str, train) -> TabSynthesizer:
    """The default model of ``dataset``'s training split, fitted once and cached (keyed by the tabsyn commit)."""
    path = CACHE / f"sampling_speed_{dataset}.tabsyn"
    if path.exists():
        return tabsyn.load(path)
    start = time.perf_counter()
    synth = TabSynthesizer(random_state=SEED, verbose=False).fit(train)
    print(f"fit {dataset}: {time.perf_counter() - start:.0f} s", flush=True)
    CACHE.mkdir(exist_ok=True)
    synth.save(path)
    return synth


def rows_per_second(synth: TabSynthesizer, repeats: int, n: int = 8192) -> float:
    synth.sample(1024, random_state=1)  # warm-up
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        synth.sample(n, random_state=100 + r, batch_size=n)
        times.append(time.perf_counter() - start)
    return n / float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--steps", type=int, nargs="+", default=[30, 20, 15, 12, 10, 8])
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--blocks", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    train, holdout, target = split(args.dataset)
    synth = fitted(args.dataset, train)
    model = synth.model_
    results = []
    for block in args.blocks:
        for precision in args.precisions:
            for steps in args.steps:
                model.sampling_steps, model.precision, model.row_block = steps, precision, block
                speed = rows_per_second(synth, args.repeats)
                start = time.perf_counter()
                synthetic = synth.sample(len(train), random_state=SEED)
                seconds = time.perf_counter() - start
                scores = tabsyn.evaluate(train, synthetic, holdout=holdout, target=target,
                                         random_state=SEED).to_dict()
                det = scores["detection"]
                record = {"steps": steps, "precision": precision, "row_block": block, "rows_per_second": speed,
                          "sample_seconds": seconds, "quality": scores["fidelity"]["quality_score"],
                          "pair_trends": scores["fidelity"]["column_pair_trends"],
                          "column_shapes": scores["fidelity"]["column_shapes"],
                          "detection_train": det["roc_auc"], "detection_holdout": det.get("roc_auc_holdout"),
                          "efficacy": scores.get("efficacy", {}).get("synthetic")}
                results.append(record)
                print(json.dumps(record), flush=True)
    out = {"dataset": args.dataset, "rows": len(train), "torch_threads": torch.get_num_threads(),
           "machine": machine(), "versions": versions(), "results": results,
           "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": "python benchmarks/sampling_speed.py " + " ".join(argv or sys.argv[1:])}
    (HERE / "results" / f"sampling_speed_{args.dataset}.json").write_text(json.dumps(out, indent=2, default=str))
    print("| block | precision | Heun steps | rows/s | quality | pair trends | detection (train) "
          "| detection (holdout) | ML efficacy |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        hold = "-" if r["detection_holdout"] is None else f"{r['detection_holdout']:.3f}"
        eff = "-" if r["efficacy"] is None else f"{r['efficacy']:.3f}"
        print(f"| {r['row_block']} | {r['precision']} | {r['steps']} | {r['rows_per_second']:,.0f} "
              f"| {r['quality']:.4f} | {r['pair_trends']:.4f} | {r['detection_train']:.3f} | {hold} | {eff} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
