"""The sinusoidal embedding of a noise level or timestep, shared by the latent MLP and the image U-Net."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class SinusoidalEmbedding(nn.Module):
    """A scalar c per row -> [cos(c w_0..w_{h-1}), sin(c w_0..w_{h-1})], h = dim // 2.

    The frequencies w_k = max_period^(-k / h) are spaced geometrically (Vaswani
    et al., 2017; Ho et al., 2020), computed once on the CPU in float32 and kept
    as a non-persistent buffer, so they follow the module's device and dtype but
    never enter a state dict. An odd ``dim`` gets one zero column at the end.
    Input of any shape is flattened: (B,) -> (B, dim).

    Examples
    --------
    >>> SinusoidalEmbedding(8)(torch.tensor([0.0, 1.0])).shape
    torch.Size([2, 8])
    """

    def __init__(self, dim: int, max_period: float = 10000.0):
        super().__init__()
        self.dim = dim
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        angles = c.reshape(-1, 1).to(self.freqs.dtype) * self.freqs
        emb = torch.cat([angles.cos(), angles.sin()], dim=1)
        return F.pad(emb, (0, 1)) if self.dim % 2 else emb
