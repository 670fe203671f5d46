"""Differential privacy on Adult: utility and membership inference at epsilon 1, 3 and 10, beside the non-DP default.

Same protocol as ``benchmarks/suite.py`` (its ``split`` and child processes): Adult
shuffled with seed 0 and split 80/20, ``TabSynthesizer(dp_epsilon=E)`` fitted at its
defaults otherwise (delta = 1 / (10 n), the DP step budgets of ``tabsyn.dp.fit``) on the
training split, as many rows sampled, scored by ``tabsyn.evaluate(train, synthetic,
holdout=holdout, target=target)``; the non-DP row is ``TabSynthesizer()`` itself.

Membership inference (distance-based): ``MIA_ROWS`` training rows and as many holdout
rows, each scored by its distance to the nearest synthetic row (in the evaluation's
``RowSpace``); the attacker says "member" for the closer ones. AUC 0.5: the synthetic
rows tell members from non-members no better than chance.

    python benchmarks/dp.py --threads 2                    # epsilon 1, 3, 10 and the non-DP default
    python benchmarks/dp.py --threads 2 --epsilons 10      # one of them (others kept from earlier runs)

Results: ``benchmarks/results/dp/adult__<run>.json`` and the table ``benchmarks/DP.md``.
Smoke test (dev; never into benchmarks/results):

    python benchmarks/dp.py --rows 2000 --epsilons 3 --vae-steps 5 --diffusion-steps 10 --results-dir /tmp/dp
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import suite  # noqa: E402

HERE = Path(__file__).resolve().parent
MIA_ROWS = 3000
DATASET = "adult"


def membership_auc(train, holdout, synthetic, seed: int) -> float:
    """AUC of telling training rows from holdout rows by their distance to the nearest synthetic row."""
    from sklearn.metrics import roc_auc_score

    from tabsyn.table.rows import RowSpace
    from tabsyn.table.schema import infer_schema

    specs = infer_schema(train)
    n = min(MIA_ROWS, len(train), len(holdout))
    members = train.sample(n=n, random_state=seed)
    others = holdout.sample(n=n, random_state=seed + 1)
    space = RowSpace(specs).fit(train)
    synth = space.transform(synthetic[train.columns])
    d = np.concatenate([space.nearest(space.transform(members), synth), space.nearest(space.transform(others), synth)])
    labels = np.r_[np.ones(n), np.zeros(n)]
    return float(roc_auc_score(labels, -d))


def run(epsilon: float | None, args, out: Path) -> dict:
    from tabsyn.evaluation import evaluate

    train, holdout, target = suite.split(DATASET, args.rows)
    settings = {} if epsilon is None else {"dp_epsilon": epsilon}
    for key in ("vae_steps", "diffusion_steps"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    options = {"threads": args.threads, "rows": args.rows, "settings": settings}
    synthetic, measurements = suite.generate(DATASET, "tabsyn", holdout, options)
    start = time.perf_counter()
    result = evaluate(train, synthetic[train.columns], holdout=holdout, target=target, random_state=suite.SEED)
    record = {
        "dataset": DATASET, "epsilon": epsilon, "rows": {"train": len(train), "holdout": len(holdout)},
        **measurements, "evaluate_seconds": time.perf_counter() - start,
        "membership_auc": membership_auc(train, holdout, synthetic, suite.SEED),
        "scores": result.to_dict(), "machine": suite.machine(), "versions": suite.versions(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python " + " ".join(["benchmarks/dp.py", *sys.argv[1:]]), "options": options,
    }
    out.mkdir(parents=True, exist_ok=True)
    name = "nondp" if epsilon is None else f"eps{epsilon:g}"
    (out / f"{DATASET}__{name}.json").write_text(json.dumps(record, indent=2, default=str))
    return record


def table(results_dir: Path) -> str:
    rows = []
    for path in sorted(results_dir.glob(f"{DATASET}__*.json")):
        r = json.loads(path.read_text())
        s = r["scores"]
        p = r.get("privacy") or {}
        rows.append((float("inf") if r["epsilon"] is None else r["epsilon"], r, s, p))
    rows.sort(key=lambda t: -t[0])
    lines = [
        "| epsilon (delta) | quality | column pair trends | detection vs train | detection vs holdout "
        "| ML efficacy (synthetic / real) | DCR share | membership AUC | fit s | steps (VAE + denoiser) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for eps, r, s, p in rows:
        label = "no DP (default)" if r["epsilon"] is None else f"{eps:g} ({p.get('delta', float('nan')):.2g})"
        eff = s["efficacy"]
        steps = (f"{p['split']['vae']['steps']} + {p['split']['denoiser']['steps']}" if p
                 else "default budget")
        lines.append(
            f"| {label} | {s['fidelity']['quality_score']:.3f} | {s['fidelity']['column_pair_trends']:.3f} "
            f"| {s['detection']['roc_auc']:.3f} | {s['detection']['roc_auc_holdout']:.3f} "
            f"| {eff['synthetic']:.3f} / {eff['real']:.3f} | {s['privacy']['dcr_share']:.3f} "
            f"| {r['membership_auc']:.3f} | {r['fit_seconds']:.0f} | {steps} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epsilons", default="1,3,10,none", help="comma-separated; 'none' = the non-DP default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=None, help="training rows kept (smoke tests only)")
    parser.add_argument("--vae-steps", type=int, default=None, help="smoke tests only")
    parser.add_argument("--diffusion-steps", type=int, default=None, help="smoke tests only")
    parser.add_argument("--results-dir", default=str(HERE / "results" / "dp"))
    args = parser.parse_args(argv)
    out = Path(args.results_dir)
    for text in args.epsilons.split(","):
        epsilon = None if text.strip() == "none" else float(text)
        r = run(epsilon, args, out)
        print(f"epsilon {epsilon}: quality {r['scores']['fidelity']['quality_score']:.3f}, detection "
              f"{r['scores']['detection']['roc_auc']:.3f}, membership AUC {r['membership_auc']:.3f}, "
              f"fit {r['fit_seconds']:.0f} s", flush=True)
    md = out / "DP.md" if Path(args.results_dir) != HERE / "results" / "dp" else HERE / "DP.md"
    md.write_text("# Differential privacy on Adult\n\nWritten by `benchmarks/dp.py`; see its docstring for the "
                  "protocol. Membership AUC: distance-based membership inference (training vs holdout rows by "
                  "the distance to their nearest synthetic row); 0.5 = chance.\n\n" + table(out) + "\n")
    print(md.read_text())


if __name__ == "__main__":
    main()
