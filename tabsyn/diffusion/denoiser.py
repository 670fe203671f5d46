"""The bare MLP denoiser of TabSyn's latent diffusion (no sigma scaling inside)."""

from __future__ import annotations

import torch
from torch import nn

from tabsyn.diffusion.embedding import SinusoidalEmbedding


class MLPDenoiser(nn.Module):
    """F(x, c_noise[, cond]): project x, add the embedded noise level (and condition), then an MLP.

    Layer widths: d_in -> width, then width -> 2 width -> 2 width -> width -> d_in,
    SiLU between (TabSyn's MLPDiffusion, with ``width`` its dim_t). With
    ``d_cond > 0`` a condition vector is projected to ``width`` and added to the
    noise embedding; no condition counts as the zero vector.
    """

    def __init__(self, d_in: int, width: int = 1024, d_cond: int = 0):
        super().__init__()
        self.proj = nn.Linear(d_in, width)
        self.noise_embed = SinusoidalEmbedding(width)
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.cond_proj = nn.Linear(d_cond, width) if d_cond else None
        self.mlp = nn.Sequential(
            nn.Linear(width, 2 * width), nn.SiLU(),
            nn.Linear(2 * width, 2 * width), nn.SiLU(),
            nn.Linear(2 * width, width), nn.SiLU(),
            nn.Linear(width, d_in),
        )

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time_mlp(self.noise_embed(c_noise))
        if self.cond_proj is not None:
            emb = emb + (self.cond_proj.bias if cond is None else self.cond_proj(cond))
        return self.mlp(self.proj(x) + emb)
