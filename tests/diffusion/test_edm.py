import torch
import pytest

from tabsyn.diffusion.denoiser import MLPDenoiser, SinusoidalEmbedding
from tabsyn.diffusion.edm import EDMLoss, EDMPrecond


class Zero(torch.nn.Module):
    def forward(self, x, c_noise):
        return torch.zeros_like(x)


def test_preconditioning_with_a_zero_network_is_the_skip_connection():
    D = EDMPrecond(Zero(), sigma_data=0.5)
    x = torch.ones(3, 2)
    sigma = torch.tensor([0.5, 1.0, 80.0])
    expected = 0.25 / (sigma**2 + 0.25)
    assert torch.allclose(D(x, sigma), expected.reshape(-1, 1).expand(3, 2))


def test_edm_loss_golden_value_for_the_zero_network():
    # With F = 0, D(y + n) = c_skip (y + n); the loss is then a closed form of the draws.
    g = torch.Generator().manual_seed(0)
    y = torch.full((4, 3), 0.5)
    loss = EDMLoss()(EDMPrecond(Zero()), y, generator=g)
    g = torch.Generator().manual_seed(0)
    rnd = torch.randn(4, 1, generator=g)
    sigma = (rnd * 1.2 - 1.2).exp()
    n = torch.randn(4, 3, generator=g) * sigma
    c_skip = 0.25 / (sigma**2 + 0.25)
    weight = (sigma**2 + 0.25) / (sigma * 0.5) ** 2
    assert loss.shape == (4, 3)
    assert torch.allclose(loss, weight * (c_skip * (y + n) - y) ** 2)


def test_edm_weighting_gives_the_ideal_gaussian_denoiser_unit_loss():
    # For y ~ N(0, sigma_data^2), F = 0 makes D = c_skip x, the exact denoiser, whose
    # MSE is sigma^2 sd^2 / (sigma^2 + sd^2): the EDM weight turns that into 1 at every sigma.
    g = torch.Generator().manual_seed(0)
    y = torch.randn(20000, 1, generator=g) * 0.5
    loss = EDMLoss()(EDMPrecond(Zero()), y, generator=g)
    assert loss.mean().item() == pytest.approx(1.0, rel=0.05)


def test_sinusoidal_embedding_shape_and_range():
    e = SinusoidalEmbedding(16)(torch.linspace(-3, 3, 7))
    assert e.shape == (7, 16)
    assert e.abs().max() <= 1.0


def test_denoiser_maps_latents_to_latents():
    net = MLPDenoiser(12, width=32)
    out = net(torch.randn(5, 12), torch.randn(5))
    assert out.shape == (5, 12)
