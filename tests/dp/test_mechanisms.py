"""The DP mechanisms add the noise their sensitivity calls for, and release nothing else."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tabsyn.dp import mechanisms as m
from tabsyn.dp.fit import LATENT_CLIP, SCALER_NOISE, private_scaler

DRAWS = 4000


def _laplace_std(sensitivity: float, epsilon: float) -> float:
    return math.sqrt(2.0) * sensitivity / epsilon  # Laplace(b) has variance 2 b^2


@pytest.mark.parametrize("epsilon,sensitivity", [(0.5, 1.0), (2.0, 1.0), (1.0, 4.0)])
def test_noisy_counts_have_the_laplace_scale_of_their_sensitivity(epsilon, sensitivity):
    rng = np.random.default_rng(0)
    counts = np.full(DRAWS, 100.0)
    noise = m.noisy_counts(counts, epsilon, rng, sensitivity=sensitivity) - counts
    assert abs(noise.mean()) < 0.1 * _laplace_std(sensitivity, epsilon)
    assert noise.std() == pytest.approx(_laplace_std(sensitivity, epsilon), rel=0.06)
    assert np.median(np.abs(noise)) == pytest.approx(math.log(2) * sensitivity / epsilon, rel=0.08)


def test_category_threshold_lets_a_one_row_level_through_with_probability_delta():
    epsilon, delta = 1.0, 1e-3
    t = m.category_threshold(epsilon, delta)
    assert t == pytest.approx(1 + math.log(1 / (2 * delta)) / epsilon)
    rng = np.random.default_rng(1)
    passed = (1 + rng.laplace(0, 1 / epsilon, 400_000) > t).mean()
    assert passed == pytest.approx(delta, rel=0.15)
    # A level of one row among frequent ones is (almost surely) not released; frequent ones are.
    values = np.array(["common"] * 500 + ["other"] * 300 + ["Jane Doe"], dtype=object)
    levels, counts = m.private_categories(values, epsilon, 1e-9, np.random.default_rng(2))
    assert levels == ["common", "other"] and np.all(counts > 250)


def test_private_range_noise_is_one_laplace_per_octave():
    x = np.random.default_rng(3).uniform(20, 90, 20_000)
    lows, highs = zip(*[m.private_range(x, 1.0, np.random.default_rng(s))[:2] for s in range(20)])
    assert set(lows) == {16.0} and set(highs) == {128.0}  # the octaves around the data, never wider
    tiny = m.private_range(x[:3], 1.0, np.random.default_rng(4))  # 3 rows do not clear the threshold
    assert tiny[:2] == (0.0, 1.0)


def test_quantile_bins_noise_matches_their_sensitivity_and_keeps_point_masses():
    x = np.where(np.random.default_rng(5).random(10_000) < 0.8, 0.0, 1000.0)
    r = m.NumberRange(0.0, 1024.0, 512.0, 1.0)
    edges, masses = m.private_quantile_bins(x, r, 0.5, np.random.default_rng(6))
    zero_bin = int(np.flatnonzero(np.diff(edges) == 0)[0])
    assert edges[zero_bin] == 0.0 and masses[zero_bin] == pytest.approx(8000, abs=30)
    draws = m.draw_from_bins(edges, masses, 2000)
    assert (draws == 0).mean() == pytest.approx(0.8, abs=0.02)
    # Empty bins' noisy mass: after dropping masses under two scales, at most a few scales each.
    empty = np.ones(len(masses), bool)
    empty[zero_bin] = False
    empty[np.searchsorted(edges, 1000.0, side="right") - 1] = False
    assert masses[empty].sum() < 0.03 * len(x)


def test_private_scaler_noise_is_the_gaussian_of_its_clip():
    torch.manual_seed(0)
    n, dim = 2000, 8
    latents = torch.randn(n, dim) * 0.5 + 1.0
    means = torch.stack([private_scaler(latents, torch.Generator().manual_seed(s)).mean_ for s in range(300)])
    expected = SCALER_NOISE * LATENT_CLIP * math.sqrt(dim) / n  # sigma * sensitivity / n
    assert means.std(0).mean().item() == pytest.approx(expected, rel=0.1)
    assert (means.mean(0) - latents.mean(0)).abs().max().item() < 4 * expected / math.sqrt(300) + 1e-3


def test_ghost_clipping_and_materialised_per_row_gradients_take_the_same_step(monkeypatch):
    """The denoiser's path (Opacus ghost clipping) and the VAE's (torch.func per-row gradients, clipped by
    Opacus) must clip the same rows by the same factors: with no noise, one plain SGD step (not Adam, whose
    first step is about the gradient's sign) gives the same weights."""
    from tabsyn.dp.sgd import private_train

    monkeypatch.setattr(torch.optim, "Adam", lambda params, lr: torch.optim.SGD(params, lr=lr))

    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.SiLU(), torch.nn.Linear(16, 3))

    x = torch.randn(64, 5)
    y = torch.randn(64, 3) * 10  # large targets: most rows' gradients exceed the clipping bound
    a, b = net(), net()
    kw = dict(steps=1, sample_rate=0.5, noise_multiplier=0.0, lr=1.0, verbose=False)
    private_train(a, (x, y), row_loss=lambda m, xr, yr: ((m(xr) - yr) ** 2).mean(),
                  generator=torch.Generator().manual_seed(1), **kw)
    private_train(b, (x, y), batch_losses=lambda m, xb, yb: ((m(xb) - yb) ** 2).mean(1),
                  generator=torch.Generator().manual_seed(1), **kw)
    start = net()
    for pa, pb, p0 in zip(a.parameters(), b.parameters(), start.parameters()):
        step_a, step_b = pa - p0, pb - p0
        assert step_a.abs().max() > 1e-3
        torch.testing.assert_close(step_a, step_b, rtol=1e-3, atol=1e-6)
    # Clipping did bite: the averaged step is far smaller than the unclipped mean gradient.
    plain = net()
    ((plain(x) - y) ** 2).mean(1).mean().backward()
    assert sum(p.grad.norm() ** 2 for p in plain.parameters()).sqrt() > 5 * sum(
        (pa - p0).norm() ** 2 for pa, p0 in zip(a.parameters(), start.parameters())).sqrt()
