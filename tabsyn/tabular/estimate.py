"""How long a fit will take, measured before it starts, and the warning a long one gets.

:func:`estimate_fit` builds the VAE and the denoiser as the fit will (same table, sizes, batch,
device and threads), times ``PROBE_STEPS`` optimiser steps of each after one warm-up step, and
multiplies by each stage's step budget. Measuring beats a cost model here: a step's cost depends
on the columns (the VAE attends over every pair of a row's tokens), the threads, the device and
whatever else the machine runs. The probe's networks are thrown away and it runs on a fork of
torch's random state, so the fit draws the same numbers with or without it. It costs eight
optimiser steps, plus torch's one-time set-up of a process's first network (about 2 s at 1
thread), which the fit would otherwise pay in its VAE stage.

The estimate counts optimiser steps only (validation, encoding the rows, the codec and the privacy
guard come on top, a few percent of a fit), and the denoiser's part is an upper bound: early
stopping often ends it sooner.

A fit estimated to take longer than :data:`LONG_FIT_SECONDS` (10 minutes), unless its
``time_budget`` stops it sooner, gets a :class:`LongFitWarning` before training starts.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch

from tabsyn import distributed
from tabsyn.tabular.fitting import epochs_for, steps_per_epoch
from tabsyn.tabular.latent import denoiser_probe
from tabsyn.tabular.presets import Settings
from tabsyn.tabular.vae_training import vae_probe

LONG_FIT_SECONDS = 600.0  # a fit estimated to take longer than this is warned about before it starts
PROBE_STEPS = 3           # timed optimiser steps per stage (after one warm-up step)


@dataclass(frozen=True)
class FitEstimate:
    """Seconds a fit's optimiser steps are expected to take, and what they were measured on."""

    vae_seconds: float       # VAE: its step budget (whole epochs) x the seconds of one step
    denoiser_seconds: float  # denoiser: the same, an upper bound (early stopping may end it sooner)
    rows: int                # rows of the table
    columns: int             # columns of the table
    threads: int             # torch threads the steps ran on
    device: str

    @property
    def seconds(self) -> float:
        return self.vae_seconds + self.denoiser_seconds

    def describe(self) -> str:
        """E.g. "about 25 min (VAE 4 min, denoiser up to 21 min) for 1,000 rows x 500 columns, 1 thread on cpu"."""
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        return (f"about {format_duration(self.seconds)} (VAE {format_duration(self.vae_seconds)}, denoiser up to "
                f"{format_duration(self.denoiser_seconds)}) for {self.rows:,} rows x {self.columns:,} columns, "
                f"{threads} on {self.device}")


class LongFitWarning(UserWarning):
    """A fit is estimated to take longer than :data:`LONG_FIT_SECONDS`; ``estimate`` holds the figures."""

    def __init__(self, message: str, estimate: FitEstimate):
        super().__init__(message)
        self.estimate = estimate


def format_duration(seconds: float) -> str:
    """Seconds as a person says them: "40 s", "25 min", "1 h 48 min"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def step_seconds(step: Callable[[], None], device: torch.device, steps: int = PROBE_STEPS) -> float:
    """The median seconds of ``steps`` calls of ``step``, after one warm-up call."""
    def timed() -> float:
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    timed()
    return statistics.median(timed() for _ in range(steps))


def estimate_fit(x_num: torch.Tensor, x_cat: torch.Tensor, cat_sizes: list[int], train_idx, s: Settings, *,
                 rows: int, columns: int) -> FitEstimate:
    """Time a few real optimiser steps of each stage on the model arrays (module docstring)."""
    device, n_train = x_num.device, len(distributed.shard(train_idx))
    forked = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=forked):
        vae_step, tokens = vae_probe(x_num, x_cat, cat_sizes, train_idx, s)
        vae = step_seconds(vae_step, device)
        denoiser = step_seconds(denoiser_probe(tokens, x_num, x_cat, cat_sizes, train_idx, s), device)

    def budget(steps: int, batch: int) -> int:  # whole epochs, as the training loop runs them
        batch = distributed.per_rank_batch(batch)
        return epochs_for(steps, n_train, batch) * steps_per_epoch(n_train, batch)

    return FitEstimate(vae_seconds=vae * budget(s.vae_steps, s.vae_batch),
                       denoiser_seconds=denoiser * budget(s.diffusion_steps, s.batch_size),
                       rows=rows, columns=columns, threads=torch.get_num_threads(), device=str(device))


def is_long(estimate: FitEstimate, time_budget: float | None) -> bool:
    """Whether a fit of this estimate, stopped at ``time_budget`` seconds if given, takes longer than
    :data:`LONG_FIT_SECONDS`."""
    seconds = estimate.seconds if time_budget is None else min(estimate.seconds, time_budget)
    return seconds > LONG_FIT_SECONDS
