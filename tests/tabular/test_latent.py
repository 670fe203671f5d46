"""The latent denoiser's training: its precision (bfloat16 autocast for steps and sampling, float32 elsewhere),
learning-rate schedule, gradient clipping and the noise levels it trains on."""

from dataclasses import replace

import pytest
import torch

from tabsyn import TabSynthesizer
from tabsyn.diffusion.denoiser import MLPDenoiser
from tabsyn.diffusion.edm import EDMPrecond
from tabsyn.tabular import latent, presets


def test_network_precision_autocasts_only_for_bfloat16(monkeypatch):
    layer, x, cpu = torch.nn.Linear(3, 2), torch.ones(4, 3), torch.device("cpu")
    with latent.network_precision("bfloat16", cpu):
        assert layer(x).dtype == torch.bfloat16
    with latent.network_precision("float32", cpu):
        assert layer(x).dtype == torch.float32
    for has, dtype in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(latent, "cpu_has_bfloat16", lambda has=has: has)
        with latent.network_precision("auto", cpu):
            assert layer(x).dtype == dtype
    with pytest.raises(ValueError, match=r"precision must be one of \['auto', 'float32', 'bfloat16'\]; got 'fp8'"):
        latent.network_precision("fp8", cpu)


@pytest.mark.parametrize("precision, expected", [("float32", torch.float32), ("bfloat16", torch.bfloat16)])
def test_the_denoiser_trains_at_the_presets_precision_and_keeps_float32_weights(
        adult_small, tiny_settings, monkeypatch, precision, expected):
    monkeypatch.setitem(presets.PRESETS, "fast", replace(presets.PRESETS["fast"], diffusion_precision=precision))
    seen = []
    forward = MLPDenoiser.forward

    def recording(self, x, c_noise, cond=None):
        out = forward(self, x, c_noise, cond)
        if torch.is_grad_enabled():  # a training step, not validation or sampling
            seen.append(out.dtype)
        return out

    monkeypatch.setattr(MLPDenoiser, "forward", recording)
    synth = TabSynthesizer(random_state=0, **tiny_settings).fit(adult_small.head(400))
    assert synth.settings_["diffusion_precision"] == precision
    assert seen and set(seen) == {expected}
    assert {p.dtype for p in synth.model_.denoiser.parameters()} == {torch.float32}
    assert synth.sample(50, random_state=0).notna().any().all()


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_the_denoisers_learning_rate_follows_the_presets_schedule(adult_small, tiny_settings, monkeypatch, schedule):
    monkeypatch.setitem(presets.PRESETS, "fast", replace(presets.PRESETS["fast"], diffusion_schedule=schedule))
    rates = []
    step = torch.optim.Adam.step

    def recording(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording)
    synth = TabSynthesizer(random_state=0, **tiny_settings).fit(adult_small.head(400))
    denoiser_rates = rates[-synth.settings_["diffusion_steps"]:]  # the VAE's steps came first
    lr = synth.settings_["diffusion_lr"]
    if schedule == "constant":
        assert denoiser_rates == [lr] * len(denoiser_rates)
    else:
        assert denoiser_rates[0] <= lr
        assert all(a > b for a, b in zip(denoiser_rates, denoiser_rates[1:]))
        assert denoiser_rates[-1] < 0.05 * lr


@pytest.mark.parametrize("clip", [None, 0.5])
def test_the_denoisers_gradients_are_clipped_to_the_presets_norm(adult_small, tiny_settings, monkeypatch, clip):
    monkeypatch.setitem(presets.PRESETS, "fast", replace(presets.PRESETS["fast"], diffusion_grad_clip=clip))
    norms = []
    clip_norm = torch.nn.utils.clip_grad_norm_

    def recording(params, max_norm, *args, **kwargs):
        norms.append(max_norm)
        return clip_norm(params, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", recording)
    synth = TabSynthesizer(random_state=0, **tiny_settings).fit(adult_small.head(400))
    if clip is None:
        assert norms == []
    else:  # every denoiser step (whole epochs: at least the budget), and none of the VAE's
        assert set(norms) == {clip} and len(norms) >= synth.settings_["diffusion_steps"]
        assert len(norms) < synth.settings_["diffusion_steps"] + synth.settings_["vae_steps"]


@pytest.mark.parametrize("mean, std", [(-1.2, 1.2), (1.5, 0.01)])
def test_the_denoiser_trains_on_the_presets_noise_levels(adult_small, tiny_settings, monkeypatch, mean, std):
    monkeypatch.setitem(presets.PRESETS, "fast", replace(presets.PRESETS["fast"], noise_mean=mean, noise_std=std))
    log_sigmas = []
    forward = EDMPrecond.forward

    def recording(self, x, sigma, cond=None):
        if torch.is_grad_enabled():  # a training step, not validation or sampling
            log_sigmas.append(sigma.detach().float().log().flatten())
        return forward(self, x, sigma, cond)

    monkeypatch.setattr(EDMPrecond, "forward", recording)
    synth = TabSynthesizer(random_state=0, **tiny_settings).fit(adult_small.head(400))
    assert synth.settings_["noise_mean"] == mean and synth.settings_["noise_std"] == std
    drawn = torch.cat(log_sigmas)
    assert len(drawn) >= 500  # ln sigma ~ N(mean, std^2), one draw per row of every step
    assert drawn.mean().item() == pytest.approx(mean, abs=5 * std / len(drawn) ** 0.5 + 1e-3)
    assert drawn.std().item() == pytest.approx(std, rel=0.1)
