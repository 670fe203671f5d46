"""Closed-form DDPM maths: beta schedules, q(x_t | x_0) and the posterior q(x_{t-1} | x_t, x_0)."""

import pytest
import torch

from tabsyn.image.schedule import NoiseSchedule, cosine_betas, linear_betas, spaced_timesteps


@pytest.fixture(params=["linear", "cosine"])
def schedule(request):
    return NoiseSchedule.from_name(request.param, 200)


def test_linear_betas_match_ho_et_al_at_1000_steps():
    assert torch.allclose(linear_betas(1000), torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64))
    # Fewer steps: end points scaled by 1000 / T so the process still ends near pure noise.
    assert linear_betas(500)[-1].item() == pytest.approx(0.04)


def test_cosine_alpha_bar_follows_the_cosine_curve():
    T, s = 1000, 0.008
    alpha_bar = NoiseSchedule(cosine_betas(T)).alpha_bar
    t = torch.tensor([0, 250, 500, 750], dtype=torch.float64)
    f = lambda u: torch.cos((u / T + s) / (1 + s) * torch.pi / 2) ** 2  # noqa: E731
    assert torch.allclose(alpha_bar[t.long()], f(t + 1) / f(torch.zeros(1, dtype=torch.float64)), rtol=1e-6)


def test_alpha_bar_decreases_from_near_one_to_near_zero(schedule):
    ab = schedule.alpha_bar
    assert bool((ab[1:] < ab[:-1]).all())
    assert 0.99 < ab[0].item() < 1.0
    assert 0.0 <= ab[-1].item() < 1e-3
    assert torch.allclose(schedule.alpha_bar_prev[1:], ab[:-1])
    assert schedule.alpha_bar_prev[0].item() == 1.0


def test_q_sample_has_the_closed_form_mean_and_variance(schedule):
    gen = torch.Generator().manual_seed(0)
    n = 200_000
    x0 = torch.full((n, 1, 1, 1), 0.7)
    for t_val in (0, 50, 199):
        t = torch.full((n,), t_val)
        xt = schedule.q_sample(x0, t, torch.randn(x0.shape, generator=gen))
        ab = schedule.alpha_bar[t_val].item()
        assert xt.mean().item() == pytest.approx(ab**0.5 * 0.7, abs=0.01)
        assert xt.var().item() == pytest.approx(1 - ab, abs=0.01)


def test_posterior_matches_bayes_rule(schedule):
    # q(x_{t-1} | x_t, x_0) ~ q(x_t | x_{t-1}) q(x_{t-1} | x_0): a product of two Gaussians in x_{t-1}.
    gen = torch.Generator().manual_seed(1)
    x0 = torch.randn(5, 1, 2, 2, generator=gen, dtype=torch.float64)
    xt = torch.randn(5, 1, 2, 2, generator=gen, dtype=torch.float64)
    for t_val in (1, 17, 100, 199):
        beta, alpha = schedule.betas[t_val].item(), schedule.alphas[t_val].item()
        ab_prev = schedule.alpha_bar[t_val - 1].item()
        precision = 1.0 / (1.0 - ab_prev) + alpha / beta
        mean = (ab_prev**0.5 * x0 / (1.0 - ab_prev) + alpha**0.5 * xt / beta) / precision
        got_mean, got_var = schedule.q_posterior(x0, xt, torch.full((5,), t_val))
        assert torch.allclose(got_mean, mean, rtol=1e-9, atol=1e-12)
        assert torch.allclose(got_var, torch.full_like(got_var, 1.0 / precision), rtol=1e-9)


def test_posterior_at_t0_is_x0(schedule):
    x0, xt = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    mean, var = schedule.q_posterior(x0, xt, torch.zeros(3, dtype=torch.long))
    assert torch.allclose(mean, x0, atol=1e-6)
    assert torch.all(var == 0)


def test_predict_x0_inverts_q_sample(schedule):
    gen = torch.Generator().manual_seed(2)
    x0, eps = (torch.randn(4, 1, 3, 3, generator=gen, dtype=torch.float64) for _ in range(2))
    t = torch.tensor([0, 10, 100, 199])
    xt = schedule.q_sample(x0, t, eps)
    assert torch.allclose(schedule.predict_x0(xt, t, eps), x0, rtol=0, atol=1e-9)
    # A wrong noise gives a wrong x0: the error is (eps - eps') sqrt((1 - alpha_bar) / alpha_bar).
    ab = schedule.alpha_bar[t].view(-1, 1, 1, 1)
    err = schedule.predict_x0(xt, t, torch.zeros_like(eps)) - x0
    assert torch.allclose(err, eps * ((1 - ab) / ab).sqrt(), rtol=1e-9, atol=1e-9)


def test_respace_keeps_alpha_bar_at_the_visited_steps(schedule):
    ts = spaced_timesteps(schedule.timesteps, 10)
    assert ts[0] == 0 and ts[-1] == schedule.timesteps - 1 and len(ts) == 10
    assert torch.allclose(schedule.respace(ts).alpha_bar, schedule.alpha_bar[ts])
    assert torch.allclose(schedule.respace(range(schedule.timesteps)).betas, schedule.betas)


def test_spaced_timesteps_edge_cases():
    assert spaced_timesteps(10, 1) == [9]
    assert spaced_timesteps(10, 50) == list(range(10))
    ts = spaced_timesteps(1000, 37)
    assert len(ts) == 37 and ts == sorted(set(ts))


def test_bad_schedule_name_and_betas():
    with pytest.raises(ValueError, match=r"beta_schedule must be one of \['linear', 'cosine'\]; got 'sigmoid'"):
        NoiseSchedule.from_name("sigmoid", 10)
    with pytest.raises(ValueError, match="betas must be"):
        NoiseSchedule(torch.tensor([0.1, 1.5]))
    with pytest.raises(ValueError, match="strictly increasing"):
        NoiseSchedule.from_name("linear", 10).respace([3, 2])
