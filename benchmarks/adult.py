"""The TabSynthesizer acceptance benchmark on Adult, beside SDV's GaussianCopula and TVAE.

Protocol (benchmarks/suite.py): Adult's adult.data shuffled with seed 0, first 80%
train, last 20% holdout; each system fits the train split in a child process at its
default settings and samples as many rows as the train split; ``tabsyn.evaluate``
scores the rows against the train split (quality, detection) and the holdout (ML
efficacy for ``income``).

Prints one table and writes it to ``benchmarks/results/adult.md``; the per-system
records go to ``benchmarks/results/adult/``.

    python benchmarks/adult.py                      # all three systems (~15 min on 2 cores)
    python benchmarks/adult.py --systems tabsyn     # rerun ours; the table keeps the others' last results
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import machine, run_one  # noqa: E402

HERE = Path(__file__).resolve().parent
SYSTEMS = ("tabsyn", "gaussiancopula", "tvae")
TARGETS = "fit <= 600 s, sample 26,048 rows <= 30 s, quality >= 0.90, detection AUC <= 0.75, ML efficacy >= 0.90"


def row(record: dict) -> str:
    s = record["scores"]
    fid, det, eff = s["fidelity"], s["detection"], s["efficacy"]
    return (
        f"| {record['system']} | {record['fit_seconds']:.0f} | {record['sample_seconds']:.1f} "
        f"| {fid['quality_score']:.4f} | {fid['column_shapes']:.4f} | {fid['column_pair_trends']:.4f} "
        f"| {det['roc_auc']:.4f} | {eff['synthetic']:.4f} | {eff['real']:.4f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    args = parser.parse_args(argv)
    folder = HERE / "results" / "adult"
    for system in args.systems:
        print(f"fitting {system} ...", flush=True)
        run_one("adult", system, folder / f"{system}.json")
    # The table shows every system measured so far, so systems can be (re)run one at a time.
    records = [json.loads((folder / f"{s}.json").read_text()) for s in SYSTEMS if (folder / f"{s}.json").exists()]
    m = machine()
    lines = [
        f"Adult, {records[0]['rows']['train']} training rows -> as many synthetic rows; "
        f"{m['cpu']}, {m['cores']} cores, {datetime.now(timezone.utc):%Y-%m-%d}; `python benchmarks/adult.py`",
        "",
        "| system | fit s | sample s | quality | column shapes | pair trends | detection AUC "
        "| ML efficacy (synthetic) | ML efficacy (real) |",
        "|---|---|---|---|---|---|---|---|---|",
        *[row(r) for r in records],
        "",
        f"Targets for tabsyn at default settings: {TARGETS}. Detection AUC: 0.5 means indistinguishable.",
    ]
    text = "\n".join(lines)
    print(text)
    (HERE / "results" / "adult.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
