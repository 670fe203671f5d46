"""Training steps with torch's fused Adam against its per-tensor loop.

For each table, the default preset's VAE and denoiser (their sizes and batches for the
table's training split, the suite's protocol) take optimiser steps (forward, backward,
Adam, and the denoiser's EMA update, as ``tabsyn.training.train`` takes them) on batches
of the encoded training rows (the denoiser on stand-in latents of its width), with
``torch.optim.Adam``'s per-tensor loop (torch's default on the CPU) and with its fused
kernel (``fused=True``: one pass over every parameter; what fits use since it measured
faster here, ``tabsyn.training.adam``, benchmarks/ABLATIONS.md), in alternating rounds so that
both see the same machine. Milliseconds per step are the median of the rounds.
``--rows N`` times each table's first N training rows instead (the slices of
``fit_scaling.py``: a 2,000-row table's batches are 256 rows, and a smaller step shows
the optimiser's share more). ``--fits K`` also times K whole default fits of the table
(or slice) with each kernel, alternating (``tabsyn.training.adam`` switched through
``FUSED_ADAM_DEVICES``). Writes ``benchmarks/results/optimizer_step.json``
(``--name``) and prints a markdown table.

    python benchmarks/optimizer_step.py            # about 3 minutes on 2 cores
    python benchmarks/optimizer_step.py --datasets adult default --rows 2000 --fits 2 --name optimizer_step_2000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _step_timing import alternating_ms, default_vae, training_rows, vae_step  # noqa: E402
from suite import SEED, machine, stamp, versions  # noqa: E402

from tabsyn import TabSynthesizer, training  # noqa: E402
from tabsyn.diffusion.edm import EDMLoss  # noqa: E402
from tabsyn.tabular.latent import SIGMA_DATA, DenoiserConfig, LatentDenoiser, network_precision  # noqa: E402
from tabsyn.tabular.presets import model_columns  # noqa: E402
from tabsyn.training import EMA  # noqa: E402

HERE = Path(__file__).resolve().parent
MODES = ("loop", "fused")


def _optimizer(params: list, lr: float, mode: str) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, fused=mode == "fused")


def step_ms(dataset: str, rounds: int, steps: int, rows: int | None = None) -> dict:
    n_train, codec, x_num, x_cat, s, vae = default_vae(dataset, rows)
    dim = (x_num.shape[1] + x_cat.shape[1]) * s.d_token
    denoiser = LatentDenoiser(DenoiserConfig(dim=dim, width=s.denoiser_width, n_num=x_num.shape[1],
                                             cat_sizes=list(codec.cat_sizes)))
    ema, loss = EMA(denoiser, s.ema_decay), EDMLoss(sigma_data=SIGMA_DATA)
    z = torch.randn(n_train, dim) * SIGMA_DATA
    optimizers = {(stage, mode): _optimizer(list(model.parameters()), lr, mode)
                  for stage, model, lr in (("vae", vae, s.vae_lr), ("denoiser", denoiser, s.diffusion_lr))
                  for mode in MODES}

    def denoiser_step(idx, optimizer):
        cond = denoiser.layout.vector(x_num[idx], x_cat[idx], *denoiser.layout.random_known(len(idx), 0.5, z.device))
        with network_precision(s.diffusion_precision, z.device):
            value = loss(denoiser, z[idx], cond=cond).mean()
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        ema.update(denoiser)

    out = {"dataset": dataset, "rows": n_train, "tokens": model_columns(codec.specs), "vae_batch": s.vae_batch,
           "denoiser_batch": s.batch_size}
    steps_of = {"vae": lambda idx, optimizer: vae_step(vae, x_num, x_cat, idx, optimizer), "denoiser": denoiser_step}
    for stage, batch in (("vae", s.vae_batch), ("denoiser", s.batch_size)):
        batches = [torch.randint(0, n_train, (batch,)) for _ in range(steps)]

        def step_for(mode, stage=stage):
            return lambda idx: steps_of[stage](idx, optimizers[stage, mode])

        medians, times = alternating_ms(MODES, rounds, batches, step_for)
        out.update({f"{stage}_{mode}_ms": medians[mode] for mode in MODES})
        out[f"{stage}_rounds_ms"] = times
    return out


def fit_seconds(dataset: str, rows: int | None, rounds: int) -> dict:
    """Seconds of whole default fits of ``dataset``'s training split (its first ``rows``), each kernel
    in turn, ``rounds`` times."""
    train = training_rows(dataset, rows)
    fused_devices, times = training.FUSED_ADAM_DEVICES, {mode: [] for mode in MODES}
    try:
        for _ in range(rounds):
            for mode in MODES:
                training.FUSED_ADAM_DEVICES = fused_devices if mode == "fused" else ()
                start = time.perf_counter()
                TabSynthesizer(random_state=SEED, verbose=False).fit(train)
                times[mode].append(time.perf_counter() - start)
    finally:
        training.FUSED_ADAM_DEVICES = fused_devices
    return {**{f"fit_{mode}_s": float(np.median(times[mode])) for mode in MODES}, "fit_rounds_s": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["adult", "default", "shoppers", "magic", "beijing"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round and mode")
    parser.add_argument("--rows", type=int, default=None, help="time the first ROWS training rows of each table")
    parser.add_argument("--fits", type=int, default=0, help="also time this many whole fits with each kernel")
    parser.add_argument("--name", default="optimizer_step", help="results file benchmarks/results/NAME.json")
    args = parser.parse_args(argv)
    results = []
    for dataset in args.datasets:
        results.append(step_ms(dataset, args.rounds, args.steps, args.rows))
        if args.fits:
            results[-1].update(fit_seconds(dataset, args.rows, args.fits))
        print(json.dumps(results[-1]), flush=True)
    out = {"torch_threads": torch.get_num_threads(), "machine": machine(), "versions": versions(),
           "results": results, **stamp(__file__, argv)}
    (HERE / "results" / f"{args.name}.json").write_text(json.dumps(out, indent=2))
    print("| table | rows | VAE batch | VAE ms/step, loop / fused | ratio | denoiser batch "
          "| denoiser ms/step, loop / fused | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['dataset']} | {r['rows']:,} | {r['vae_batch']:,} "
              f"| {r['vae_loop_ms']:.1f} / {r['vae_fused_ms']:.1f} "
              f"| {r['vae_loop_ms'] / r['vae_fused_ms']:.2f}x | {r['denoiser_batch']:,} "
              f"| {r['denoiser_loop_ms']:.1f} / {r['denoiser_fused_ms']:.1f} "
              f"| {r['denoiser_loop_ms'] / r['denoiser_fused_ms']:.2f}x |")
    fits = [r for r in results if "fit_loop_s" in r]
    if fits:
        print("\n| table | rows | fit s, loop / fused (median) | ratio | every fit, loop / fused |")
        print("|---|---|---|---|---|")
        for r in fits:
            rounds = ", ".join(f"{a:.1f} / {b:.1f}" for a, b in zip(*r["fit_rounds_s"].values()))
            print(f"| {r['dataset']} | {r['rows']:,} | {r['fit_loop_s']:.1f} / {r['fit_fused_s']:.1f} "
                  f"| {r['fit_loop_s'] / r['fit_fused_s']:.2f}x | {rounds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
