import math

import pytest
import torch

from tabsyn.diffusion.sampler import edm_sigmas, heun_sample, inpainting_denoiser


def test_sigma_grid_runs_from_sigma_max_to_sigma_min_then_zero():
    t = edm_sigmas(18)
    assert len(t) == 19
    assert t[0].item() == pytest.approx(80.0)
    assert t[-2].item() == pytest.approx(0.002)
    assert t[-1].item() == 0.0
    assert torch.all(t[:-1] > t[1:])


def test_sigma_grid_rejects_a_single_step():
    with pytest.raises(ValueError, match="num_steps must be at least 2; got 1"):
        edm_sigmas(1)


@pytest.mark.parametrize("sd", [0.5, 2.0])
def test_heun_with_the_exact_gaussian_denoiser_reproduces_the_data_distribution(sd):
    # For data ~ N(0, sd^2), the ideal denoiser is D(x, s) = x sd^2 / (s^2 + sd^2);
    # the ODE then carries N(0, sigma_max^2) exactly onto N(0, sd^2).
    def exact(x, sigma):
        s = sigma.reshape(-1, 1).to(x.dtype)
        return x * sd**2 / (s**2 + sd**2)

    g = torch.Generator().manual_seed(0)
    noise = torch.randn(200_000, 2, generator=g, dtype=torch.float64)
    x = heun_sample(exact, noise, num_steps=128)
    assert x.mean().item() == pytest.approx(0.0, abs=0.01 * sd)
    assert x.std().item() == pytest.approx(sd, rel=0.01)
    # Deterministic map: x(0) = x(sigma_max) * sd / hypot(sigma_max, sd), with x(sigma_max) = 80 * noise.
    ratio = (x / noise).median().item()
    assert ratio == pytest.approx(80.0 * sd / math.hypot(80.0, sd), rel=0.01)


def test_heun_converges_at_second_order():
    sd = 0.5

    def exact(x, sigma):
        return x * sd**2 / (sigma.reshape(-1, 1).to(x.dtype) ** 2 + sd**2)

    one = torch.ones(1, 1, dtype=torch.float64)
    truth = 80.0 * sd / math.hypot(80.0, sd)
    errors = [abs(heun_sample(exact, one, num_steps=n).item() - truth) for n in (32, 64, 128)]
    # Halving the step size divides a 2nd-order method's error by about 4.
    assert 3.5 < errors[0] / errors[1] < 4.8
    assert 3.5 < errors[1] / errors[2] < 4.8


def test_inpainting_keeps_known_entries_and_uses_them():
    # Two perfectly correlated coordinates: with the first known, the second follows.
    sd = 1.0

    def exact(x, sigma):  # data on the line x1 = x0, x0 ~ N(0, sd^2)
        s2 = sigma.reshape(-1, 1).to(x.dtype) ** 2
        m = x.mean(1, keepdim=True)
        # posterior mean of the shared value given both noisy coordinates
        post = m * (2 * sd**2) / (2 * sd**2 + s2)
        return post.expand_as(x)

    g = torch.Generator().manual_seed(1)
    n = 2000
    known = torch.zeros(n, 2, dtype=torch.float64)
    known[:, 0] = 1.5
    mask = torch.zeros(n, 2, dtype=torch.bool)
    mask[:, 0] = True
    noise = torch.randn(n, 2, generator=g, dtype=torch.float64)
    x = heun_sample(exact, noise, num_steps=40, mask=mask, known=known)
    assert torch.all(x[:, 0] == 1.5)
    assert x[:, 1].mean().item() == pytest.approx(1.5, abs=0.1)


def test_guided_inpainting_recovers_a_gaussian_conditional():
    # x ~ N(0, sd^2 [[1, rho], [rho, 1]]); given x0 = a, x1 ~ N(rho a, sd^2 (1 - rho^2)).
    sd, rho, a, n = 0.5, 0.8, 0.75, 20_000
    cov = sd**2 * torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)

    def exact(x, sigma):  # E[x0 | x0 + sigma * eps = x] for Gaussian data
        s2 = sigma.reshape(-1)[0].item() ** 2
        return x @ (cov @ torch.linalg.inv(cov + s2 * torch.eye(2, dtype=torch.float64))).T

    known = torch.zeros(n, 2, dtype=torch.float64)
    known[:, 0] = a
    mask = torch.zeros(n, 2, dtype=torch.bool)
    mask[:, 0] = True
    noise = torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    guided = heun_sample(inpainting_denoiser(exact, known, mask, sigma_data=sd), noise,
                         num_steps=30, mask=mask, known=known)
    assert torch.all(guided[:, 0] == a)
    assert guided[:, 1].mean().item() == pytest.approx(rho * a, abs=0.05)  # 0.567 against 0.6
    assert guided[:, 1].var().item() == pytest.approx(sd**2 * (1 - rho**2), rel=0.2)
    # Replacement alone leaves the free coordinate far from its conditional mean.
    replaced = heun_sample(exact, noise, num_steps=30, mask=mask, known=known)
    assert replaced[:, 1].mean().item() < 0.5 * rho * a
