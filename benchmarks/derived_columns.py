"""Derived columns on decode: the same model's rows with and without them, from the same noise.

Fits ``TabSynthesizer()`` (defaults) once on a table's training split (the suite's
protocol: shuffle seed 0, 80/20), kept in ``benchmarks/.cache/derived_columns_<table>.tabsyn``,
then samples as many rows as the training split for each seed twice: as fitted (every
column the codec found to be a function of another is written from it,
``tabsyn/tabular/codec/dependencies.py``) and with the codec's derivations removed
(each column decoded from its own code, as before). Both are scored with
``tabsyn.evaluate``, and for each derived pair the share of rows holding a
(source, target) combination the training rows never had. Writes
``benchmarks/results/derived_columns_<table>.json`` and prints a markdown table.

    python benchmarks/derived_columns.py                    # Adult: about 5 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SEED, machine, split, stamp, versions  # noqa: E402

import tabsyn  # noqa: E402
from tabsyn import TabSynthesizer  # noqa: E402

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def unseen_share(train, synthetic, source, target) -> float:
    """Share of synthetic rows whose (source, target) pair no training row has."""
    seen = set(zip(train[source].astype(str), train[target].astype(str)))
    pairs = zip(synthetic[source].astype(str), synthetic[target].astype(str))
    return float(np.mean([p not in seen for p in pairs]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--seeds", type=int, default=3, help="samples per variant (seeds 0, 1, ...)")
    args = parser.parse_args(argv)
    train, holdout, target = split(args.dataset)
    path = CACHE / f"derived_columns_{args.dataset}.tabsyn"
    if path.exists():
        synth = tabsyn.load(path)
    else:
        synth = TabSynthesizer(random_state=SEED, verbose=False).fit(train)
        CACHE.mkdir(exist_ok=True)
        synth.save(path)
    codec = synth.model_.codec
    derived, pairs = list(codec.derived), codec.derived_columns()
    if not derived:
        print(f"{args.dataset}: no derived columns")
        return 0
    results = []
    for variant, kept in (("derived", derived), ("not derived", [])):
        codec.derived = kept
        for seed in range(SEED, SEED + args.seeds):
            start = time.perf_counter()
            synthetic = synth.sample(len(train), random_state=seed)
            seconds = time.perf_counter() - start
            scores = tabsyn.evaluate(train, synthetic, holdout=holdout, target=target, random_state=SEED).to_dict()
            record = {"variant": variant, "seed": seed, "sample_seconds": seconds,
                      "quality": scores["fidelity"]["quality_score"],
                      "pair_trends": scores["fidelity"]["column_pair_trends"],
                      "detection_train": scores["detection"]["roc_auc"],
                      "detection_holdout": scores["detection"]["roc_auc_holdout"],
                      "unseen_pairs": {f"{t} of {s}": unseen_share(train, synthetic, s, t) for t, s in pairs}}
            results.append(record)
            print(json.dumps(record), flush=True)
    codec.derived = derived
    out = {"dataset": args.dataset, "rows": len(train), "derived_columns": [list(p) for p in pairs],
           "fit_seconds": synth.fit_seconds_, "machine": machine(), "versions": versions(), "results": results,
           **stamp(__file__, argv)}
    (HERE / "results" / f"derived_columns_{args.dataset}.json").write_text(json.dumps(out, indent=2, default=str))
    print("| decode | samples | quality | pair trends | detection (train) | detection (holdout) | unseen pairs |")
    print("|---|---|---|---|---|---|---|")
    for variant in ("derived", "not derived"):
        rows = [r for r in results if r["variant"] == variant]
        mean = {k: float(np.mean([r[k] for r in rows])) for k in
                ("quality", "pair_trends", "detection_train", "detection_holdout")}
        unseen = ", ".join(f"{k} {np.mean([r['unseen_pairs'][k] for r in rows]):.2%}" for k in rows[0]["unseen_pairs"])
        print(f"| {variant} | {len(rows)} | {mean['quality']:.4f} | {mean['pair_trends']:.4f} "
              f"| {mean['detection_train']:.3f} | {mean['detection_holdout']:.3f} | {unseen} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
