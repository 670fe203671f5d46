import math

import pytest
import torch

from tabsyn.diffusion.sampler import denoiser_calls, dpm2m_sample, edm_sigmas, heun_sample, ode_sample


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


def test_fewer_steps_keep_the_data_distribution_within_their_known_discretisation_error():
    """With the exact Gaussian denoiser on the EDM grid (sigma_max 80, rho 7), Heun's error in the
    final standard deviation shrinks with the step count: measured +7.1% at 16 steps (the default
    preset's before DPM-Solver++(2M)), +1.7% at 30, under 1% at 128 (the test above). The trained
    model sampled Adult as faithfully at 16 steps as at 30 (benchmarks/ABLATIONS.md)."""
    sd = 0.5

    def exact(x, sigma):
        s = sigma.reshape(-1, 1).to(x.dtype)
        return x * sd**2 / (s**2 + sd**2)

    noise = torch.randn(100_000, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    errors = [heun_sample(exact, noise, num_steps=steps).std().item() / sd - 1 for steps in (16, 30, 64)]
    assert errors[0] < 0.08 and errors[1] < 0.02 and errors[2] < 0.01
    assert errors[0] > errors[1] > errors[2] > 0


def _exact_gaussian(sd):
    def exact(x, sigma):
        return x * sd**2 / (sigma.reshape(-1, 1).to(x.dtype) ** 2 + sd**2)
    return exact


@pytest.mark.parametrize("sd", [0.5, 2.0])
def test_dpm2m_with_the_exact_gaussian_denoiser_reproduces_the_data_distribution(sd):
    noise = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = dpm2m_sample(_exact_gaussian(sd), noise, num_steps=128)
    assert x.mean().item() == pytest.approx(0.0, abs=0.01 * sd)
    assert x.std().item() == pytest.approx(sd, rel=0.01)
    assert (x / noise).median().item() == pytest.approx(80.0 * sd / math.hypot(80.0, sd), rel=0.01)


def test_dpm2m_converges_at_second_order_with_one_call_per_level():
    sd, one = 0.5, torch.ones(1, 1, dtype=torch.float64)
    truth = 80.0 * sd / math.hypot(80.0, sd)
    errors = [abs(dpm2m_sample(_exact_gaussian(sd), one, num_steps=n).item() - truth) for n in (64, 128, 256)]
    assert 3.5 < errors[0] / errors[1] < 4.8
    assert 3.5 < errors[1] / errors[2] < 4.8
    calls = []

    def counting(x, sigma):
        calls.append(sigma[0].item())
        return _exact_gaussian(sd)(x, sigma)

    for sampler, steps in (("dpm2m", 16), ("heun", 16)):
        calls.clear()
        ode_sample(counting, one, sampler=sampler, num_steps=steps)
        assert len(calls) == denoiser_calls(sampler, steps) == (16 if sampler == "dpm2m" else 31)
        assert calls[0] == pytest.approx(80.0) and min(calls) == pytest.approx(0.002)


def test_dpm2m_at_16_levels_keeps_the_data_distribution_as_heun_does_at_16_with_half_the_calls():
    """With the exact Gaussian denoiser: +7.9% in the final standard deviation at 16 levels (16 calls),
    Heun +7.1% at 16 levels (31 calls); both shrink with more levels."""
    sd = 0.5
    noise = torch.randn(100_000, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    errors = [dpm2m_sample(_exact_gaussian(sd), noise, num_steps=n).std().item() / sd - 1 for n in (16, 31, 64)]
    assert errors[0] < 0.085 and errors[1] < 0.02 and errors[2] < 0.005
    assert errors[0] > errors[1] > errors[2] > 0
    # The default preset's grid: 16 levels from sigma 10, where N(0, 10^2) differs from the noised data's
    # N(0, 10^2 + sd^2) by 0.1% in scale: +3.2% measured, less than from 80 (the steps left out were wasted).
    from_10 = dpm2m_sample(_exact_gaussian(sd), noise, num_steps=16, sigma_max=10.0).std().item() / sd - 1
    assert 0 < from_10 < 0.035 and from_10 < errors[0]


@pytest.mark.parametrize("sampler", ["heun", "dpm2m"])
def test_a_float32_update_lands_where_float64_does_to_float32_rounding(sampler):
    """The update's dtype (a fitted model's ``ode_precision``) changes only rounding: with the exact
    Gaussian denoiser called in float32 either way, at the default preset's 16 levels from sigma 10,
    float32 states end within 1e-5 of float64 ones (the states are about 0.5), with the same spread."""
    sd = 0.5
    noise = torch.randn(50_000, 4, generator=torch.Generator().manual_seed(2))
    runs = {dtype: ode_sample(_exact_gaussian(sd), noise, sampler=sampler, num_steps=16, sigma_max=10.0,
                              state_dtype=dtype) for dtype in (torch.float64, torch.float32)}
    assert runs[torch.float64].dtype == torch.float64 and runs[torch.float32].dtype == torch.float32
    gap = (runs[torch.float32].double() - runs[torch.float64]).abs().max().item()
    assert 0 < gap < 1e-5
    assert runs[torch.float32].double().std().item() == pytest.approx(runs[torch.float64].std().item(), rel=1e-6)


def test_an_unknown_sampler_is_refused_by_name():
    with pytest.raises(ValueError, match=r"sampler must be one of \('heun', 'dpm2m'\); got 'euler'"):
        ode_sample(_exact_gaussian(0.5), torch.ones(1, 1), sampler="euler", num_steps=4)
