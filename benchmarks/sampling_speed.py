"""Sampling speed against fidelity: solver, noise levels, network precision and row-block size, on one fitted model.

Fits ``TabSynthesizer()`` (defaults) once on a table's training split (the suite's
protocol: shuffle seed 0, 80/20), keeps the model in ``benchmarks/.cache/``, then
samples as many rows as the training split under each sampling configuration and
scores them with ``tabsyn.evaluate`` (quality, pair trends, detection AUC against the
training rows and against the holdout). Rows/s is the median of ``--repeats`` timed
runs of 8,192 rows, after a warm-up, without the privacy guard and with it (its
default quantile), the configurations timed in turn within each round so that all of
them see the same machine; the seconds of 8,192 rows are split into the sampler (noise to
latents), the VAE decoder (latents to codes) and the codec (codes to a DataFrame).
``--model NAME`` samples a model already in ``benchmarks/.cache/`` (e.g. ``peers_adult``,
kept by ``peers.py --save-models``) instead of fitting one.
Writes ``benchmarks/results/sampling_speed_<table>.json`` and prints a markdown table
(pasted into benchmarks/ABLATIONS.md).

    python benchmarks/sampling_speed.py --dataset adult                 # about 10 minutes on 2 cores
    python benchmarks/sampling_speed.py --dataset default --samplers heun dpm2m --steps 16 12
    python benchmarks/sampling_speed.py --dataset adult --model peers_adult --configs dpm2m:16:10 \
        --precisions bfloat16 --blocks 1024 --ode-precisions float64 float32 --repeats 9 --name ode_adult
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SEED, machine, split, stamp, versions  # noqa: E402

import tabsyn  # noqa: E402
from tabsyn import TabSynthesizer  # noqa: E402
from tabsyn.diffusion.sampler import denoiser_calls  # noqa: E402
from tabsyn.tabular.presets import PRESETS  # noqa: E402

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def fitted(dataset: str, train, name: str, preset: dict, seed: int = SEED) -> TabSynthesizer:
    """The default model of ``dataset``'s training split (the default preset changed by ``preset``, for
    ablations; ``random_state=seed``), fitted once and cached as ``benchmarks/.cache/NAME.tabsyn`` (delete
    it after a change)."""
    path = CACHE / f"{name}.tabsyn"
    if path.exists():
        return tabsyn.load(path)
    start = time.perf_counter()
    PRESETS["default"] = replace(PRESETS["default"], **preset)
    synth = TabSynthesizer(random_state=seed, verbose=False).fit(train)
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in synth.fit_stages_.items())
    print(f"fit {dataset}: {time.perf_counter() - start:.0f} s ({stages})", flush=True)
    CACHE.mkdir(exist_ok=True)
    synth.save(path)
    return synth


def rows_per_second(synth: TabSynthesizer, configs: list[tuple], repeats: int, n: int = 8192,
                    guard: bool = False) -> list[float]:
    """Rows/s of each configuration (:func:`configure`): the median of ``repeats`` timed calls, the
    configurations taking turns within each round."""
    for config in configs:  # warm-up
        configure(synth.model_, config)
        synth.sample(1024, random_state=1, privacy_guard=guard)
    times = [[] for _ in configs]
    for r in range(repeats):
        for i, config in enumerate(configs):
            configure(synth.model_, config)
            start = time.perf_counter()
            synth.sample(n, random_state=100 + r, batch_size=n, privacy_guard=guard)
            times[i].append(time.perf_counter() - start)
    return [n / float(np.median(t)) for t in times]


def configure(model, config: tuple) -> None:
    """Set a fitted model's sampling configuration: (row block, network precision, solver, noise levels,
    sigma_max, ODE update precision)."""
    block, precision, sampler, steps, top, ode = config
    model.sampling_steps, model.precision, model.row_block = steps, precision, block
    model.sampler, model.sigma_max, model.ode_precision = sampler, top, ode


def stage_seconds(synth: TabSynthesizer, n: int = 8192) -> dict:
    """Seconds of each part of sampling ``n`` rows: sampler, VAE decoder, codec."""
    from tabsyn.base import position_noise
    from tabsyn.tabular.sampling import RowBlocks
    from tabsyn.threads import torch_threads

    model = synth.model_
    positions = np.arange(n, dtype=np.int64)
    with torch_threads(synth.n_jobs):
        blocks = RowBlocks(positions, model.row_block)
        start = time.perf_counter()
        z = model._latents(position_noise(0, positions, model.dim), blocks, None, 1.0)
        latents = time.perf_counter()
        x_num, x_cat = model._decode(z, blocks)
        decoded = time.perf_counter()
        model.codec.decode(x_num, x_cat, positions=positions)
        done = time.perf_counter()
    return {"sampler": latents - start, "decoder": decoded - latents, "codec": done - decoded}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="adult")
    parser.add_argument("--samplers", nargs="+", default=["heun"], help="ODE solvers (heun, dpm2m)")
    parser.add_argument("--steps", type=int, nargs="+", default=[30, 20, 15, 12, 10, 8])
    parser.add_argument("--sigma-max", type=float, nargs="+", default=[80.0], help="noise levels to start from")
    parser.add_argument("--configs", nargs="+", default=None, metavar="SAMPLER:LEVELS:SIGMA_MAX",
                        help="these (sampler, levels, sigma_max) instead of the grid of the three options above")
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--ode-precisions", nargs="+", default=["float32"], choices=["float32", "float64"],
                        help="dtypes of the sampler's update (float64: what model files saved before 2026-12-06 use)")
    parser.add_argument("--blocks", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample-seeds", type=int, default=1,
                        help="score this many samples per configuration (seeds 0, 1, ...): the seed spread")
    parser.add_argument("--name", default=None,
                        help="results file benchmarks/results/NAME.json (default: sampling_speed_<dataset>)")
    parser.add_argument("--model", default=None,
                        help="sample benchmarks/.cache/MODEL.tabsyn (fitted on --dataset's split), not a new fit")
    parser.add_argument("--fit-seed", type=int, default=SEED, help="the fit's random_state (a training seed)")
    parser.add_argument("--preset", type=json.loads, default={},
                        help='changes to the default preset for the fit, as JSON: \'{"denoiser_width": 512}\'')
    args = parser.parse_args(argv)
    train, holdout, target = split(args.dataset)
    name = args.name or f"sampling_speed_{args.dataset}"
    if args.model is not None and not (CACHE / f"{args.model}.tabsyn").exists():
        parser.error(f"--model {args.model}: no benchmarks/.cache/{args.model}.tabsyn (peers.py --save-models "
                     f"keeps peers_<table>; sampling_speed.py --name NAME keeps NAME)")
    synth = fitted(args.dataset, train, args.model or name, args.preset, args.fit_seed)
    model = synth.model_
    results = []
    solvers = [(sampler, steps, top) for sampler in args.samplers for steps in args.steps for top in args.sigma_max]
    if args.configs:
        solvers = [(c.split(":")[0], int(c.split(":")[1]), float(c.split(":")[2])) for c in args.configs]
    configs = [(b, p, *solver, ode) for b in args.blocks for p in args.precisions for solver in solvers
               for ode in args.ode_precisions]
    speeds = rows_per_second(synth, configs, args.repeats)
    guarded_speeds = rows_per_second(synth, configs, args.repeats, guard=True)
    for config, speed, guarded in zip(configs, speeds, guarded_speeds):
        block, precision, sampler, steps, top, ode = config
        configure(model, config)
        stages = stage_seconds(synth)
        start = time.perf_counter()
        synthetic = synth.sample(len(train), random_state=SEED)
        seconds = time.perf_counter() - start
        scores = tabsyn.evaluate(train, synthetic, holdout=holdout, target=target,
                                 random_state=SEED).to_dict()
        det = scores["detection"]
        record = {"sampler": sampler, "steps": steps, "sigma_max": top,
                  "denoiser_calls": denoiser_calls(sampler, steps),
                  "precision": precision, "ode_precision": ode, "row_block": block, "rows_per_second": speed,
                  "rows_per_second_guard": guarded, "stage_seconds_8192": stages,
                  "sample_seconds": seconds, "quality": scores["fidelity"]["quality_score"],
                  "pair_trends": scores["fidelity"]["column_pair_trends"],
                  "column_shapes": scores["fidelity"]["column_shapes"],
                  "detection_train": det["roc_auc"], "detection_holdout": det.get("roc_auc_holdout"),
                  "efficacy": scores.get("efficacy", {}).get("synthetic")}
        spread = []
        for seed in range(SEED + 1, SEED + args.sample_seeds):  # one sample's scores move with its seed
            more = tabsyn.evaluate(train, synth.sample(len(train), random_state=seed), holdout=holdout,
                                   target=target, random_state=SEED).to_dict()
            spread.append({"seed": seed, "quality": more["fidelity"]["quality_score"],
                           "pair_trends": more["fidelity"]["column_pair_trends"],
                           "detection_train": more["detection"]["roc_auc"],
                           "detection_holdout": more["detection"].get("roc_auc_holdout")})
        if spread:
            record["other_sample_seeds"] = spread
        results.append(record)
        print(json.dumps(record), flush=True)
    out = {"dataset": args.dataset, "model": args.model, "rows": len(train), "torch_threads": torch.get_num_threads(),
           "preset_changes": args.preset, "fit_seed": args.fit_seed, "fit_seconds": synth.fit_seconds_,
           "fit_stages": synth.fit_stages_,
           "machine": machine(), "versions": versions(), "results": results,
           **stamp(__file__, argv)}
    (HERE / "results" / f"{name}.json").write_text(json.dumps(out, indent=2, default=str))
    print("| block | precision | ODE update | sampler | sigma_max | levels | calls | rows/s | rows/s (guard) "
          "| sampler / decoder / codec s "
          "| quality | pair trends | detection (train) | detection (holdout) | ML efficacy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        hold = "-" if r["detection_holdout"] is None else f"{r['detection_holdout']:.3f}"
        eff = "-" if r["efficacy"] is None else f"{r['efficacy']:.3f}"
        st = r["stage_seconds_8192"]
        print(f"| {r['row_block']} | {r['precision']} | {r['ode_precision']} | {r['sampler']} | {r['sigma_max']:g} "
              f"| {r['steps']} | {r['denoiser_calls']} "
              f"| {r['rows_per_second']:,.0f} | {r['rows_per_second_guard']:,.0f} "
              f"| {st['sampler']:.2f} / {st['decoder']:.2f} / {st['codec']:.2f} "
              f"| {r['quality']:.4f} | {r['pair_trends']:.4f} | {r['detection_train']:.3f} | {hold} | {eff} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
