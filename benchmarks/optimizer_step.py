"""Training steps with torch's fused Adam against its per-tensor loop.

For each table, the default preset's VAE and denoiser (their sizes and batches for the
table's training split, the suite's protocol) take optimiser steps (forward, backward,
Adam, and the denoiser's EMA update, as ``tabsyn.training.train`` takes them) on batches
of the encoded training rows (the denoiser on stand-in latents of its width), with
``torch.optim.Adam``'s per-tensor loop (torch's default on the CPU, what every fit used
before and since: it measured no faster, benchmarks/ABLATIONS.md) and with its fused
kernel (``fused=True``: one pass over every parameter), in alternating rounds so that
both see the same machine. Milliseconds per step are the median of the rounds.
Writes ``benchmarks/results/optimizer_step.json`` and prints a markdown table.

    python benchmarks/optimizer_step.py            # about 3 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _step_timing import alternating_ms, default_vae, vae_step  # noqa: E402
from suite import machine, stamp, versions  # noqa: E402

from tabsyn.diffusion.edm import EDMLoss  # noqa: E402
from tabsyn.tabular.latent import SIGMA_DATA, DenoiserConfig, LatentDenoiser, network_precision  # noqa: E402
from tabsyn.tabular.presets import model_columns  # noqa: E402
from tabsyn.training import EMA  # noqa: E402

HERE = Path(__file__).resolve().parent
MODES = ("loop", "fused")


def _optimizer(params: list, lr: float, mode: str) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, fused=mode == "fused")


def step_ms(dataset: str, rounds: int, steps: int) -> dict:
    n_train, codec, x_num, x_cat, s, vae = default_vae(dataset)
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

    out = {"dataset": dataset, "tokens": model_columns(codec.specs), "vae_batch": s.vae_batch,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["adult", "default", "shoppers", "magic", "beijing"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round and mode")
    args = parser.parse_args(argv)
    results = []
    for dataset in args.datasets:
        results.append(step_ms(dataset, args.rounds, args.steps))
        print(json.dumps(results[-1]), flush=True)
    out = {"torch_threads": torch.get_num_threads(), "machine": machine(), "versions": versions(),
           "results": results, **stamp(__file__, argv)}
    (HERE / "results" / "optimizer_step.json").write_text(json.dumps(out, indent=2))
    print("| table | VAE batch | VAE ms/step, loop / fused | ratio | denoiser batch | denoiser ms/step, loop / fused "
          "| ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['dataset']} | {r['vae_batch']:,} | {r['vae_loop_ms']:.1f} / {r['vae_fused_ms']:.1f} "
              f"| {r['vae_loop_ms'] / r['vae_fused_ms']:.2f}x | {r['denoiser_batch']:,} "
              f"| {r['denoiser_loop_ms']:.1f} / {r['denoiser_fused_ms']:.1f} "
              f"| {r['denoiser_loop_ms'] / r['denoiser_fused_ms']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
