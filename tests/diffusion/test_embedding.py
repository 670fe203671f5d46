"""The sinusoidal embedding both networks use: pinned values, odd widths, dtype and device handling."""

import math

import torch

from tabsyn.diffusion.denoiser import MLPDenoiser
from tabsyn.diffusion.embedding import SinusoidalEmbedding
from tabsyn.image.unet import UNet


def test_values_are_cos_then_sin_at_geometric_frequencies():
    # dim 4: frequencies 10000^0 = 1 and 10000^(-1/2) = 0.01.
    c = torch.tensor([0.0, 1.0, -2.5])
    expected = torch.tensor([[math.cos(v), math.cos(0.01 * v), math.sin(v), math.sin(0.01 * v)] for v in c.tolist()])
    assert torch.allclose(SinusoidalEmbedding(4)(c), expected, rtol=0, atol=1e-6)
    assert torch.allclose(SinusoidalEmbedding(4, max_period=100.0).freqs, torch.tensor([1.0, 0.1]))


def test_golden_row_at_a_fractional_timestep():
    emb = SinusoidalEmbedding(16)(torch.tensor([7.5]))[0]
    w = [10000 ** (-k / 8) for k in range(8)]
    expected = torch.tensor([math.cos(7.5 * x) for x in w] + [math.sin(7.5 * x) for x in w])
    assert torch.allclose(emb, expected, rtol=0, atol=1e-6)
    assert torch.allclose(emb.view(2, 8).pow(2).sum(0), torch.ones(8))  # cos^2 + sin^2 = 1


def test_odd_width_ends_with_a_zero_column_and_any_shape_is_flattened():
    emb = SinusoidalEmbedding(7)(torch.tensor([[0.3], [2.0]]))
    assert emb.shape == (2, 7) and torch.equal(emb[:, -1], torch.zeros(2))
    assert torch.equal(emb[:, :6], SinusoidalEmbedding(6)(torch.tensor([0.3, 2.0])))


def test_integer_timesteps_embed_as_floats_and_dtype_follows_the_module():
    e = SinusoidalEmbedding(8)
    assert torch.equal(e(torch.tensor([3, 9])), e(torch.tensor([3.0, 9.0])))
    assert e.double()(torch.tensor([3.0])).dtype == torch.float64


def test_both_networks_use_it_and_store_no_frequencies():
    mlp, unet = MLPDenoiser(4, width=16), UNet(base_channels=8, channel_mults=(1,), image_size=(4, 4))
    assert isinstance(mlp.noise_embed, SinusoidalEmbedding) and isinstance(unet.time_embed, SinusoidalEmbedding)
    assert not any("freqs" in k for k in [*mlp.state_dict(), *unet.state_dict()])
