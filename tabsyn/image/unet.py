"""A class-conditional U-Net that predicts the noise eps in a noisy image x_t.

Architecture (after Ho et al., 2020 and Dhariwal & Nichol, 2021):

* the timestep t becomes a sinusoidal embedding and then an MLP; a learnable
  class embedding is added to it; index ``num_classes`` is the *null* class
  used for the unconditional half of classifier-free guidance;
* ResNet blocks inject that embedding through adaptive group norm,
  ``GroupNorm(h) * (1 + scale) + shift``;
* self-attention at chosen feature-map side lengths, and always in the middle;
* stride-2 convolutions down, nearest-neighbour resizing up. Going up, each
  feature map is resized to the exact size of its skip connection, so odd
  sizes (28 -> 14 -> 7 -> 4 -> 7 -> 14 -> 28) need neither padding nor cropping.

The network knows no noise schedule: it maps (x_t, t, y) to eps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tabsyn.diffusion.embedding import SinusoidalEmbedding


def group_count(channels: int) -> int:
    """Groups for GroupNorm: up to 32, at least 4 channels per group."""
    for g in (32, 16, 8, 4, 2):
        if channels % g == 0 and channels // g >= 4:
            return g
    return 1


class AdaGroupNorm(nn.Module):
    """Group norm whose scale and shift are predicted from the conditioning embedding."""

    def __init__(self, channels: int, emb_dim: int):
        super().__init__()
        self.norm = nn.GroupNorm(group_count(channels), channels, affine=False)
        self.proj = nn.Linear(emb_dim, 2 * channels)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.proj(emb)[:, :, None, None].chunk(2, dim=1)
        return self.norm(h) * (1 + scale) + shift


class ResBlock(nn.Module):
    """Two 3x3 convolutions with the embedding entering through AdaGN, plus a skip path."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(group_count(in_ch), in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb_act = nn.SiLU()
        self.norm2 = AdaGroupNorm(out_ch, emb_dim)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        # Zero-initialise the last conv so every block starts as the identity.
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = F.silu(self.norm2(h, self.emb_act(emb)))
        h = self.conv2(self.dropout(h))
        return self.skip(x) + h


class AttentionBlock(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, with a residual path."""

    def __init__(self, channels: int, num_heads: int = 4):
        super().__init__()
        while channels % num_heads:
            num_heads -= 1
        self.num_heads = num_heads
        self.norm = nn.GroupNorm(group_count(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        B, C, H, W = x.shape
        # (B, 3C, H, W) -> three tensors of shape (B, heads, H*W, C/heads).
        qkv = self.qkv(self.norm(x)).reshape(B, 3, self.num_heads, C // self.num_heads, H * W)
        q, k, v = (qkv[:, i].transpose(-1, -2) for i in range(3))
        h = F.scaled_dot_product_attention(q, k, v)
        h = h.transpose(-1, -2).reshape(B, C, H, W)
        return x + self.proj(h)


class UNet(nn.Module):
    """Noise-prediction U-Net eps_theta(x_t, t, y).

    Parameters
    ----------
    in_channels : int
        Image channels (1 for grey, 3 for RGB).
    base_channels : int
        Channels at full resolution; level i has ``base_channels * channel_mults[i]``.
    channel_mults : tuple of int
        One entry per resolution level; each level after the first halves the size.
    num_res_blocks : int
        ResNet blocks per level on the way down (one more on the way up).
    attention_resolutions : tuple of int
        Feature-map side lengths (e.g. 7 and 14 for 28x28 input) that get
        self-attention after their ResNet blocks. The middle always has one.
    num_classes : int
        Number of real classes (0 for an unconditional model). Class index
        ``num_classes`` is the null class; ``y=None`` means all null.
    dropout : float
        Dropout inside ResNet blocks.
    num_heads : int
        Attention heads (reduced until it divides the channel count).
    image_size : tuple of int
        (H, W) of the inputs, used to place the attention layers.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        base_channels: int = 32,
        channel_mults: tuple[int, ...] = (1, 2, 4),
        num_res_blocks: int = 1,
        attention_resolutions: tuple[int, ...] = (),
        num_classes: int = 0,
        dropout: float = 0.0,
        num_heads: int = 4,
        image_size: tuple[int, int] = (28, 28),
    ):
        super().__init__()
        self.num_classes = num_classes
        emb_dim = 4 * base_channels
        self.base_channels = base_channels
        # Sinusoidal time embedding and MLP; class embedding with one extra row for the null class.
        self.time_embed = SinusoidalEmbedding(base_channels)
        self.time_mlp = nn.Sequential(
            nn.Linear(base_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim)
        )
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim)

        self.input_conv = nn.Conv2d(in_channels, base_channels, 3, padding=1)
        # Side lengths per level: a stride-2 conv (k=3, p=1) maps s -> ceil(s / 2).
        sizes = [min(image_size)]
        for _ in channel_mults[1:]:
            sizes.append((sizes[-1] + 1) // 2)

        # Down path: record the channel count of every skip connection.
        self.down = nn.ModuleList()
        skip_ch = [base_channels]
        ch = base_channels
        for level, mult in enumerate(channel_mults):
            out_ch = base_channels * mult
            for _ in range(num_res_blocks):
                layers = [ResBlock(ch, out_ch, emb_dim, dropout)]
                ch = out_ch
                if sizes[level] in attention_resolutions:
                    layers.append(AttentionBlock(ch, num_heads))
                self.down.append(nn.ModuleList(layers))
                skip_ch.append(ch)
            if level < len(channel_mults) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(ch, ch, 3, stride=2, padding=1)]))
                skip_ch.append(ch)

        self.mid = nn.ModuleList(
            [ResBlock(ch, ch, emb_dim, dropout), AttentionBlock(ch, num_heads), ResBlock(ch, ch, emb_dim, dropout)]
        )

        # Up path: each block eats one skip connection; levels end with an upsampling conv.
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mults))):
            out_ch = base_channels * mult
            for i in range(num_res_blocks + 1):
                layers = [ResBlock(ch + skip_ch.pop(), out_ch, emb_dim, dropout)]
                ch = out_ch
                if sizes[level] in attention_resolutions:
                    layers.append(AttentionBlock(ch, num_heads))
                if level > 0 and i == num_res_blocks:
                    layers.append(nn.Conv2d(ch, ch, 3, padding=1))  # applied after resizing
                self.up.append(nn.ModuleList(layers))

        self.out_norm = nn.GroupNorm(group_count(ch), ch)
        self.out_conv = nn.Conv2d(ch, in_channels, 3, padding=1)
        nn.init.zeros_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Predict eps for x_t of shape (B, C, H, W), timesteps t (B,), class indices y (B,) or None."""
        if y is None:
            y = torch.full((len(x),), self.num_classes, dtype=torch.long, device=x.device)
        emb = self.time_mlp(self.time_embed(t)) + self.class_emb(y)

        # Down: keep every intermediate feature map as a skip connection.
        h = self.input_conv(x)
        skips = [h]
        for layers in self.down:
            for layer in layers:
                h = layer(h, emb) if isinstance(layer, (ResBlock, AttentionBlock)) else layer(h)
            skips.append(h)

        for layer in self.mid:
            h = layer(h, emb)

        # Up: concatenate the matching skip; resize to the next skip's size before the level's last conv.
        for layers in self.up:
            h = torch.cat([h, skips.pop()], dim=1)
            for layer in layers:
                if isinstance(layer, (ResBlock, AttentionBlock)):
                    h = layer(h, emb)
                else:
                    h = layer(F.interpolate(h, size=skips[-1].shape[-2:], mode="nearest"))
        return self.out_conv(F.silu(self.out_norm(h)))
