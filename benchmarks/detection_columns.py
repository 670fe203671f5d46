"""Which columns give synthetic rows away: detection AUC of each column alone, and of the table without it.

Loads a model cached by ``benchmarks/sampling_speed.py --name NAME`` or kept by ``benchmarks/peers.py
--save-models`` (``peers_<table>``) in ``benchmarks/.cache/NAME.tabsyn``, samples
as many rows as the table's training split (seed 0), and scores with the same classifier and protocol
as ``tabsyn.evaluate``'s detection (against the holdout, which the model never saw):

- the whole table's AUC;
- each column alone (a marginal the model gets wrong shows here);
- the table without each column (a column whose loss drops the AUC most carries the most signal,
  marginal or joint).

A column high alone is a shape problem; one low alone but whose removal drops the whole AUC is a
joint (pair or higher) problem. Writes ``benchmarks/results/detection_columns_NAME.json``.

    python benchmarks/sampling_speed.py --dataset default ... --name abl_epyc_default   # fits and caches
    python benchmarks/detection_columns.py --dataset default --model abl_epyc_default    # a few minutes
    python benchmarks/detection_columns.py --dataset default --model abl_epyc_default --groups 'BILL_AMT*'
    python benchmarks/detection_columns.py --dataset adult --model peers_adult    # after peers.py --save-models
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SEED, machine, split, stamp, versions  # noqa: E402

import tabsyn  # noqa: E402
from tabsyn.evaluation import _checks  # noqa: E402
from tabsyn.evaluation.detection import DETECTION_ROWS, _c2st  # noqa: E402

HERE = Path(__file__).resolve().parent


def auc(real, synthetic, specs, columns) -> float:
    """Out-of-fold detection AUC on ``columns`` only (the evaluation's classifier, 3 folds)."""
    keep = [s for s in specs if s.name in columns]
    return _c2st(real[columns], synthetic[columns], keep, seed=SEED, n_folds=3, max_rows=DETECTION_ROWS)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="default")
    parser.add_argument("--model", required=True, help="benchmarks/.cache/MODEL.tabsyn")
    parser.add_argument("--groups", nargs="*", default=[], metavar="PATTERN",
                        help="also score column groups, alone and left out: shell patterns, comma-joined "
                             "for one group of several ('BILL_AMT*' 'BILL_AMT*,PAY_AMT*')")
    args = parser.parse_args(argv)
    path = HERE / ".cache" / f"{args.model}.tabsyn"
    if not path.exists():
        parser.error(f"--model {args.model!r}: no fitted model at {path}; fit one with "
                     f"python benchmarks/sampling_speed.py --dataset {args.dataset} --name {args.model}, or keep "
                     f"the peer run's with python benchmarks/peers.py --save-models (peers_{args.dataset})")
    train, holdout, _ = split(args.dataset)
    synth = tabsyn.load(path)
    synthetic = synth.sample(len(train), random_state=SEED)
    specs = _checks.resolve_specs(train, None)
    columns = [s.name for s in specs if s.kind != "id"]
    whole = auc(holdout, synthetic, specs, columns)
    rows = []
    for c in columns:
        rows.append({"column": str(c), "kind": next(s.kind for s in specs if s.name == c),
                     "alone": auc(holdout, synthetic, specs, [c]),
                     "without": auc(holdout, synthetic, specs, [o for o in columns if o != c])})
        print(json.dumps(rows[-1]), flush=True)
    groups = []
    for pattern in args.groups:
        members = [c for c in columns if any(fnmatch.fnmatchcase(str(c), p) for p in pattern.split(","))]
        if not members:
            parser.error(f"--groups {pattern!r} matches no column; columns: {[str(c) for c in columns]}")
        groups.append({"group": pattern, "columns": [str(c) for c in members],
                       "alone": auc(holdout, synthetic, specs, members),
                       "without": auc(holdout, synthetic, specs, [o for o in columns if o not in members])})
        print(json.dumps(groups[-1]), flush=True)
    out = {"dataset": args.dataset, "model": args.model, "detection_holdout": whole, "columns": rows,
           "groups": groups,
           "machine": machine(), "versions": versions(), **stamp(__file__, argv)}
    (HERE / "results" / f"detection_columns_{args.model}.json").write_text(json.dumps(out, indent=2))
    print(f"whole table: {whole:.3f}")
    print("| column | kind | AUC alone | AUC without (change) |")
    print("|---|---|---|---|")
    for r in sorted(rows, key=lambda r: r["without"]):
        print(f"| {r['column']} | {r['kind']} | {r['alone']:.3f} | {r['without']:.3f} ({r['without'] - whole:+.3f}) |")
    for g in groups:
        print(f"| group {g['group']} ({len(g['columns'])}) | | {g['alone']:.3f} | {g['without']:.3f} "
              f"({g['without'] - whole:+.3f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
