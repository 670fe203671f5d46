"""Heun's 2nd-order solver of the probability-flow ODE on the EDM time grid."""

from __future__ import annotations

from typing import Callable

import torch

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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
) -> torch.Tensor:
    """Integrate dx/dsigma = (x - D(x, sigma)) / sigma from sigma_max down to 0.

    ``noise`` is standard normal of the output's shape. The update runs in
    float64; the denoiser is called in the noise's dtype. 2 * num_steps - 1
    denoiser calls in all.
    """
    t_steps = edm_sigmas(num_steps, sigma_min, sigma_max, rho).to(noise.device)
    dtype = noise.dtype

    def D(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        sigma = t.to(dtype).expand(len(x))
        return denoiser(x.to(dtype), sigma).to(torch.float64)

    x_next = noise.to(torch.float64) * t_steps[0]
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
