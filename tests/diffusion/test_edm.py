"""EDM preconditioning and loss: the coefficients against the paper's formulas, golden values on a
tiny fixed network, and the expectation of the loss under the exact Gaussian denoiser."""

import math

import pytest
import torch

from tabsyn.diffusion.denoiser import MLPDenoiser
from tabsyn.diffusion.edm import EDMLoss, EDMPrecond

SD = 0.5  # sigma_data


class Zero(torch.nn.Module):
    def forward(self, x, c_noise):
        return torch.zeros_like(x)


class Probe(torch.nn.Module):
    """Returns a constant and remembers what it was given."""

    def __init__(self, out: float):
        super().__init__()
        self.out = out

    def forward(self, x, c_noise):
        self.x_in, self.c_noise = x.clone(), c_noise.clone()
        return torch.full_like(x, self.out)


def fixed_mlp(seed: int = 0) -> MLPDenoiser:
    """A 3-d MLP denoiser of width 4 (with a 2-d condition) whose weights are a seeded normal draw."""
    net = MLPDenoiser(3, width=4, d_cond=2)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return net


# sigma -> (c_skip, c_out, c_in, c_noise), worked out by hand from Karras et al. (2022), Table 1.
COEFFICIENTS = {
    0.002: (0.25 / 0.250004, 0.001 / math.sqrt(0.250004), 1 / math.sqrt(0.250004), math.log(0.002) / 4),
    0.5: (0.5, 0.25 / math.sqrt(0.5), 1 / math.sqrt(0.5), math.log(0.5) / 4),
    1.0: (0.2, 0.5 / math.sqrt(1.25), 1 / math.sqrt(1.25), 0.0),
    80.0: (0.25 / 6400.25, 40 / math.sqrt(6400.25), 1 / math.sqrt(6400.25), math.log(80) / 4),
}


def test_preconditioning_coefficients_equal_the_formulas():
    sigma = torch.tensor(list(COEFFICIENTS), dtype=torch.float64)
    c_skip, c_out, c_in, c_noise = (torch.tensor(v, dtype=torch.float64) for v in zip(*COEFFICIENTS.values()))
    ones = torch.ones(4, 2, dtype=torch.float64)
    # x = 1 and F = 0: D is c_skip; F sees c_in * x and c_noise.
    probe = Probe(0.0)
    torch.testing.assert_close(EDMPrecond(probe, SD)(ones, sigma), c_skip[:, None].expand(4, 2), rtol=1e-12, atol=0)
    torch.testing.assert_close(probe.x_in, c_in[:, None].expand(4, 2), rtol=1e-12, atol=0)
    torch.testing.assert_close(probe.c_noise, c_noise, rtol=1e-12, atol=1e-15)
    # x = 0 and F = 1: D is c_out.
    out = EDMPrecond(Probe(1.0), SD)(torch.zeros(4, 2, dtype=torch.float64), sigma)
    torch.testing.assert_close(out, c_out[:, None].expand(4, 2), rtol=1e-12, atol=0)
    # The table's values obey EDM's identity c_skip + c_out^2 / sd^2 = 1 at every sigma.
    torch.testing.assert_close(c_skip + c_out**2 / SD**2, torch.ones(4, dtype=torch.float64))


def test_condition_reaches_the_network_untouched():
    net = fixed_mlp()
    x, sigma, cond = torch.randn(2, 3), torch.tensor([0.3, 2.0]), torch.tensor([[1.0, -1.0], [0.5, 0.5]])
    D = EDMPrecond(net)
    c_in = 1 / (sigma**2 + SD**2).sqrt()
    expected_f = net(c_in[:, None] * x, sigma.log() / 4, cond)
    c_skip, c_out = SD**2 / (sigma**2 + SD**2), sigma * SD / (sigma**2 + SD**2).sqrt()
    torch.testing.assert_close(D(x, sigma, cond), c_skip[:, None] * x + c_out[:, None] * expected_f)


def test_mlp_denoiser_golden_values():
    net = fixed_mlp()
    x, c = torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]]), torch.tensor([0.25, -1.5])
    with torch.no_grad():
        plain = net(x, c)
        conditioned = net(x, c, torch.tensor([[1.0, -1.0], [0.5, 0.5]]))
        zero_condition = net(x, c, torch.zeros(2, 2))
    expected = torch.tensor([[0.21489844, -0.70215249, 0.91234607], [0.32115629, -0.63951701, 0.95374453]])
    torch.testing.assert_close(plain, expected, rtol=0, atol=1e-6)
    expected = torch.tensor([[0.22486618, -0.65131813, 0.90461040], [0.34048641, -0.62579435, 0.95889449]])
    torch.testing.assert_close(conditioned, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(zero_condition, plain, rtol=0, atol=0)  # no condition = the zero vector


def test_edm_loss_golden_value_on_a_tiny_fixed_network():
    y = torch.linspace(-1, 1, 12).view(4, 3)
    with torch.no_grad():
        loss = EDMLoss()(EDMPrecond(fixed_mlp()), y, generator=torch.Generator().manual_seed(0))
    assert loss.shape == (4, 3)  # unreduced: the caller reduces
    assert loss.mean().item() == pytest.approx(1.6992693, rel=1e-6)
    assert loss[0].tolist() == pytest.approx([3.80986881, 0.356343985, 5.13016510], rel=1e-6)


def test_edm_loss_is_the_weighted_error_of_its_own_draws():
    # With F = 0, D(y + n) = c_skip (y + n); the loss is then a closed form of the generator's draws.
    y = torch.full((4, 3), 0.5)
    loss = EDMLoss()(EDMPrecond(Zero()), y, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    sigma = (torch.randn(4, 1, generator=g) * 1.2 - 1.2).exp()  # ln sigma ~ N(P_mean, P_std^2)
    n = torch.randn(4, 3, generator=g) * sigma
    c_skip = SD**2 / (sigma**2 + SD**2)
    weight = (sigma**2 + SD**2) / (sigma * SD) ** 2
    torch.testing.assert_close(loss, weight * (c_skip * (y + n) - y) ** 2)


def test_exact_gaussian_denoiser_has_unit_expected_loss():
    # For y ~ N(0, sd^2), F = 0 makes D = c_skip x, the exact denoiser, whose MSE is
    # sigma^2 sd^2 / (sigma^2 + sd^2): the EDM weight turns that into 1 at every sigma.
    g = torch.Generator().manual_seed(0)
    y = torch.randn(20000, 1, generator=g) * SD
    loss = EDMLoss()(EDMPrecond(Zero()), y, generator=g)
    assert loss.mean().item() == pytest.approx(1.0, rel=0.03)
    # D - y = c_skip n - (1 - c_skip) y is N(0, sigma^2 sd^2 / (sigma^2 + sd^2)) whatever sigma, so each
    # weighted error is a squared standard normal: chi-square with one degree, variance 2.
    assert loss.var().item() == pytest.approx(2.0, rel=0.1)


def test_a_wrong_sigma_data_costs_more_than_the_exact_denoiser():
    # The same F = 0 under sigma_data = 1 is no longer the posterior mean of N(0, 0.5^2) data.
    g = torch.Generator().manual_seed(1)
    y = torch.randn(20000, 1, generator=g) * SD
    exact = EDMLoss()(EDMPrecond(Zero(), sigma_data=SD), y, generator=torch.Generator().manual_seed(2)).mean()
    wrong = EDMLoss()(EDMPrecond(Zero(), sigma_data=1.0), y, generator=torch.Generator().manual_seed(2)).mean()
    assert wrong.item() > 1.1 * exact.item()
