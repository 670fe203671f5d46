"""Solvers of the probability-flow ODE on the EDM time grid: Heun's 2nd-order method and DPM-Solver++(2M).

Both integrate dx/dsigma = (x - D(x, sigma)) / sigma from sigma_max down to 0 over the
rho-spaced grid of :func:`edm_sigmas`, with the update in ``state_dtype`` (float64 unless
told; a fitted tabular model asks for float32, whose rows scored the same on five tables
at 1.04x Adult's rows/s: benchmarks/ABLATIONS.md) whatever dtype the denoiser is called in:

- ``"heun"`` (Karras et al. 2022, Algorithm 1 without churn): an Euler step corrected
  by a second denoiser call at its end; ``num_steps`` noise levels cost
  ``2 * num_steps - 1`` calls.
- ``"dpm2m"`` (Lu et al. 2022, DPM-Solver++ with the second-order multistep update):
  one call per noise level, reusing the previous level's denoised estimate for the
  second order; ``num_steps`` levels cost ``num_steps`` calls. Written for the EDM
  parameterisation (alpha = 1, half-log-SNR lambda = -log sigma): with
  h = log(sigma_i / sigma_{i+1}) and r = h_{i-1} / h,
  x_{i+1} = (sigma_{i+1} / sigma_i) x_i + (1 - sigma_{i+1} / sigma_i) D', where
  D' = (1 + 1/(2r)) D_i - 1/(2r) D_{i-1} (D_i itself at the first level); the last
  step, to sigma = 0, returns D_i.
"""

from __future__ import annotations

from typing import Callable

import torch

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

SAMPLERS = ("heun", "dpm2m")


def denoiser_calls(sampler: str, num_steps: int) -> int:
    """Denoiser calls per row of ``sampler`` with ``num_steps`` noise levels."""
    return 2 * num_steps - 1 if sampler == "heun" else num_steps


def _in_state(denoiser: Denoiser, dtype: torch.dtype, state_dtype: torch.dtype) -> Denoiser:
    """``denoiser`` called in ``dtype`` on states of ``state_dtype``, its output back in ``state_dtype`` for
    the update."""
    def call(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return denoiser(x.to(dtype), sigma.to(dtype).expand(len(x))).to(state_dtype)
    return call


def edm_sigmas(num_steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> torch.Tensor:
    """The rho-spaced noise levels sigma_0 = sigma_max > ... > sigma_{N-1} = sigma_min, then 0."""
    if num_steps < 2:
        raise ValueError(f"num_steps must be at least 2; got {num_steps}")
    i = torch.arange(num_steps, dtype=torch.float64)
    t = (sigma_max ** (1 / rho) + i / (num_steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([t, torch.zeros(1, dtype=torch.float64)])


@torch.no_grad()
def heun_sample(
    denoiser: Denoiser,
    noise: torch.Tensor,
    *,
    num_steps: int = 50,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    state_dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Integrate dx/dsigma = (x - D(x, sigma)) / sigma from sigma_max down to 0.

    ``noise`` is standard normal of the output's shape. The update runs in
    ``state_dtype``; the denoiser is called in the noise's dtype. 2 * num_steps - 1
    denoiser calls in all.
    """
    t_steps = edm_sigmas(num_steps, sigma_min, sigma_max, rho).to(noise.device, state_dtype)
    D = _in_state(denoiser, noise.dtype, state_dtype)

    x_next = noise.to(state_dtype) * t_steps[0]
    for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:])):
        x_hat, t_hat = x_next, t_cur

        # Euler step.
        d_cur = (x_hat - D(x_hat, t_hat)) / t_hat
        x_next = x_hat + (t_next - t_hat) * d_cur

        # Apply 2nd order correction.
        if i < num_steps - 1:
            d_prime = (x_next - D(x_next, t_next)) / t_next
            x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
    return x_next


@torch.no_grad()
def dpm2m_sample(
    denoiser: Denoiser,
    noise: torch.Tensor,
    *,
    num_steps: int = 25,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    rho: float = 7.0,
    state_dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """DPM-Solver++(2M) from sigma_max down to 0 (module docstring): ``num_steps`` denoiser calls.

    ``noise`` is standard normal of the output's shape; the update runs in ``state_dtype``,
    the denoiser is called in the noise's dtype.
    """
    sigmas = edm_sigmas(num_steps, sigma_min, sigma_max, rho).to(noise.device, state_dtype)
    D = _in_state(denoiser, noise.dtype, state_dtype)
    x = noise.to(state_dtype) * sigmas[0]
    previous, h_previous = None, None
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:]):
        denoised = D(x, sigma)
        if sigma_next == 0:
            return denoised
        h = torch.log(sigma / sigma_next)
        estimate = denoised
        if previous is not None:
            half_inverse_r = 0.5 * h / h_previous  # 1 / (2 r)
            estimate = (1 + half_inverse_r) * denoised - half_inverse_r * previous
        ratio = sigma_next / sigma
        x = ratio * x + (1 - ratio) * estimate
        previous, h_previous = denoised, h
    return x


def ode_sample(denoiser: Denoiser, noise: torch.Tensor, *, sampler: str, num_steps: int,
               sigma_max: float = 80.0, state_dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``noise`` carried to data by ``sampler`` ("heun" or "dpm2m") over ``num_steps`` noise levels
    from ``sigma_max`` down, the update in ``state_dtype``."""
    if sampler == "heun":
        return heun_sample(denoiser, noise, num_steps=num_steps, sigma_max=sigma_max, state_dtype=state_dtype)
    if sampler == "dpm2m":
        return dpm2m_sample(denoiser, noise, num_steps=num_steps, sigma_max=sigma_max, state_dtype=state_dtype)
    raise ValueError(f"sampler must be one of {SAMPLERS}; got {sampler!r}")
