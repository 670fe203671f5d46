"""Conditional sampling on Adult: the conditioned model against sampling everything and filtering.

    python benchmarks/conditional.py            # about 2 min on 2 cores once the model is cached (fitting it: 5 min)

For each condition, the real rows of the training split that satisfy it are the
reference, and two ways of getting as many synthetic rows that satisfy it are
compared, from the same default TabSynthesizer (benchmarks/_adult_model.py):

- conditional: ``sample(n, conditions=...)`` (the denoiser conditioned on the fixed cells,
  default classifier-free guidance; every row satisfies it);
- filtered: unconditional ``sample`` in batches, keeping the rows that satisfy it,
  until there are n of them (what a user without conditional sampling does).

Both are scored against the reference on the columns not fixed by the condition:
sdmetrics QualityReport (and its shapes and trends) and the detection AUC, through
``tabsyn.evaluate``; and timed. Writes benchmarks/results/conditional.json and .md.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _adult_model import adult_model, adult_split, write_results  # noqa: E402

from tabsyn import evaluate  # noqa: E402

CONDITIONS = [
    {"sex": "Female"},
    {"relationship": "Wife"},
    {"education": "Doctorate"},
    {"sex": "Female", "race": "Black"},
    {"age": 40},
]
MAX_DRAWS = 2_000_000  # give up filtering after this many unconditional rows


def matching(df: pd.DataFrame, conditions: dict) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for column, value in conditions.items():
        mask &= df[column] == value
    return mask


def scores(reference: pd.DataFrame, synthetic: pd.DataFrame, conditions: dict) -> dict:
    free = [c for c in reference.columns if c not in conditions]
    result = evaluate(reference[free].reset_index(drop=True), synthetic[free].reset_index(drop=True)).to_dict()
    fid = result["fidelity"]
    return {"quality": fid["quality_score"], "shapes": fid["column_shapes"], "trends": fid["column_pair_trends"],
            "detection_auc": result["detection"]["roc_auc"]}


def filtered(synth, n: int, conditions: dict, seed: int) -> tuple[pd.DataFrame, int]:
    kept, drawn = [], 0
    for batch in synth.sample_batches(MAX_DRAWS, random_state=seed, batch_size=8192):
        drawn += len(batch)
        kept.append(batch[matching(batch, conditions)])
        if sum(map(len, kept)) >= n:
            break
    return pd.concat(kept, ignore_index=True).head(n), drawn


def main() -> int:
    synth, _ = adult_model()
    train, _, _ = adult_split()
    rows = []
    for conditions in CONDITIONS:
        reference = train[matching(train, conditions)]
        n = len(reference)
        print(f"{conditions}: {n} real rows", flush=True)
        start = time.perf_counter()
        conditional = synth.sample(n, conditions=conditions, random_state=1)
        conditional_seconds = time.perf_counter() - start
        assert matching(conditional, conditions).all()
        start = time.perf_counter()
        kept, drawn = filtered(synth, n, conditions, seed=1)
        filtered_seconds = time.perf_counter() - start
        rows.append({"conditions": conditions, "real_rows": n, "real_share": n / len(train),
                     "conditional": {"seconds": conditional_seconds, **scores(reference, conditional, conditions)},
                     "filtered": {"seconds": filtered_seconds, "rows_drawn": drawn, "rows_kept": len(kept),
                                  **scores(reference, kept, conditions)}})
        print(json.dumps(rows[-1]), flush=True)
    lines = [
        f"Adult: default TabSynthesizer, as many synthetic rows as real training rows satisfy each condition; "
        f"{datetime.now(timezone.utc):%Y-%m-%d}; `python benchmarks/conditional.py`",
        "",
        "| condition | real rows (share) | quality: conditional / filtered | shapes | trends "
        "| detection AUC | seconds: conditional / filtered (rows drawn) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c, f = r["conditional"], r["filtered"]
        name = ", ".join(f"{k} = {v}" for k, v in r["conditions"].items())
        lines.append(
            f"| {name} | {r['real_rows']:,} ({r['real_share']:.1%}) | {c['quality']:.4f} / {f['quality']:.4f} "
            f"| {c['shapes']:.4f} / {f['shapes']:.4f} | {c['trends']:.4f} / {f['trends']:.4f} "
            f"| {c['detection_auc']:.4f} / {f['detection_auc']:.4f} "
            f"| {c['seconds']:.1f} / {f['seconds']:.1f} ({f['rows_drawn']:,}) |")
    lines += ["", "Scores compare each synthetic set with the real training rows that satisfy the condition, "
              "on the columns the condition leaves free (higher quality, lower detection AUC is better)."]
    write_results("conditional", rows, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
