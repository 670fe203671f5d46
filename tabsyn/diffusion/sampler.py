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
    mask: torch.Tensor | None = None,
    known: torch.Tensor | None = None,
) -> torch.Tensor:
    """Integrate dx/dsigma = (x - D(x, sigma)) / sigma from sigma_max down to 0.

    ``noise`` is standard normal of the output's shape. The update runs in
    float64; the denoiser is called in the noise's dtype. 2 * num_steps - 1
    denoiser calls in all.

    With ``mask`` and ``known`` (inpainting), the entries where ``mask`` is True
    are held at ``known + sigma * noise`` at every step and returned as
    ``known``. Replacement alone barely steers the free entries of an ODE
    sampler; pass a denoiser wrapped by :func:`inpainting_denoiser` for that.
    The known entries' noise is the row's own starting noise, so a row depends
    only on its noise, never on the other rows of the batch.
    """
    t_steps = edm_sigmas(num_steps, sigma_min, sigma_max, rho).to(noise.device)
    dtype = noise.dtype
    eps = noise.to(torch.float64)
    if mask is not None:
        known = known.to(torch.float64)

    def D(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        sigma = t.to(dtype).expand(len(x))
        return denoiser(x.to(dtype), sigma).to(torch.float64)

    def clamp_known(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x if mask is None else torch.where(mask, known + t * eps, x)

    x_next = eps * t_steps[0]
    for i, (t_cur, t_next) in enumerate(zip(t_steps[:-1], t_steps[1:])):
        x_hat, t_hat = clamp_known(x_next, t_cur), t_cur

        # Euler step.
        d_cur = (x_hat - D(x_hat, t_hat)) / t_hat
        x_next = x_hat + (t_next - t_hat) * d_cur

        # Apply 2nd order correction.
        if i < num_steps - 1:
            d_prime = (x_next - D(x_next, t_next)) / t_next
            x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
    if mask is not None:
        x_next = torch.where(mask, known, x_next)
    return x_next


def inpainting_denoiser(denoiser: Denoiser, known: torch.Tensor, mask: torch.Tensor, *,
                        sigma_data: float = 0.5, scale: float = 1.0) -> Denoiser:
    """D(x, sigma) conditioned on the entries ``known`` where ``mask`` is True.

    Reconstruction guidance (pseudo-inverse guidance, Song et al. 2023, with an
    isotropic posterior): treat the clean known entries as an observation
    y ~ N(D_known(x), r^2) with r^2 = sigma^2 sigma_data^2 / (sigma^2 + sigma_data^2),
    the posterior variance of data of variance sigma_data^2, and add Tweedie's
    correction sigma^2 * grad_x log p(y | x) = sigma^2 / r^2 * J^T (y - D_known(x)).
    For Gaussian data with the exact denoiser this recovers most of the true
    conditional (tests/diffusion/test_sampler.py); each call costs one extra
    backward pass through the network.
    """
    known = known.detach()
    weight = mask.to(known.dtype)

    def D(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            d = denoiser(x, sigma)
            residual = (known.to(d.dtype) - d) * weight.to(d.dtype)
            (vjp,) = torch.autograd.grad(d, x, grad_outputs=residual.detach())
        s2 = sigma.to(d.dtype).reshape(-1, 1) ** 2
        r2 = s2 * sigma_data**2 / (s2 + sigma_data**2)
        return (d + scale * s2 / r2 * vjp).detach()

    return D
