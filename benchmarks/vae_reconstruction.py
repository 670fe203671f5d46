"""How real the VAE's own reconstructions look: the floor under what the diffusion model can reach.

Fits the default preset's VAE alone (no denoiser) on a table's training split (the
suite's protocol: shuffle seed 0, 80/20; 10% of it held out for the VAE's validation,
as ``TabSynthesizer`` does), for each ``--vae-steps`` and training seed, then decodes
every training row from its own latent (the mean the denoiser learns) and scores those
rows with ``tabsyn.evaluate`` against the training rows and the holdout. A denoiser that
learned the latent distribution perfectly would sample rows like these, so their
detection AUC is a floor for the synthetic rows'. Writes
``benchmarks/results/vae_reconstruction_<table>.json`` and prints a markdown table.

    python benchmarks/vae_reconstruction.py --dataset default --vae-steps 700 1400 --seeds 0 1   # ~12 min
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SEED, machine, split, stamp, versions  # noqa: E402

import tabsyn  # noqa: E402
from tabsyn.table.schema import infer_schema  # noqa: E402
from tabsyn.tabular.codec import TableCodec  # noqa: E402
from tabsyn.tabular.fitting import split_rows  # noqa: E402
from tabsyn.tabular.presets import model_columns, resolve_settings  # noqa: E402
from tabsyn.tabular.vae_training import fit_vae  # noqa: E402

HERE = Path(__file__).resolve().parent


def reconstructed(train, vae_steps: int, seed: int):
    """The training rows decoded from their own VAE latents, and the VAE's fit seconds and settings."""
    codec = TableCodec().fit(train, infer_schema(train))
    x_num, x_cat = (torch.from_numpy(a) for a in codec.encode(train))
    train_idx, val_idx = split_rows(len(train), 0.1, np.random.default_rng(seed))
    settings = replace(resolve_settings("default", len(train_idx), model_columns(codec.specs)), vae_steps=vae_steps)
    torch.manual_seed(seed)
    start = time.perf_counter()
    vae, _ = fit_vae(x_num, x_cat, codec.cat_sizes, train_idx, val_idx, settings, max_seconds=None, verbose=False)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        latents = vae.latents(x_num, x_cat)
        values, logits = vae.decode(latents.reshape(len(latents), -1, vae.cfg.d_token))
        codes = (np.stack([lg.argmax(-1).numpy() for lg in logits], 1) if logits
                 else np.zeros((len(train), 0), np.int64))
    frame = codec.decode(values.numpy().astype(np.float64), codes, positions=np.arange(len(train)))
    return frame, seconds, settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="default")
    parser.add_argument("--vae-steps", type=int, nargs="+", default=[700, 1400])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds of the VAE")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    train, holdout, target = split(args.dataset)
    results = []
    for steps in args.vae_steps:
        for seed in args.seeds:
            frame, seconds, settings = reconstructed(train, steps, seed)
            scores = tabsyn.evaluate(train, frame, holdout=holdout, target=target, random_state=SEED).to_dict()
            record = {"vae_steps": steps, "seed": seed, "vae_seconds": seconds, "vae_batch": settings.vae_batch,
                      "quality": scores["fidelity"]["quality_score"],
                      "pair_trends": scores["fidelity"]["column_pair_trends"],
                      "detection_train": scores["detection"]["roc_auc"],
                      "detection_holdout": scores["detection"]["roc_auc_holdout"]}
            results.append(record)
            print(json.dumps(record), flush=True)
    out = {"dataset": args.dataset, "rows": len(train), "torch_threads": torch.get_num_threads(),
           "machine": machine(), "versions": versions(), "results": results,
           **stamp(__file__, argv)}
    (HERE / "results" / f"vae_reconstruction_{args.dataset}.json").write_text(json.dumps(out, indent=2))
    print("| VAE steps | seed | VAE s | quality | pair trends | detection (train) | detection (holdout) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['vae_steps']:,} | {r['seed']} | {r['vae_seconds']:.0f} | {r['quality']:.4f} "
              f"| {r['pair_trends']:.4f} | {r['detection_train']:.3f} | {r['detection_holdout']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
