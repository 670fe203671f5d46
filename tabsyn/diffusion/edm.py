"""EDM (Karras et al., 2022) preconditioning and loss, as TabSyn uses them.

``EDMPrecond`` wraps any bare network F(x, c_noise) into a denoiser
D(x, sigma) = c_skip x + c_out F(c_in x, c_noise), so the network never sees
sigma scaling; a condition, if given, is passed through to F untouched.
``EDMLoss`` draws ln sigma ~ N(P_mean, P_std^2) and returns the unreduced,
weighted squared error; the caller reduces.
"""

from __future__ import annotations

import torch
from torch import nn


class EDMPrecond(nn.Module):
    """D(x, sigma) from a bare network ``net(x, c_noise)``."""

    def __init__(self, net: nn.Module, sigma_data: float = 0.5):
        super().__init__()
        self.net = net
        self.sigma_data = sigma_data

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        sigma = sigma.to(x.dtype).reshape(-1, 1)
        sd = self.sigma_data
        c_skip = sd**2 / (sigma**2 + sd**2)
        c_out = sigma * sd / (sigma**2 + sd**2).sqrt()
        c_in = 1 / (sd**2 + sigma**2).sqrt()
        c_noise = sigma.log().flatten() / 4
        out = self.net(c_in * x, c_noise) if cond is None else self.net(c_in * x, c_noise, cond)
        return c_skip * x + c_out * out


class EDMLoss:
    """Weighted denoising loss; ``__call__`` returns the per-element loss."""

    def __init__(self, P_mean: float = -1.2, P_std: float = 1.2, sigma_data: float = 0.5):
        self.P_mean, self.P_std, self.sigma_data = P_mean, P_std, sigma_data

    def __call__(self, denoiser: nn.Module, y: torch.Tensor, generator: torch.Generator | None = None,
                 cond: torch.Tensor | None = None) -> torch.Tensor:
        rnd_normal = torch.randn(len(y), 1, device=y.device, generator=generator)
        sigma = (rnd_normal * self.P_std + self.P_mean).exp()
        weight = (sigma**2 + self.sigma_data**2) / (sigma * self.sigma_data) ** 2
        n = torch.randn(y.shape, device=y.device, generator=generator) * sigma
        D_yn = denoiser(y + n, sigma) if cond is None else denoiser(y + n, sigma, cond)
        return weight * (D_yn - y) ** 2
