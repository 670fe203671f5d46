"""Shared parts of the optimiser-step benchmarks (``vae_attention.py``, ``optimizer_step.py``).

:func:`default_vae` builds what both time: a table's encoded training split (the suite's
protocol), the default preset's settings for it and a VAE of those sizes;
:func:`vae_step` one VAE optimiser step as the fit takes it; :func:`alternating_ms` the
milliseconds per step of each mode, timed in alternating rounds so that every mode sees
the same machine.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from suite import split

from tabsyn.table.schema import infer_schema
from tabsyn.tabular.codec import TableCodec
from tabsyn.tabular.presets import Settings, model_columns, resolve_settings
from tabsyn.tabular.vae import TabularVAE, VAEConfig, vae_loss
from tabsyn.tabular.vae_training import MAX_BETA


def training_rows(dataset: str, rows: int | None = None):
    """``dataset``'s training split (the suite's protocol), or its first ``rows`` rows (``fit_scaling.py``'s slices)."""
    train, _, _ = split(dataset)
    return train if rows is None else train.iloc[:rows].reset_index(drop=True)


def default_vae(dataset: str, rows: int | None = None
                ) -> tuple[int, TableCodec, torch.Tensor, torch.Tensor, Settings, TabularVAE]:
    """``(training rows, codec, x_num, x_cat, settings, vae)`` for ``dataset`` at the default preset
    (the VAE's weights seeded with 0); ``rows``: the first that many rows of the training split
    (``fit_scaling.py``'s slices), with the settings the default preset scales to for them."""
    train = training_rows(dataset, rows)
    codec = TableCodec().fit(train, infer_schema(train))
    x_num, x_cat = (torch.from_numpy(a) for a in codec.encode(train))
    s = resolve_settings("default", int(0.9 * len(train)), model_columns(codec.specs))
    torch.manual_seed(0)
    vae = TabularVAE(VAEConfig(n_num=x_num.shape[1], cat_sizes=list(codec.cat_sizes), d_token=s.d_token,
                               ffn_factor=s.ffn_factor))
    return len(train), codec, x_num, x_cat, s, vae


def vae_step(vae: TabularVAE, x_num: torch.Tensor, x_cat: torch.Tensor, idx: torch.Tensor,
             optimizer: torch.optim.Optimizer) -> None:
    """One VAE optimiser step on rows ``idx`` at the largest beta."""
    recon, kl, _ = vae_loss(vae, x_num[idx], x_cat[idx])
    optimizer.zero_grad(set_to_none=True)
    (recon + MAX_BETA * kl).backward()
    optimizer.step()


def alternating_ms(modes: tuple[str, ...], rounds: int, batches: list[torch.Tensor],
                   step_for: Callable[[str], Callable[[torch.Tensor], None]]) -> tuple[dict, dict]:
    """``(median ms per step of each mode, every round's ms)``: each round runs every mode in turn,
    ``step_for(mode)`` (which sets the mode up) then a warm-up step and one step per batch, timed."""
    times = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode in modes:
            step = step_for(mode)
            step(batches[0])  # warm-up
            start = time.perf_counter()
            for idx in batches:
                step(idx)
            times[mode].append((time.perf_counter() - start) / len(batches) * 1e3)
    return {mode: float(np.median(times[mode])) for mode in modes}, times
