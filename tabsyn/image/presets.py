"""The sizes and training recipe of an ImageDDPM fit: presets, and keyword overrides on top of them."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from typing import Any

from tabsyn.base import check_choice, check_fraction, check_non_negative, check_positive


@dataclass(frozen=True)
class ImageSettings:
    base_channels: int                      # U-Net channels at full resolution
    channel_mults: tuple[int, ...]          # channel multiplier per resolution level
    num_res_blocks: int                     # ResNet blocks per level
    attention_resolutions: tuple[int, ...]  # feature-map sides with self-attention
    dropout: float                          # dropout inside ResNet blocks
    timesteps: int                          # T, diffusion steps
    steps: int                              # optimiser steps the preset spends (its training budget)
    epochs: int | None                      # passes over the images; None: as many as ``steps`` needs
    batch_size: int
    lr: float                               # Adam learning rate (after warm-up)
    ema_decay: float                        # 0 turns EMA off
    warmup_steps: int                       # linear lr warm-up, in optimiser steps


# The three sizes of seed 002. A preset's budget is a number of optimiser steps, not of epochs:
# 20 epochs were 220 steps on sklearn's 1,797 digits (chance-level samples) and 9,400 on
# Fashion-MNIST's 60,000 images. `small` spends 1,500 steps: on sklearn's digits that measured
# 0.998 conditional accuracy at the default guidance in 3.2 minutes on a 2-core CPU
# (benchmarks/IMAGE_RESULTS.md, Fashion-MNIST there too). `baseline` and `large` are GPU sizes
# (about 50 and 100 epochs of Fashion-MNIST).
PRESETS = {
    "small": ImageSettings(32, (1, 2, 4), 1, (), 0.0, 500, 1500, None, 128, 1e-3, 0.995, 200),
    "baseline": ImageSettings(64, (1, 2, 4, 8), 2, (7,), 0.1, 1000, 25_000, None, 128, 2e-4, 0.9995, 500),
    "large": ImageSettings(128, (1, 2, 3, 4), 3, (7, 14), 0.1, 1000, 50_000, None, 128, 2e-4, 0.9999, 1000),
}
MIN_SIDE = 4  # preset levels whose feature maps would be smaller than this are dropped

# Every field of ImageSettings can be overridden by the estimator keyword of the same name.
_POSITIVE_INTS = ("steps", "epochs", "batch_size", "timesteps", "base_channels", "num_res_blocks")
_FRACTIONS = ("dropout", "ema_decay")
_INT_TUPLES = ("channel_mults", "attention_resolutions")


def _int_tuple(value: Any, name: str) -> tuple[int, ...]:
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value
    )
    if not ok or (name == "channel_mults" and len(value) == 0):
        raise ValueError(f"{name} must be a tuple of positive integers; got {value!r}")
    return tuple(int(v) for v in value)


def resolve_settings(config: str, image_side: int, **overrides: Any) -> ImageSettings:
    """The preset ``config`` with every non-None override applied and checked.

    Without an explicit ``channel_mults`` the preset's levels are kept only while
    their feature maps, starting from ``image_side``, stay ``MIN_SIDE`` pixels wide.
    """
    check_choice(config, "config", tuple(PRESETS))
    unknown = set(overrides) - set(ImageSettings.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; the overridable ones are "
                        f"{list(ImageSettings.__dataclass_fields__)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    over: dict[str, Any] = {}
    for name in _POSITIVE_INTS:
        if name in given:
            over[name] = int(check_positive(given[name], name, integer=True))
    if "warmup_steps" in given:
        over["warmup_steps"] = int(check_non_negative(given["warmup_steps"], "warmup_steps", integer=True,
                                                      allow_none=True))
    if "lr" in given:
        over["lr"] = float(check_positive(given["lr"], "lr"))
    for name in _FRACTIONS:
        if name in given:
            over[name] = check_fraction(given[name], name)
    for name in _INT_TUPLES:
        if name in given:
            over[name] = _int_tuple(given[name], name)
    preset = PRESETS[config]
    if "channel_mults" not in over:
        mults, side = [preset.channel_mults[0]], image_side
        for m in preset.channel_mults[1:]:
            side = (side + 1) // 2
            if side < MIN_SIDE:
                break
            mults.append(m)
        over["channel_mults"] = tuple(mults)
    settings = replace(preset, **over)
    if settings.timesteps < 2:
        raise ValueError(f"timesteps must be at least 2; got {settings.timesteps}")
    return settings


def epochs_for(settings: ImageSettings, n_images: int) -> int:
    """Passes over ``n_images`` images a fit makes: ``settings.epochs`` when set, else enough for ``settings.steps``."""
    if settings.epochs is not None:
        return settings.epochs
    steps_per_epoch = -(-n_images // settings.batch_size)
    return max(1, -(-settings.steps // steps_per_epoch))
