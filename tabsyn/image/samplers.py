"""DDPM ancestral and DDIM sampling, with classifier-free guidance.

Both are plain functions over a noise-prediction network ``eps_theta(x, t, y)``
(``y=None`` selects the null class) and a :class:`NoiseSchedule`; they own the
loop and nothing else. Randomness comes in from the caller: the starting noise
``x_T`` and, for the steps that add fresh noise, ``noise_fn()`` (by default
``torch.randn_like``), so the caller decides how seeds map to images.
:func:`sample_from_seeds` is the caller ImageDDPM uses: one seed per image.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from tabsyn.base import batches
from tabsyn.image.schedule import NoiseSchedule, spaced_timesteps

EpsModel = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]
SAMPLERS = ("ddim", "ddpm")


def guided_eps(
    model: EpsModel, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None, guidance_scale: float
) -> torch.Tensor:
    """Classifier-free guidance: eps = eps_uncond + s * (eps_cond - eps_uncond).

    s = 1 is the conditional model alone and s = 0 the unconditional one; each
    costs a single network call. Without labels (``y=None``) the model runs
    unconditionally whatever s is.
    """
    if y is None or guidance_scale == 0.0:
        return model(x, t, None)
    eps_cond = model(x, t, y)
    if guidance_scale == 1.0:
        return eps_cond
    eps_uncond = model(x, t, None)
    return eps_uncond + guidance_scale * (eps_cond - eps_uncond)


def _frames_at(num_steps: int, num_frames: int) -> set[int]:
    """Step counts (0 = the starting noise, num_steps = the result) after which to keep a frame."""
    num_frames = max(2, min(num_frames, num_steps + 1))
    return {round(k * num_steps / (num_frames - 1)) for k in range(num_frames)}


@torch.no_grad()
def ddpm_sample(
    model: EpsModel,
    schedule: NoiseSchedule,
    x_T: torch.Tensor,
    *,
    y: torch.Tensor | None = None,
    guidance_scale: float = 1.0,
    steps: int | None = None,
    clip_denoised: bool = True,
    noise_fn: Callable[[], torch.Tensor] | None = None,
    return_intermediates: bool = False,
    num_frames: int = 10,
    progress: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """Ancestral sampling: x_{t-1} ~ N(mu_tilde(x_t, x0_hat), beta_tilde_t I), from t = T-1 to 0.

    With ``steps`` < T the schedule is respaced to that many evenly spread
    timesteps (Nichol & Dhariwal, 2021); ``steps=None`` walks all T.
    ``x0_hat`` is clipped to [-1, 1] when ``clip_denoised``. Returns x_0, or
    ``(x_0, frames)`` with ``num_frames`` snapshots from x_T to x_0.
    """
    ts = spaced_timesteps(schedule.timesteps, steps or schedule.timesteps)
    sched = schedule.respace(ts)  # index i of `sched` is timestep ts[i] of `schedule`
    noise_fn = noise_fn or (lambda: torch.randn_like(x_T))
    keep = _frames_at(len(ts), num_frames)
    x = x_T
    frames = [x.cpu()] if return_intermediates else []
    for k, i in enumerate(tqdm(range(len(ts) - 1, -1, -1), desc="ddpm", disable=not progress, leave=False), 1):
        i_batch = torch.full((len(x),), i, dtype=torch.long, device=x.device)
        t_batch = torch.full((len(x),), ts[i], dtype=torch.long, device=x.device)
        # Predict the noise, then the clean image it implies.
        eps = guided_eps(model, x, t_batch, y, guidance_scale)
        x0_hat = sched.predict_x0(x, i_batch, eps)
        if clip_denoised:
            x0_hat = x0_hat.clamp(-1.0, 1.0)
        # Step to x_{t-1} through the posterior q(x_{t-1} | x_t, x0_hat); no noise on the last step.
        mean, var = sched.q_posterior(x0_hat, x, i_batch)
        x = mean + var.sqrt() * noise_fn().to(x) if i > 0 else mean
        if return_intermediates and k in keep:
            frames.append(x.cpu())
    return (x, frames) if return_intermediates else x


@torch.no_grad()
def ddim_sample(
    model: EpsModel,
    schedule: NoiseSchedule,
    x_T: torch.Tensor,
    *,
    y: torch.Tensor | None = None,
    guidance_scale: float = 1.0,
    steps: int = 50,
    eta: float = 0.0,
    clip_denoised: bool = True,
    noise_fn: Callable[[], torch.Tensor] | None = None,
    return_intermediates: bool = False,
    num_frames: int = 10,
    progress: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """DDIM (Song et al., 2021) over ``steps`` evenly spread timesteps; deterministic when eta = 0.

    x_{t'} = sqrt(alpha_bar_{t'}) x0_hat + sqrt(1 - alpha_bar_{t'} - sigma^2) eps + sigma z, with
    sigma = eta sqrt((1 - alpha_bar_{t'}) / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_{t'}),
    t' the previous visited timestep and alpha_bar = 1 after the last one.
    """
    ts = spaced_timesteps(schedule.timesteps, steps)
    alpha_bar = schedule.alpha_bar.tolist()
    noise_fn = noise_fn or (lambda: torch.randn_like(x_T))
    keep = _frames_at(len(ts), num_frames)
    x = x_T
    frames = [x.cpu()] if return_intermediates else []
    for k, i in enumerate(tqdm(range(len(ts) - 1, -1, -1), desc="ddim", disable=not progress, leave=False), 1):
        ab_t = alpha_bar[ts[i]]
        ab_prev = alpha_bar[ts[i - 1]] if i > 0 else 1.0
        t_batch = torch.full((len(x),), ts[i], dtype=torch.long, device=x.device)
        # Predict the noise and the clean image; with clipping, re-derive eps from the clipped x0.
        eps = guided_eps(model, x, t_batch, y, guidance_scale)
        x0_hat = (x - (1 - ab_t) ** 0.5 * eps) / ab_t**0.5
        if clip_denoised:
            x0_hat = x0_hat.clamp(-1.0, 1.0)
            eps = (x - ab_t**0.5 * x0_hat) / (1 - ab_t) ** 0.5
        # Jump to the previous visited timestep along the DDIM update.
        sigma = eta * ((1 - ab_prev) / (1 - ab_t)) ** 0.5 * (1 - ab_t / ab_prev) ** 0.5
        x = ab_prev**0.5 * x0_hat + max(1 - ab_prev - sigma**2, 0.0) ** 0.5 * eps
        if sigma > 0:
            x = x + sigma * noise_fn().to(x)
        if return_intermediates and k in keep:
            frames.append(x.cpu())
    return (x, frames) if return_intermediates else x


def sample_from_seeds(
    model: torch.nn.Module,
    schedule: NoiseSchedule,
    shape: tuple[int, ...],
    seeds: np.ndarray,
    y: torch.Tensor | None = None,
    *,
    sampler: str = "ddim",
    steps: int | None = None,
    eta: float = 0.0,
    guidance_scale: float = 1.0,
    batch_size: int = 256,
    return_intermediates: bool = False,
    progress: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One image of ``shape`` per seed, ``batch_size`` at a time, in [-1, 1] on the CPU, with its frames.

    Every image draws its starting noise and each later noise from a CPU
    generator seeded by its own seed, so image i depends on ``seeds[i]`` (and
    ``y[i]``) alone, never on ``batch_size``. ``steps`` defaults to 50 for DDIM
    and all T for DDPM. The frames are empty unless ``return_intermediates``.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    outs, frame_parts = [], []
    for start, rows in batches(len(seeds), batch_size):
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds[start : start + rows]]

        def draw(gens=gens):
            return torch.stack([torch.randn(shape, generator=g) for g in gens]).to(device)

        y_b = None if y is None else y[start : start + rows].to(device)
        kwargs = dict(y=y_b, guidance_scale=guidance_scale, noise_fn=draw,
                      return_intermediates=return_intermediates, progress=progress)
        if sampler == "ddim":
            result = ddim_sample(model, schedule, draw(), steps=steps or 50, eta=eta, **kwargs)
        else:
            result = ddpm_sample(model, schedule, draw(), steps=steps, **kwargs)
        x, frames = result if return_intermediates else (result, [])
        outs.append(x.float().cpu())
        frame_parts.append([f.float() for f in frames])
    model.train(was_training)
    frames = [torch.cat([part[k] for part in frame_parts]) for k in range(len(frame_parts[0]))]
    return torch.cat(outs), frames
