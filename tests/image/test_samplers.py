"""DDPM and DDIM loops, tested with the exact noise predictor of Gaussian data and with tiny networks."""

import pytest
import torch

from tabsyn.image.samplers import ddim_sample, ddpm_sample, guided_eps
from tabsyn.image.schedule import NoiseSchedule
from tabsyn.image.unet import UNet

from ._helpers import randomise


def gaussian_eps(schedule: NoiseSchedule, m: float, sd: float):
    """E[eps | x_t] when x_0 ~ N(m, sd^2): sqrt(1 - ab) (x_t - sqrt(ab) m) / (ab sd^2 + 1 - ab)."""

    def eps(x, t, y=None):
        ab = schedule.alpha_bar[t].to(x.dtype).view(-1, 1, 1, 1)
        return (1 - ab).sqrt() * (x - ab.sqrt() * m) / (ab * sd**2 + 1 - ab)

    return eps


def test_ddpm_with_the_exact_predictor_reproduces_the_gaussian():
    # x_0 ~ N(m, sd^2) per pixel; with E[eps | x_t] known in closed form, T = 1000 ancestral
    # steps must give back that distribution (few steps shrink the variance: beta_tilde is a lower bound).
    schedule = NoiseSchedule.from_name("linear", 1000)
    m, sd = 0.3, 0.5
    gen = torch.Generator().manual_seed(0)
    x_T = torch.randn(40_000, 1, 1, 1, generator=gen, dtype=torch.float64)
    noise = lambda: torch.randn(x_T.shape, generator=gen, dtype=torch.float64)  # noqa: E731
    x0 = ddpm_sample(gaussian_eps(schedule, m, sd), schedule, x_T, clip_denoised=False, noise_fn=noise)
    assert x0.mean().item() == pytest.approx(m, abs=0.01)
    assert x0.std().item() == pytest.approx(sd, rel=0.02)


def test_ddim_with_the_exact_predictor_follows_the_probability_flow():
    # For Gaussian data the probability-flow ODE maps x_T to m + sd * x_T; DDIM with eta = 0 and
    # every timestep is its discretisation, and coarser grids stay close.
    schedule = NoiseSchedule.from_name("linear", 1000)
    m, sd = 0.3, 0.5
    x_T = torch.linspace(-3, 3, 601, dtype=torch.float64).view(-1, 1, 1, 1)
    for steps, tol in ((1000, 0.01), (100, 0.06)):
        x0 = ddim_sample(gaussian_eps(schedule, m, sd), schedule, x_T, steps=steps, clip_denoised=False)
        assert (x0 - (m + sd * x_T)).abs().max().item() < tol


def test_ddim_with_eta_zero_is_deterministic_and_draws_no_noise():
    schedule = NoiseSchedule.from_name("cosine", 50)
    eps = gaussian_eps(schedule, 0.0, 0.5)
    x_T = torch.randn(8, 1, 4, 4)

    def no_noise():
        raise AssertionError("DDIM with eta=0 must not draw noise")

    a = ddim_sample(eps, schedule, x_T, steps=10, noise_fn=no_noise)
    b = ddim_sample(eps, schedule, x_T.clone(), steps=10, noise_fn=no_noise)
    assert torch.equal(a, b)
    # With eta > 0 fresh noise enters and the result changes.
    c = ddim_sample(eps, schedule, x_T, steps=10, eta=1.0, noise_fn=lambda: torch.randn(8, 1, 4, 4))
    assert not torch.allclose(a, c)


@pytest.fixture
def tiny_net():
    torch.manual_seed(0)
    return randomise(UNet(base_channels=8, channel_mults=(1, 2), num_classes=3, image_size=(8, 8))).eval()


def test_guided_eps_combines_conditional_and_unconditional(tiny_net):
    x, t, y = torch.randn(2, 1, 8, 8), torch.tensor([3, 9]), torch.tensor([0, 2])
    with torch.no_grad():
        cond, uncond = tiny_net(x, t, y), tiny_net(x, t, None)
        assert torch.equal(guided_eps(tiny_net, x, t, y, 1.0), cond)
        assert torch.equal(guided_eps(tiny_net, x, t, y, 0.0), uncond)
        assert torch.allclose(guided_eps(tiny_net, x, t, y, 3.0), uncond + 3.0 * (cond - uncond), atol=1e-6)
        assert torch.equal(guided_eps(tiny_net, x, t, None, 3.0), uncond)


@pytest.mark.parametrize("sampler", [ddim_sample, ddpm_sample])
def test_guidance_scale_one_is_the_conditional_model(tiny_net, sampler):
    schedule = NoiseSchedule.from_name("linear", 20)
    y = torch.tensor([0, 1, 2])
    x_T = torch.randn(3, 1, 8, 8)
    draws = [torch.randn(3, 1, 8, 8) for _ in range(40)]
    cond_only = lambda x, t, _y: tiny_net(x, t, y)  # noqa: E731  (never sees the null class)
    guided = sampler(tiny_net, schedule, x_T, y=y, guidance_scale=1.0, noise_fn=iter(draws).__next__)
    plain = sampler(cond_only, schedule, x_T, y=y, guidance_scale=1.0, noise_fn=iter(draws).__next__)
    assert torch.equal(guided, plain)
    strong = sampler(tiny_net, schedule, x_T, y=y, guidance_scale=4.0, noise_fn=iter(draws).__next__)
    assert not torch.allclose(guided, strong)


@pytest.mark.parametrize("sampler, steps, calls", [(ddim_sample, 7, 7), (ddpm_sample, 7, 7), (ddpm_sample, None, 20)])
def test_steps_and_intermediates(sampler, steps, calls):
    schedule = NoiseSchedule.from_name("linear", 20)
    seen = []

    def eps(x, t, y=None):
        seen.append(int(t[0]))
        return torch.zeros_like(x)

    x_T = torch.randn(2, 1, 4, 4)
    out, frames = sampler(eps, schedule, x_T, steps=steps, return_intermediates=True, num_frames=4)
    assert len(seen) == calls and seen[0] == 19 and seen[-1] == 0 and seen == sorted(seen, reverse=True)
    assert len(frames) == 4
    assert torch.equal(frames[0], x_T) and torch.equal(frames[-1], out)
    assert out.abs().max() <= 1.0  # x0_hat is clipped, so the last step lands in [-1, 1]
