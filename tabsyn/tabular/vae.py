"""The tokenizing VAE of TabSyn: one token per column, transformers, per-column heads.

Encoding a row:

1. Tokenize: numerical value x_j -> x_j * w_j + b_j; category c of column j ->
   embedding(c) + b_j; a [CLS] token (a constant 1 through its own w, b) goes first.
2. Two small transformers map the tokens to mu and log-variance per token.
3. z = mu + exp(logvar / 2) * eps (reparameterisation).

Decoding: a transformer over z without [CLS], then per-column heads: a dot
product with w_j for numbers (MSE), a linear layer to logits for categories
(cross-entropy). Loss = reconstruction + beta * KL.

The latent the diffusion model learns is mu without [CLS], flattened to
(columns x d_token). This module never imports pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tabsyn.tabular.conditioning import category_offsets

EVAL_BLOCK = 4096  # rows per call when a whole table goes through the VAE without gradients (latents, validation)


@dataclass
class VAEConfig:
    n_num: int                 # numerical columns
    cat_sizes: list[int]       # categories per categorical column (missing included)
    d_token: int = 4           # width of each column's token (and of its latent)
    n_layers: int = 2          # transformer layers in each of mu-encoder, logvar-encoder, decoder
    n_heads: int = 1           # attention heads
    ffn_factor: int = 32       # feed-forward width = d_token * ffn_factor


class Tokenizer(nn.Module):
    """Rows -> (batch, 1 + n_num + n_cat, d_token) tokens, [CLS] first."""

    def __init__(self, n_num: int, cat_sizes: list[int], d: int):
        super().__init__()
        # Row 0 of weight/bias is the [CLS] token, fed a constant 1.
        self.weight = nn.Parameter(torch.empty(n_num + 1, d))
        self.bias = nn.Parameter(torch.empty(n_num + 1 + len(cat_sizes), d))
        self.embedding = nn.Embedding(max(sum(cat_sizes), 1), d)
        # A plain tensor, not a buffer: Opacus (DP-SGD) refuses layers that hold both parameters and buffers.
        self.offsets = category_offsets(list(cat_sizes))
        bound = d**-0.5
        for p in (self.weight, self.bias, self.embedding.weight):
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(len(x_num), 1, dtype=x_num.dtype, device=x_num.device)
        tokens = torch.cat([ones, x_num], dim=1).unsqueeze(-1) * self.weight
        if x_cat.shape[1]:
            if self.offsets.device != x_cat.device:
                self.offsets = self.offsets.to(x_cat.device)
            tokens = torch.cat([tokens, self.embedding(x_cat + self.offsets)], dim=1)
        return tokens + self.bias


class TransformerBlock(nn.Module):
    """Pre-norm self-attention and feed-forward, each with a residual.

    ``attention`` says how attention is computed, from the same weights either way:
    ``"algebra"`` as plain tensor algebra, ``"fused"`` by ``nn.MultiheadAttention``'s fused
    kernel, ``"auto"`` (the default) the algebra when a row has no more tokens than the
    feed-forward is wide, so its score matrix is no larger than the feed-forward's activations,
    and the fused kernel, which never holds the tokens x tokens scores, for longer rows (wide
    tables). At 4-wide tokens the fused CPU kernel cost a VAE step 1.01-1.20x the algebra's
    (``python benchmarks/vae_attention.py``). A DP fit sets ``"algebra"``, which ``torch.func``
    takes per-row gradients of at batched speed (the fused kernel has no batching rule and runs
    row by row).
    """

    attention = "auto"

    def __init__(self, d: int, n_heads: int, ffn_factor: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, n_heads, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(d, d * ffn_factor), nn.ReLU(), nn.Linear(d * ffn_factor, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        algebra = self.attention == "algebra" or (self.attention == "auto"
                                                  and h.shape[-2] <= self.ffn[0].out_features)
        x = x + (self._attention(h) if algebra else self.attn(h, h, h, need_weights=False)[0])
        return x + self.ffn(self.norm2(x))

    def _attention(self, h: torch.Tensor) -> torch.Tensor:
        a = self.attn
        q, k, v = F.linear(h, a.in_proj_weight, a.in_proj_bias).chunk(3, dim=-1)
        split = (lambda t: t.unflatten(-1, (a.num_heads, -1)).transpose(-3, -2))  # (batch, heads, tokens, d)
        q, k, v = split(q), split(k), split(v)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        return a.out_proj((w @ v).transpose(-3, -2).flatten(-2))


def _stack(cfg: VAEConfig) -> nn.Sequential:
    return nn.Sequential(*(TransformerBlock(cfg.d_token, cfg.n_heads, cfg.ffn_factor) for _ in range(cfg.n_layers)))


class Reconstructor(nn.Module):
    """Decoded tokens -> numerical values and categorical logits."""

    def __init__(self, n_num: int, cat_sizes: list[int], d: int):
        super().__init__()
        self.n_num = n_num
        self.weight = nn.Parameter(torch.empty(n_num, d))
        nn.init.xavier_uniform_(self.weight)
        self.heads = nn.ModuleList(nn.Linear(d, k) for k in cat_sizes)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x_num = (h[:, : self.n_num] * self.weight).sum(-1)
        logits = [head(h[:, self.n_num + j]) for j, head in enumerate(self.heads)]
        return x_num, logits


class TabularVAE(nn.Module):
    """Tokenizer, mu/logvar transformers, decoder transformer and heads."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg = cfg
        self.tokenizer = Tokenizer(cfg.n_num, cfg.cat_sizes, cfg.d_token)
        self.encoder_mu = _stack(cfg)
        self.encoder_logvar = _stack(cfg)
        self.decoder = _stack(cfg)
        self.reconstructor = Reconstructor(cfg.n_num, cfg.cat_sizes, cfg.d_token)

    def encode(self, x_num: torch.Tensor, x_cat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.tokenizer(x_num, x_cat)
        return self.encoder_mu(tokens), self.encoder_logvar(tokens)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Latent tokens without [CLS], (batch, columns, d_token) -> values and logits."""
        return self.reconstructor(self.decoder(z))

    def forward(self, x_num, x_cat):
        mu, logvar = self.encode(x_num, x_cat)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon_num, recon_logits = self.decode(z[:, 1:])
        return recon_num, recon_logits, mu, logvar

    @torch.no_grad()
    def latents(self, x_num: torch.Tensor, x_cat: torch.Tensor, *, block: int = EVAL_BLOCK) -> torch.Tensor:
        """The diffusion model's training data: mu without [CLS], flattened; ``block`` rows at a time.

        Only mu is computed (not the log-variance). In blocks, the transformer's activations
        (rows x tokens x feed-forward width floats) stay bounded: 100,000 flights rows at once
        took 2.7 GB more memory.
        """
        parts = [self.encoder_mu(self.tokenizer(x_num[i:i + block], x_cat[i:i + block]))[:, 1:].flatten(1)
                 for i in range(0, len(x_num), block)]
        return torch.cat(parts) if parts else x_num.new_zeros(0, (self.cfg.n_num + len(self.cfg.cat_sizes))
                                                              * self.cfg.d_token)


def reconstruction(
    recon_num: torch.Tensor, logits: list[torch.Tensor], x_num: torch.Tensor, x_cat: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Reconstruction terms of decoded rows against the true ones (scalar tensors).

    ``mse``: mean squared error over numerical cells (0 without any); ``ce``: the
    mean over categorical columns of their cross-entropy; ``acc``: the mean over
    categorical columns of their accuracy (1 without any); ``recon = mse + ce``.
    """
    zero = x_num.new_zeros(())
    mse = F.mse_loss(recon_num, x_num) if x_num.shape[1] else zero
    ce, acc = zero, x_num.new_ones(())
    if logits:
        ce = sum(F.cross_entropy(lg, x_cat[:, j]) for j, lg in enumerate(logits)) / len(logits)
        acc = sum((lg.argmax(-1) == x_cat[:, j]).float().mean() for j, lg in enumerate(logits)) / len(logits)
    return {"recon": mse + ce, "mse": mse, "ce": ce, "acc": acc}


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)), averaged over every latent dimension."""
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())


def vae_loss(
    model: TabularVAE, x_num: torch.Tensor, x_cat: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(reconstruction, KL, categorical accuracy) of a batch, through a sampled z."""
    recon_num, logits, mu, logvar = model(x_num, x_cat)
    terms = reconstruction(recon_num, logits, x_num, x_cat)
    return terms["recon"], kl_divergence(mu, logvar), terms["acc"]
