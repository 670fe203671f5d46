"""The fit's duration, measured on a few real steps before training, and the warning a long fit gets."""

import warnings

import pytest
import torch

from tabsyn import TabSynthesizer
from tabsyn.table.schema import infer_schema
from tabsyn.tabular import estimate as estimate_module
from tabsyn.tabular.codec import TableCodec
from tabsyn.tabular.estimate import FitEstimate, LongFitWarning, estimate_fit, format_duration
from tabsyn.tabular.presets import resolve_settings


def test_the_estimate_is_within_a_factor_of_the_training_it_measures(adult_small):
    # No early stopping within 150 diffusion steps (patience is at least 3 validations of 50 steps).
    synth = TabSynthesizer(preset="fast", vae_steps=40, diffusion_steps=150, sampling_steps=4, random_state=0,
                           verbose=False, n_jobs=1).fit(adult_small)
    e, stages = synth.fit_estimate_, synth.fit_stages_
    assert (e.rows, e.columns, e.threads, e.device) == (1500, 15, 1, "cpu")
    # Measured training includes validation the estimate leaves out; a shared machine adds noise.
    assert stages["vae"] / 3 < e.vae_seconds < stages["vae"] * 1.5
    assert stages["denoiser"] / 3 < e.denoiser_seconds < stages["denoiser"] * 1.5


def test_the_probe_leaves_the_fit_s_random_numbers_as_they_were(adult_small):
    specs = infer_schema(adult_small)
    x_num, x_cat = (torch.from_numpy(a) for a in TableCodec().fit(adult_small, specs).encode(adult_small))
    settings = resolve_settings("fast", 1350, 15)
    torch.manual_seed(0)
    estimate_fit(x_num, x_cat, TableCodec().fit(adult_small, specs).cat_sizes, torch.arange(1350).numpy(), settings,
                 rows=1500, columns=15)
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(3))


def test_a_fit_estimated_past_the_threshold_warns_before_training_with_the_shape_and_what_to_do(
        adult_small, tiny_settings, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LongFitWarning)  # the shipped threshold: no warning for seconds
        TabSynthesizer(random_state=0, **tiny_settings).fit(adult_small)
    monkeypatch.setattr(estimate_module, "LONG_FIT_SECONDS", 0.0)
    with pytest.warns(LongFitWarning, match=r"this fit is estimated to take about \d+ s \(VAE \d+ s, denoiser up to "
                                            r"\d+ s\) for 1,500 rows x 15 columns, \d+ threads? on cpu") as caught:
        synth = TabSynthesizer(random_state=0, **tiny_settings).fit(adult_small)
    message = str(caught[0].message)
    assert "time_budget=SECONDS" in message and "fewer vae_steps / diffusion_steps" in message
    assert "preset='fast'" not in message  # it is the fast preset already
    assert caught[0].message.estimate == synth.fit_estimate_ and issubclass(LongFitWarning, UserWarning)
    assert caught[0].filename == __file__  # points at the call of fit
    with warnings.catch_warnings():
        warnings.simplefilter("error", LongFitWarning)  # a time budget under the threshold: no warning
        monkeypatch.setattr(estimate_module, "LONG_FIT_SECONDS", 60.0)
        TabSynthesizer(random_state=0, time_budget=30, **tiny_settings).fit(adult_small)


def test_durations_read_as_a_person_says_them():
    assert [format_duration(s) for s in (40, 1500, 6480)] == ["40 s", "25 min", "1 h 48 min"]
    e = FitEstimate(vae_seconds=240, denoiser_seconds=1260, rows=1000, columns=500, threads=1, device="cpu")
    assert e.describe() == ("about 25 min (VAE 4 min, denoiser up to 21 min) for 1,000 rows x 500 columns, "
                            "1 thread on cpu")
