"""The sizes and budgets of a TabSynthesizer fit: presets, scaled to the table, and keyword overrides.

A preset's budgets are written for a large table (Adult's 26,000 rows). For a
smaller table :func:`resolve_settings` shrinks them so the work follows the data
(a table is never slower to fit because it is smaller):

- each stage's batch holds about a quarter of the training rows (a power of two, at least
  ``MIN_BATCH``, at most the preset's batch for it: ``batch_size`` the VAE's, and the
  denoiser's unless ``diffusion_batch_size``), so every epoch takes several steps;
- the VAE's batch also holds at most ``vae_batch_tokens`` tokens (rows x (columns + 1):
  one token per model column and the [CLS]), so a wide table gets fewer rows a step.
  Its transformers attend over every pair of tokens in a row, so a step costs more per
  token on a wider table: at 1 thread, Adult's 1,024 rows of 15 columns took 0.15 s a
  step, 128 rows of a 500-column table 1.56 s, 64 rows 0.87 s, 32 rows 0.33 s. The cap is
  1,024 rows on a table of 31 model columns (a power of two, at least ``MIN_VAE_BATCH``),
  so the default VAE's 512 rows hold up to 63 columns, every benchmark table among them;
  the denoiser, an MLP (0.03 s a step on the 500 columns), keeps its batch;
- from ``full_rows`` training rows up, the VAE and the denoiser get the preset's
  steps; below, the denoiser's budget shrinks as ``(rows / full_rows) ** diffusion_rows_power``
  (0.5, the square root, in every preset: 0.75 cost the 2,000-row tables detection) and the
  VAE's as ``(rows / full_rows) ** vae_rows_power`` (the default preset's: 1), never below
  ``min_steps`` (a first rule, epochs times steps per epoch, cut a 9,000-row table
  to a third of its steps and cost it 0.03 of quality: benchmarks/ABLATIONS.md);
- validation (early stopping, beta decay, best weights) runs every
  ``eval_every_steps`` optimiser steps, not every epoch, and patience counts steps.

Keyword overrides (``vae_steps=...``) are taken as given, after the scaling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from tabsyn.base import check_choice, check_positive
from tabsyn.diffusion.sampler import SAMPLERS
from tabsyn.table.schema import DATETIME, ID, NUMERICAL, ColumnSpec


@dataclass(frozen=True)
class Settings:
    """Everything a preset fixes; any field named in ``OVERRIDABLE`` can be overridden by a keyword argument."""

    vae_steps: int            # VAE optimiser steps (whole epochs, rounded up)
    diffusion_steps: int      # upper bound on diffusion optimiser steps (early stopping may end sooner)
    batch_size: int           # rows per optimiser step: in a preset the VAE's (and the denoiser's unless
    #                           diffusion_batch_size); scaled, the denoiser's (the VAE's is vae_batch_size)
    d_token: int              # latent width per column
    ffn_factor: int           # VAE feed-forward width = d_token * ffn_factor
    denoiser_width: int       # MLP denoiser width (TabSyn's dim_t)
    sampling_steps: int       # noise levels of the sampler (heun: 2 * steps - 1 denoiser calls, dpm2m: steps)
    vae_lr: float
    diffusion_lr: float
    patience_steps: int       # diffusion steps without validation improvement before stopping
    beta_patience_steps: int  # VAE steps without improvement before beta decays
    ema_decay: float | None = None  # keep an EMA of the denoiser's weights (validated and kept)
    full_rows: int = 0              # training rows from which the step budgets apply in full (0: always)
    min_steps: int = 0              # no stage trains fewer steps than this (unless overridden)
    eval_every_steps: int = 1       # optimiser steps between validations
    # Share of training rows that show the denoiser some of their cells (at fast's higher lr
    # and without EMA, 0.5 unsettled the missing rates).
    condition_rate: float = 0.5
    vae_batch_tokens: int = 0  # rows x tokens of a VAE batch at most (0: no cap; see the module docstring)
    vae_batch_size: int = 0    # rows per VAE optimiser step as scaled to the table (0: batch_size)
    # In a preset: rows per denoiser step at full scale, when not batch_size (0: batch_size). The scaling
    # then sets batch_size to the denoiser's batch and vae_batch_size to the VAE's.
    diffusion_batch_size: int = 0
    sampler: str = "heun"      # the ODE solver (tabsyn.diffusion.sampler.SAMPLERS)
    sigma_max: float = 80.0    # the noise level sampling starts from
    # The sampler's update: "float32" (every preset; its rows scored as float64's on five tables, at
    # 1.04x Adult's rows/s: benchmarks/ABLATIONS.md) or "float64" (what model files saved before it
    # sample with).
    ode_precision: str = "float32"
    # The denoiser's training steps: "float32", "bfloat16" (autocast) or "auto" (bfloat16 where the
    # hardware has it; tabsyn.tabular.latent.resolve_precision).
    diffusion_precision: str = "float32"
    # The denoiser's learning rate: "constant", or "cosine" (decaying to 0 over its step budget).
    diffusion_schedule: str = "constant"
    diffusion_grad_clip: float | None = None  # the denoiser's largest gradient norm (None: not clipped)
    # Below full_rows the VAE's steps shrink as (rows / full_rows) ** vae_rows_power, the denoiser's as
    # (rows / full_rows) ** diffusion_rows_power.
    vae_rows_power: float = 0.5
    diffusion_rows_power: float = 0.5
    # The noise levels the denoiser trains on: ln sigma ~ N(noise_mean, noise_std^2) (EDM's -1.2, 1.2).
    noise_mean: float = -1.2
    noise_std: float = 1.2

    @property
    def vae_batch(self) -> int:
        """Rows per VAE optimiser step."""
        return self.vae_batch_size or self.batch_size


# "default" is chosen by measurement on a 2-core CPU (README, "Speed and presets"):
# Adult fits in a few minutes. "paper" is the reference implementation's scale.
PRESETS = {
    "fast": Settings(vae_steps=500, diffusion_steps=1500, batch_size=512, d_token=4, ffn_factor=16,
                     denoiser_width=128, sampling_steps=20, vae_lr=2e-3, diffusion_lr=2e-3,
                     patience_steps=500, beta_patience_steps=100, condition_rate=0.25,
                     full_rows=8000, min_steps=100, eval_every_steps=50, vae_batch_tokens=512 * 32),
    # DPM-Solver++(2M) over 16 levels from sigma 10 (16 denoiser calls) sampled Adult and Default
    # within 0.01 of 16 Heun steps from 80 (31 calls), 1.8x faster; the denoiser's steps in bfloat16
    # (where the CPU has it) halved Adult's and Default's fits at no measured cost; its learning rate
    # 2e-3 (not 1e-3) lowered both detection AUCs by 0.02-0.03 on both tables at the same quality
    # (conditioning a fifth of the rows instead of half gained Adult 0.01 more, but made conditional
    # sampling worse than filtering); 1,400 VAE steps (not 700) raised quality and pair trends on
    # Adult and Default (pair trends by 0.03-0.04) and lowered both detection AUCs; below 8,000 rows
    # the VAE's steps shrink in proportion to the rows, so a 2,000-row table gets 315 (332 before)
    # and keeps its fit time; the VAE's batch 512 rows (the denoiser's stays 1,024) halved the VAE's
    # seconds, with Adult's scores all better and Default's level; training on noise levels centred
    # at ln sigma = -0.8 (EDM's -1.2 before) lowered both detection AUCs by 0.02-0.03 on Adult and
    # Default at the same quality: benchmarks/ABLATIONS.md.
    "default": Settings(vae_steps=1400, diffusion_steps=12000, batch_size=512, d_token=4, ffn_factor=32,
                        denoiser_width=256, sampling_steps=16, vae_lr=2e-3, diffusion_lr=2e-3,
                        patience_steps=1500, beta_patience_steps=110, ema_decay=0.999,
                        full_rows=8000, min_steps=300, eval_every_steps=100, vae_batch_tokens=1024 * 32,
                        sampler="dpm2m", sigma_max=10.0, diffusion_precision="auto", vae_rows_power=1.0,
                        diffusion_batch_size=1024, noise_mean=-0.8),
    # The reference's 4000 VAE and 10000 diffusion epochs (patience 500) at its batch of
    # 4096, counted in steps for a table of Adult's size (7 batches an epoch).
    "paper": Settings(vae_steps=28000, diffusion_steps=70000, batch_size=4096, d_token=4, ffn_factor=32,
                      denoiser_width=1024, sampling_steps=50, vae_lr=1e-3, diffusion_lr=1e-3,
                      patience_steps=3500, beta_patience_steps=70,
                      full_rows=8000, min_steps=1000, eval_every_steps=7, vae_batch_tokens=4096 * 32),
}

# The estimator keywords that override a preset's field of the same name.
OVERRIDABLE = ("vae_steps", "diffusion_steps", "batch_size", "d_token", "denoiser_width", "sampling_steps")


MIN_BATCH = 64        # smallest batch the scaling picks (a smaller table trains on all its rows at once)
ROWS_PER_BATCH = 4    # the batch is about the training rows / this, so an epoch takes several steps
MIN_VAE_BATCH = 16    # smallest VAE batch the column cap picks


def _power_of_two(n: float) -> int:
    return 2 ** int(math.log2(max(n, 1)))


def model_columns(specs: list[ColumnSpec]) -> int:
    """Columns the VAE gets a token for: each non-ID column, and the "is missing" flag of each numerical
    or datetime column with missing values (:class:`~tabsyn.tabular.codec.TableCodec`'s layout)."""
    return sum(1 + (s.kind in (NUMERICAL, DATETIME) and s.n_missing > 0) for s in specs if s.kind != ID)


def scale_to_table(s: Settings, n_train: int, *, n_columns: int | None = None, batch_size: int | None = None,
                   vae_steps: int | None = None, diffusion_steps: int | None = None) -> Settings:
    """``s`` with its batch and step budgets for a table of ``n_train`` training rows and ``n_columns``
    model columns (:func:`model_columns`; None: no column cap) (module docstring).

    Budgets given here are kept (a ``batch_size`` given is both stages' batch); patience follows the
    budgets in the end.
    """
    vae_batch = batch_size
    if batch_size is None:
        rows_cap = max(MIN_BATCH, _power_of_two(n_train // ROWS_PER_BATCH))
        batch_size = min(s.diffusion_batch_size or s.batch_size, rows_cap)
        vae_batch = min(s.batch_size, rows_cap)
        if n_columns is not None and s.vae_batch_tokens:
            vae_batch = min(vae_batch, max(MIN_VAE_BATCH, _power_of_two(s.vae_batch_tokens / (n_columns + 1))))
    share = 1.0 if not s.full_rows else min(1.0, n_train / s.full_rows) ** s.diffusion_rows_power

    vae_share = 1.0 if not s.full_rows else min(1.0, n_train / s.full_rows) ** s.vae_rows_power

    def steps(cap: int, share: float = share) -> int:
        return int(min(cap, max(s.min_steps, round(cap * share))))

    vae_steps = vae_steps or steps(s.vae_steps, vae_share)
    diffusion_steps = diffusion_steps or steps(s.diffusion_steps)
    # Patience shrinks with a smaller budget, but never below a few validations.
    floor = 3 * s.eval_every_steps
    return replace(s, batch_size=batch_size, vae_batch_size=vae_batch, diffusion_batch_size=batch_size,
                   vae_steps=vae_steps,
                   diffusion_steps=diffusion_steps,
                   patience_steps=max(floor, round(s.patience_steps * min(1.0, diffusion_steps / s.diffusion_steps))),
                   beta_patience_steps=max(floor, round(s.beta_patience_steps * min(1.0, vae_steps / s.vae_steps))))


def resolve_settings(preset: str, n_train: int | None = None, n_columns: int | None = None,
                     sampler: str | None = None, **overrides: int | None) -> Settings:
    """The preset's settings, scaled to ``n_train`` training rows (and ``n_columns`` model columns) if
    given, then every non-None override.

    Each override is checked to be a positive integer.
    """
    check_choice(preset, "preset", tuple(PRESETS))
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; the overridable ones are {list(OVERRIDABLE)}")
    given = {name: check_positive(value, name, integer=True) for name, value in overrides.items() if value is not None}
    settings = PRESETS[preset]
    if n_train is not None:
        settings = scale_to_table(settings, n_train, n_columns=n_columns,
                                  **{k: given.get(k) for k in ("batch_size", "vae_steps", "diffusion_steps")})
    settings = replace(settings, **given)
    if settings.sampling_steps < 2:
        raise ValueError(f"sampling_steps must be at least 2; got {settings.sampling_steps}")
    if sampler is not None:
        settings = replace(settings, sampler=check_choice(sampler, "sampler", SAMPLERS))
    return settings
