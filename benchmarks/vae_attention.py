"""The VAE's optimiser step with attention as tensor algebra against torch's fused kernel.

For each table, a VAE of the default preset's sizes takes optimiser steps (forward,
backward, Adam) on batches of the table's encoded training split (the suite's protocol;
the default preset's VAE batch for it), with its transformer blocks' ``attention`` set to
``"fused"`` (``nn.MultiheadAttention``'s kernel, the only way before) and to ``"auto"``
(tensor algebra for rows of at most 128 tokens: every benchmark table), in alternating
rounds so that both see the same machine. Milliseconds per step are the median of the
rounds. Writes ``benchmarks/results/vae_attention.json`` and prints a markdown table.

    python benchmarks/vae_attention.py            # about 3 minutes on 2 cores
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

from tabsyn.tabular.presets import model_columns  # noqa: E402
from tabsyn.tabular.vae import TransformerBlock  # noqa: E402

HERE = Path(__file__).resolve().parent
MODES = ("fused", "auto")


def step_ms(dataset: str, rounds: int, steps: int) -> dict:
    n_train, codec, x_num, x_cat, s, vae = default_vae(dataset)
    optimizer = torch.optim.Adam(vae.parameters(), lr=s.vae_lr)
    blocks = [m for m in vae.modules() if isinstance(m, TransformerBlock)]
    batches = [torch.randint(0, n_train, (s.vae_batch,)) for _ in range(steps)]

    def step_for(mode):
        for block in blocks:
            block.attention = mode
        return lambda idx: vae_step(vae, x_num, x_cat, idx, optimizer)

    medians, times = alternating_ms(MODES, rounds, batches, step_for)
    return {"dataset": dataset, "tokens": model_columns(codec.specs), "vae_batch": s.vae_batch,
            **{f"{mode}_ms": medians[mode] for mode in MODES}, "rounds_ms": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["adult", "default", "shoppers", "magic", "beijing"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round and mode")
    args = parser.parse_args(argv)
    results = []
    for dataset in args.datasets:
        results.append(step_ms(dataset, args.rounds, args.steps))
        print(json.dumps(results[-1]), flush=True)
    out = {"torch_threads": torch.get_num_threads(), "machine": machine(), "versions": versions(),
           "results": results, **stamp(__file__, argv)}
    (HERE / "results" / "vae_attention.json").write_text(json.dumps(out, indent=2))
    print("| table | model columns | VAE batch | fused kernel ms/step | tensor algebra ms/step | ratio |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['dataset']} | {r['tokens']} | {r['vae_batch']:,} | {r['fused_ms']:.1f} | {r['auto_ms']:.1f} "
              f"| {r['fused_ms'] / r['auto_ms']:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
