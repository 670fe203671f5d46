"""Beta schedules and the closed-form maths of the DDPM forward process.

Notation follows Ho et al. (2020) with 0-based timesteps t = 0 .. T-1:
``beta_t`` is the variance added at step t, ``alpha_t = 1 - beta_t`` and
``alpha_bar_t = prod_{s <= t} alpha_s``. Then

    q(x_t | x_0)      = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)
    q(x_{t-1} | x_t, x_0) = N(mu_tilde_t, beta_tilde_t I), with
    mu_tilde_t   = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0
                 + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t
    beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t

where alpha_bar_{-1} = 1. A :class:`NoiseSchedule` holds these numbers (in
float64) and no network; samplers and the training loss use it.
"""

from __future__ import annotations

import math

import torch

BETA_SCHEDULES = ("linear", "cosine")


def linear_betas(
    timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02, max_beta: float = 0.999
) -> torch.Tensor:
    """Ho et al.'s linear schedule, rescaled so any T covers the same total noise as T = 1000.

    With T = 1000 this is exactly linspace(1e-4, 0.02, 1000); for other T the end
    points are multiplied by 1000 / T (Nichol & Dhariwal, 2021), so a 500-step
    schedule still ends near pure noise. Betas are capped at ``max_beta`` (which
    matters only for T <= 20).
    """
    scale = 1000.0 / timesteps
    betas = torch.linspace(scale * beta_start, scale * beta_end, timesteps, dtype=torch.float64)
    return betas.clamp(max=max_beta)


def cosine_betas(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal's cosine schedule: alpha_bar(t) = cos^2(((t/T + s) / (1 + s)) pi/2)."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    betas = 1.0 - alpha_bar[1:] / alpha_bar[:-1]
    # Clip the last betas, which approach 1 and would make the reverse step singular.
    return betas.clamp(max=max_beta)


def _gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped (B, 1, 1, ...) to broadcast against ``like``, in its dtype and device."""
    out = values.to(like.device)[t.to(like.device).long()]
    return out.to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


class NoiseSchedule:
    """The forward (noising) process of a DDPM: betas and everything derived from them.

    Parameters
    ----------
    betas : torch.Tensor of shape (T,)
        Variance added at each step, each in (0, 1).

    Attributes
    ----------
    timesteps : int
        T, the number of steps.
    alphas, alpha_bar, alpha_bar_prev : torch.Tensor of shape (T,)
        ``1 - beta_t``, their running product, and the product up to t - 1
        (``alpha_bar_prev[0] = 1``).
    posterior_variance : torch.Tensor of shape (T,)
        ``beta_tilde_t``; zero at t = 0.

    Examples
    --------
    >>> sched = NoiseSchedule.from_name("cosine", 100)
    >>> x0 = torch.zeros(4, 1, 8, 8)
    >>> xt = sched.q_sample(x0, torch.full((4,), 99), torch.randn(4, 1, 8, 8))
    """

    def __init__(self, betas: torch.Tensor):
        betas = torch.as_tensor(betas, dtype=torch.float64).flatten()
        if len(betas) == 0 or not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("betas must be a non-empty sequence of values in (0, 1)")
        self.betas = betas
        self.timesteps = len(betas)
        self.alphas = 1.0 - betas
        self.alpha_bar = torch.cumprod(self.alphas, dim=0)
        self.alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bar[:-1]])
        # Posterior q(x_{t-1} | x_t, x_0): variance and the two mean coefficients.
        self.posterior_variance = betas * (1.0 - self.alpha_bar_prev) / (1.0 - self.alpha_bar)
        self.posterior_mean_coef_x0 = betas * self.alpha_bar_prev.sqrt() / (1.0 - self.alpha_bar)
        self.posterior_mean_coef_xt = (1.0 - self.alpha_bar_prev) * self.alphas.sqrt() / (1.0 - self.alpha_bar)

    @classmethod
    def from_name(cls, name: str, timesteps: int) -> "NoiseSchedule":
        """``"linear"`` or ``"cosine"`` schedule with ``timesteps`` steps."""
        if name == "linear":
            return cls(linear_betas(timesteps))
        if name == "cosine":
            return cls(cosine_betas(timesteps))
        raise ValueError(f"beta_schedule must be one of {list(BETA_SCHEDULES)}; got {name!r}")

    # -- forward process ---------------------------------------------------
    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Draw x_t ~ q(x_t | x_0) as sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps."""
        return _gather(self.alpha_bar.sqrt(), t, x0) * x0 + _gather((1.0 - self.alpha_bar).sqrt(), t, x0) * noise

    # -- reverse-process helpers ------------------------------------------
    def predict_x0(self, xt: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Invert q_sample for x_0 given the noise: (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)."""
        return (xt - _gather((1.0 - self.alpha_bar).sqrt(), t, xt) * eps) / _gather(self.alpha_bar.sqrt(), t, xt)

    def q_posterior(
        self, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean mu_tilde_t(x_t, x_0) and variance beta_tilde_t of q(x_{t-1} | x_t, x_0)."""
        mean = _gather(self.posterior_mean_coef_x0, t, xt) * x0 + _gather(self.posterior_mean_coef_xt, t, xt) * xt
        var = _gather(self.posterior_variance, t, xt).expand_as(xt)
        return mean, var

    def respace(self, use_timesteps: list[int]) -> "NoiseSchedule":
        """The schedule that visits only ``use_timesteps`` (increasing), with the same alpha_bar there.

        Its betas are ``1 - alpha_bar_{t_i} / alpha_bar_{t_{i-1}}`` (Nichol &
        Dhariwal, 2021), so DDPM ancestral sampling can run in fewer steps.
        """
        ts = torch.as_tensor(list(use_timesteps), dtype=torch.long)
        if len(ts) == 0 or bool((ts[1:] <= ts[:-1]).any()) or ts[0] < 0 or ts[-1] >= self.timesteps:
            raise ValueError("use_timesteps must be strictly increasing values in [0, T)")
        ab = self.alpha_bar[ts]
        ab_prev = torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])
        return NoiseSchedule(1.0 - ab / ab_prev)


def spaced_timesteps(timesteps: int, steps: int) -> list[int]:
    """``steps`` timesteps spread evenly over [0, T - 1], increasing, always holding 0 and T - 1."""
    if steps >= timesteps:
        return list(range(timesteps))
    if steps == 1:
        return [timesteps - 1]
    raw = torch.linspace(0, timesteps - 1, steps, dtype=torch.float64).round().long().tolist()
    return sorted(set(raw))
