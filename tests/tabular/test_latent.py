"""The latent denoiser's precision: bfloat16 autocast for training steps and sampling, float32 elsewhere."""

from dataclasses import replace

import pytest
import torch

from tabsyn import TabSynthesizer
from tabsyn.diffusion.denoiser import MLPDenoiser
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
