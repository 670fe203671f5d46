"""The bare MLP denoiser of TabSyn's latent diffusion (no sigma scaling inside)."""

from __future__ import annotations

import torch
from torch import nn

from tabsyn.diffusion.embedding import SinusoidalEmbedding


SHARED_LEVELS = 8  # noise_embedding: calls with at most this many distinct levels embed each once


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
        emb = self.noise_embedding(c_noise)
        if self.cond_proj is not None:
            emb = emb + (self.cond_proj.bias if cond is None else self.cond_proj(cond))
        return self.mlp(self.proj(x) + emb)

    def noise_embedding(self, c_noise: torch.Tensor) -> torch.Tensor:
        """The embedded noise level of each row.

        A sampler's call gives every row the same level (and its padding rows one more), so
        without gradients a call of at most ``SHARED_LEVELS`` distinct levels embeds each level
        once, as a batch of one row, and hands it to its rows: the time MLP, a fifth of the
        network's multiplications at width 256, then costs nothing per row. A level's embedding
        never depends on the other rows of the call (each is computed alone, in one shape).
        """
        if not torch.is_grad_enabled() and c_noise.dim() == 1 and len(c_noise) > SHARED_LEVELS:
            levels, inverse = torch.unique(c_noise, return_inverse=True)
            if len(levels) <= SHARED_LEVELS:
                return torch.cat([self.time_mlp(self.noise_embed(level.reshape(1))) for level in levels])[inverse]
        return self.time_mlp(self.noise_embed(c_noise))
