"""The sizes and budgets of a TabSynthesizer fit: presets, and keyword overrides on top of them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from tabsyn.base import check_choice, check_positive


@dataclass(frozen=True)
class Settings:
    """Everything a preset fixes; any field named in ``OVERRIDABLE`` can be overridden by a keyword argument."""

    vae_steps: int            # VAE optimiser steps (whole epochs, rounded up)
    diffusion_steps: int      # upper bound on diffusion optimiser steps (early stopping may end sooner)
    batch_size: int           # rows per optimiser step, both stages
    d_token: int              # latent width per column
    ffn_factor: int           # VAE feed-forward width = d_token * ffn_factor
    denoiser_width: int       # MLP denoiser width (TabSyn's dim_t)
    sampling_steps: int       # Heun steps (2 * steps - 1 denoiser calls)
    vae_lr: float
    diffusion_lr: float
    patience_steps: int       # diffusion steps without validation improvement before stopping
    beta_patience_steps: int  # VAE steps without improvement before beta decays
    ema_decay: float | None = None  # keep an EMA of the denoiser's weights (validated and kept)
    # Share of training rows that show the denoiser some of their cells (at fast's higher lr
    # and without EMA, 0.5 unsettled the missing rates).
    condition_rate: float = 0.5


# "default" is chosen by measurement on a 2-core CPU (README, "Speed and presets"):
# Adult fits in a few minutes. "paper" is the reference implementation's scale.
PRESETS = {
    "fast": Settings(vae_steps=500, diffusion_steps=1500, batch_size=512, d_token=4, ffn_factor=16,
                     denoiser_width=128, sampling_steps=20, vae_lr=2e-3, diffusion_lr=2e-3,
                     patience_steps=500, beta_patience_steps=100, condition_rate=0.25),
    "default": Settings(vae_steps=700, diffusion_steps=12000, batch_size=1024, d_token=4, ffn_factor=32,
                        denoiser_width=256, sampling_steps=30, vae_lr=2e-3, diffusion_lr=1e-3,
                        patience_steps=1500, beta_patience_steps=110, ema_decay=0.999),
    # The reference's 4000 VAE and 10000 diffusion epochs (patience 500) at its batch of
    # 4096, counted in steps for a table of Adult's size (7 batches an epoch).
    "paper": Settings(vae_steps=28000, diffusion_steps=70000, batch_size=4096, d_token=4, ffn_factor=32,
                      denoiser_width=1024, sampling_steps=50, vae_lr=1e-3, diffusion_lr=1e-3,
                      patience_steps=3500, beta_patience_steps=70),
}

# The estimator keywords that override a preset's field of the same name.
OVERRIDABLE = ("vae_steps", "diffusion_steps", "batch_size", "d_token", "denoiser_width", "sampling_steps")


def resolve_settings(preset: str, **overrides: int | None) -> Settings:
    """The preset's settings with every non-None override, each checked to be a positive integer."""
    check_choice(preset, "preset", tuple(PRESETS))
    unknown = set(overrides) - set(OVERRIDABLE)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; the overridable ones are {list(OVERRIDABLE)}")
    given = {name: check_positive(value, name, integer=True) for name, value in overrides.items() if value is not None}
    settings = replace(PRESETS[preset], **given)
    if settings.sampling_steps < 2:
        raise ValueError(f"sampling_steps must be at least 2; got {settings.sampling_steps}")
    return settings
