"""The privacy guard on Adult: copies, DCR share and fidelity with the guard off and on.

    python benchmarks/privacy_guard.py          # about 2 min on 2 cores once the model is cached (fitting it: 5 min)

The default TabSynthesizer on Adult's benchmark split (benchmarks/_adult_model.py)
samples as many rows as the training split with the same seed, once per guard
setting: off, 0 (exact copies only), 0.01 (the default quantile) and 0.05. Each
sample is scored by ``tabsyn.evaluate(train, synthetic, holdout=holdout, target=...)``.
Writes benchmarks/results/privacy_guard.json and .md.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _adult_model import adult_model, adult_split, write_results  # noqa: E402

from tabsyn import evaluate  # noqa: E402
from tabsyn.table.rows import row_keys  # noqa: E402

SETTINGS = [("off", False), ("exact copies only", 0.0), ("quantile 0.01 (default)", 0.01), ("quantile 0.05", 0.05)]


def main() -> int:
    synth, _ = adult_model()
    train, holdout, target = adult_split()
    train_keys = row_keys(train, synth.columns_)
    rows = []
    for name, guard in SETTINGS:
        print(f"guard {name} ...", flush=True)
        start = time.perf_counter()
        synthetic = synth.sample(len(train), random_state=1, privacy_guard=guard)
        seconds = time.perf_counter() - start
        scores = evaluate(train, synthetic, holdout=holdout, target=target).to_dict()
        report = synthetic.attrs.get("privacy_guard", {})
        rows.append({
            "guard": name, "privacy_guard": guard, "sample_seconds": seconds,
            "exact_copies_of_training_rows": int(np.isin(row_keys(synthetic, synth.columns_), train_keys).sum()),
            "replaced": report.get("replaced", 0), "threshold": report.get("threshold"),
            "quality": scores["fidelity"]["quality_score"], "detection_auc": scores["detection"]["roc_auc"],
            "efficacy": scores["efficacy"]["synthetic"], "dcr_share": scores["privacy"]["dcr_share"],
            "dcr_overfitting_protection": scores["privacy"]["dcr_overfitting_protection"],
            "copy_rate": scores["privacy"]["copy_rate"], "holdout_copy_rate": scores["privacy"]["holdout_copy_rate"],
        })
        print(json.dumps(rows[-1]), flush=True)
    lines = [
        f"Adult: default TabSynthesizer, {len(train):,} rows sampled per setting (seed 1); "
        f"{datetime.now(timezone.utc):%Y-%m-%d}; `python benchmarks/privacy_guard.py`",
        "",
        "| guard | rows replaced | exact copies of training rows | DCR share | sdmetrics DCR protection "
        "| quality | detection AUC | ML efficacy | sample s |",
        "|---|---|---|---|---|---|---|---|---|",
        *[f"| {r['guard']} | {r['replaced']:,} | {r['exact_copies_of_training_rows']:,} | {r['dcr_share']:.4f} "
          f"| {r['dcr_overfitting_protection']:.3f} | {r['quality']:.4f} | {r['detection_auc']:.4f} "
          f"| {r['efficacy']:.4f} | {r['sample_seconds']:.1f} |" for r in rows],
        "",
        "DCR share: the share of synthetic rows closer to a training row than to a holdout row "
        "(training rows subsampled to the holdout's size; 0.5 when nothing is copied). "
        f"Real holdout rows copy a training row at a rate of {rows[0]['holdout_copy_rate']:.2%}.",
    ]
    write_results("privacy_guard", rows, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
