"""ImageDDPM's estimator contract: params, fit/sample, reproducibility, persistence, input errors."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import tabsyn.persistence
import tabsyn.training
from tabsyn.image import ImageDDPM
from tabsyn.image.presets import PRESETS

# A network small enough that fit and sample take a fraction of a second.
TINY = dict(epochs=2, batch_size=32, base_channels=8, channel_mults=(1, 2), timesteps=20, warmup_steps=0,
            verbose=False, random_state=0)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return (d.images[:120] / 16).astype(np.float32), d.target[:120]


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return ImageDDPM(**TINY).fit(X, y)


def sample(model, n=6, **kw):
    kw.setdefault("steps", 5)
    return model.sample(n, y=kw.pop("y", np.arange(n) % 10), random_state=kw.pop("random_state", 0), **kw)


# -- scikit-learn contract ----------------------------------------------------------------------
def test_init_stores_params_and_clone_copies_them():
    model = ImageDDPM("baseline", epochs=3, channel_mults=(1, 2), random_state=7)
    params = model.get_params()
    assert params["config"] == "baseline" and params["epochs"] == 3 and params["channel_mults"] == (1, 2)
    assert clone(model).get_params() == params
    model.set_params(lr=1e-3, beta_schedule="cosine")
    assert model.lr == 1e-3 and model.beta_schedule == "cosine"


def test_sample_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="This ImageDDPM instance is not fitted yet. Call 'fit'"):
        ImageDDPM().sample(3)


def test_fit_returns_self_and_sets_learned_attributes(digits, fitted):
    X, y = digits
    assert fitted.classes_.tolist() == list(range(10))
    assert fitted.image_shape_ == (1, 8, 8)
    assert len(fitted.history_.records) == 2 and fitted.fit_seconds_ > 0
    assert fitted.settings_["channel_mults"] == (1, 2) and fitted.schedule_.timesteps == 20
    model = ImageDDPM(**TINY)
    assert model.fit(X[:40], y[:40]) is model


def test_presets_and_levels_adapt_to_small_images():
    small, baseline, large = (ImageDDPM(c) for c in ("small", "baseline", "large"))
    assert small._settings(28).channel_mults == (1, 2, 4) and small._settings(28).timesteps == 500
    assert small._settings(8).channel_mults == (1, 2)  # 8 -> 4; a 2x2 level is dropped
    assert baseline._settings(28).channel_mults == (1, 2, 4, 8) and baseline._settings(28).base_channels == 64
    assert large._settings(28).attention_resolutions == (7, 14) and large._settings(28).num_res_blocks == 3
    assert {name: p.timesteps for name, p in PRESETS.items()} == {"small": 500, "baseline": 1000, "large": 1000}
    assert ImageDDPM(channel_mults=(1, 2, 2, 2))._settings(8).channel_mults == (1, 2, 2, 2)  # explicit wins


# -- sampling: layout, dtype, range ----------------------------------------------------------------
def test_float_images_come_back_as_floats_in_0_1(fitted):
    out = sample(fitted)
    assert out.shape == (6, 8, 8) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_uint8_channels_first_images_come_back_as_uint8(digits):
    X, y = digits
    X8 = np.round(X * 255).astype(np.uint8)[:, None].repeat(3, axis=1)  # (N, 3, 8, 8)
    model = ImageDDPM(**TINY).fit(X8, y)
    out = sample(model, n=4, sampler="ddpm")
    assert out.shape == (4, 3, 8, 8) and out.dtype == np.uint8


def test_unconditional_fit_and_sampling(digits):
    X, _ = digits
    model = ImageDDPM(**TINY).fit(X.astype(np.float64))
    out = model.sample(3, steps=4, random_state=0)
    assert model.classes_ is None and out.shape == (3, 8, 8) and out.dtype == np.float64
    with pytest.raises(ValueError, match="y=3 was given but this ImageDDPM was fitted without labels"):
        model.sample(3, y=3)


def test_return_intermediates_gives_frames_in_the_output_layout(fitted):
    out, frames = sample(fitted, n=4, steps=9, return_intermediates=True)
    assert frames.shape == (10, 4, 8, 8) and frames.dtype == out.dtype
    assert np.array_equal(frames[-1], out)


# -- reproducibility ------------------------------------------------------------------------------
def test_same_seed_same_images_whatever_the_batch_size(fitted):
    a = sample(fitted, n=7, sampler="ddpm", batch_size=7)
    b = sample(fitted, n=7, sampler="ddpm", batch_size=3)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(a, sample(fitted, n=7, sampler="ddpm", random_state=1))
    # Image i depends on the seed and i only: the first images of a longer call agree.
    np.testing.assert_allclose(sample(fitted, n=10, sampler="ddpm")[:7], a, atol=1e-5)
    # Every image gets its own noise.
    assert len({img.tobytes() for img in sample(fitted, n=7, y=np.zeros(7, int))}) == 7


def test_calls_without_seed_continue_one_stream(digits):
    X, y = digits
    m1, m2 = ImageDDPM(**TINY).fit(X, y), ImageDDPM(**TINY).fit(X, y)
    for a, b in zip(m1.model_.state_dict().values(), m2.model_.state_dict().values()):
        assert torch.equal(a, b)  # same random_state, same weights
    first, second = m1.sample(3, y=1, steps=3), m1.sample(3, y=1, steps=3)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(m2.sample(3, y=1, steps=3), first)


# -- persistence ------------------------------------------------------------------------------------
def test_joblib_round_trip_gives_identical_samples(fitted, tmp_path):
    joblib.dump(fitted, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(sample(loaded, sampler="ddpm"), sample(fitted, sampler="ddpm"))
    assert loaded.get_params() == fitted.get_params()


def test_save_and_tabsyn_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "m.tabsyn")
    loaded = tabsyn.persistence.load(tmp_path / "m.tabsyn")
    assert isinstance(loaded, ImageDDPM)
    np.testing.assert_array_equal(sample(loaded), sample(fitted))
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.history_.records == fitted.history_.records
    # The stream of seedless calls carries over too.
    np.testing.assert_array_equal(loaded.sample(2, y=0, steps=3), clone_of(fitted).sample(2, y=0, steps=3))


def clone_of(model):
    return ImageDDPM._from_state(tabsyn.persistence.decode(tabsyn.persistence.encode(model._to_state())))


def test_weights_are_stored_on_cpu_and_a_cuda_model_loads_without_cuda(fitted):
    state = fitted._to_state()
    assert all(t.device.type == "cpu" for t in state["fitted"]["model"].values())
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    state["params"]["device"] = "cuda"  # as if fitted on a GPU
    loaded = ImageDDPM._from_state(state)
    assert next(loaded.model_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(sample(loaded), sample(fitted))


def test_unfitted_model_round_trips(tmp_path):
    ImageDDPM("large", epochs=5).save(tmp_path / "u.tabsyn")
    loaded = tabsyn.persistence.load(tmp_path / "u.tabsyn")
    assert loaded.get_params() == ImageDDPM("large", epochs=5).get_params()
    assert not hasattr(loaded, "model_")


# -- training ----------------------------------------------------------------------------------------
def test_short_fit_on_digits_lowers_the_loss():
    d = load_digits()
    model = ImageDDPM(epochs=6, batch_size=64, base_channels=16, lr=2e-3, warmup_steps=10, verbose=False,
                      random_state=0).fit(d.images / 16, d.target)
    losses = model.history_.column("train_loss")
    assert losses[-1] < 0.6 * losses[0], losses


def test_ema_weights_are_what_sample_uses(digits, monkeypatch):
    # Spy on the shared loop's EMA to see both the raw and the averaged weights at the end of fit.
    X, y = digits
    seen = {}

    class SpyEMA(tabsyn.training.EMA):
        def update(self, model):
            super().update(model)
            seen["ema"] = {k: v.clone() for k, v in self.model.state_dict().items()}
            seen["raw"] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    monkeypatch.setattr(tabsyn.training, "EMA", SpyEMA)
    model = ImageDDPM(**{**TINY, "ema_decay": 0.9}).fit(X, y)
    assert all(torch.equal(v, seen["ema"][k]) for k, v in model.model_.state_dict().items())
    ema_images = sample(model, sampler="ddpm")
    model.model_.load_state_dict(seen["raw"])
    raw_images = sample(model, sampler="ddpm")
    assert np.abs(ema_images - raw_images).max() > 0.05  # the averaging changes what is drawn
    # ema_decay=0 follows the same training path and samples with those raw weights.
    raw = ImageDDPM(**{**TINY, "ema_decay": 0.0}).fit(X, y)
    np.testing.assert_array_equal(sample(raw, sampler="ddpm"), raw_images)


def test_bfloat16_training_runs_and_keeps_float32_weights(digits):
    X, y = digits
    model = ImageDDPM(**{**TINY, "precision": "bfloat16"}).fit(X, y)
    assert all(p.dtype == torch.float32 for p in model.model_.parameters())
    assert np.isfinite(model.history_.column("train_loss")).all()
    assert sample(model).dtype == np.float32


def test_time_budget_stops_training(digits):
    X, y = digits
    model = ImageDDPM(**{**TINY, "epochs": 1000, "max_seconds": 0.5}).fit(X, y)
    assert len(model.history_.records) < 1000 and "time budget" in model.history_.stop_reason


def test_sample_grids_during_fit(digits, tmp_path):
    X, y = digits
    ImageDDPM(**TINY, sample_every=1, sample_dir=str(tmp_path / "grids")).fit(X[:40], y[:40])
    names = sorted(p.name for p in (tmp_path / "grids").iterdir())
    assert names == ["epoch_0001.png", "epoch_0002.png", "final.png", "final_denoising.png"]


def test_verbose_false_prints_nothing(digits, capsys):
    X, y = digits
    sample(ImageDDPM(**TINY).fit(X[:40], y[:40]))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("X, err, match", [
    (np.zeros((4, 8)), ValueError,
     r"X must be a non-empty array of shape \(N, H, W\) or \(N, C, H, W\); got shape \(4, 8\)"),
    (np.full((4, 8, 8), 1.5), ValueError, r"X holds floats, which must lie in \[0, 1\]; got values from 1.5 to 1.5"),
    (np.full((4, 8, 8), np.nan), ValueError, "X holds NaN or infinite values"),
    (np.full((4, 8, 8), 300, np.int16), ValueError, "X holds integers, which must lie in 0..255; got values from 300"),
    (np.zeros((4, 8, 8, 3)), ValueError, r"X must be channels-first \(N, C, H, W\); got shape \(4, 8, 8, 3\)"),
    (np.zeros((4, 8, 8), bool), TypeError, "X must hold uint8 0..255 or floats in \\[0, 1\\]; got dtype bool"),
])
def test_bad_images_raise(X, err, match):
    with pytest.raises(err, match=match):
        ImageDDPM(**TINY).fit(X)


@pytest.mark.parametrize("y, err, match", [
    (np.zeros(3, int), ValueError, r"y must be a 1-d array with one label per image \(4\); got shape \(3,\)"),
    (np.array([0, 1, -2, 1]), ValueError, r"y must hold non-negative class labels; got \[-2\]"),
    (np.array([0.5, 1, 2, 1]), TypeError, "y must hold integer class labels; got dtype float64"),
    (np.array(["a", "b", "c", "d"]), TypeError, "y must hold integer class labels; got dtype <U1"),
])
def test_bad_labels_raise(y, err, match):
    with pytest.raises(err, match=match):
        ImageDDPM(**TINY).fit(np.zeros((4, 8, 8)), y)


@pytest.mark.parametrize("params, match", [
    (dict(config="huge"), r"config must be one of \['small', 'baseline', 'large'\]; got 'huge'"),
    (dict(beta_schedule="quadratic"), r"beta_schedule must be one of \['linear', 'cosine'\]; got 'quadratic'"),
    (dict(epochs=0), "epochs must be a positive integer; got 0"),
    (dict(class_dropout=1.0), r"class_dropout must be a number in \[0.0, 1.0\); got 1.0"),
    (dict(channel_mults=(1, 0)), r"channel_mults must be a tuple of positive integers; got \(1, 0\)"),
    (dict(sample_every=2), "sample_every=2 needs sample_dir"),
    (dict(device="tpu"), "device must be one of"),
    (dict(precision="float16"), r"precision must be one of \['float32', 'bfloat16'\]; got 'float16'"),
])
def test_bad_params_raise_at_fit(params, match):
    with pytest.raises(ValueError, match=match):
        ImageDDPM(**{**TINY, **params}).fit(np.zeros((4, 8, 8)))


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(n=0), ValueError, "n must be a positive integer; got 0"),
    (dict(n=-3), ValueError, "n must be a positive integer; got -3"),
    (dict(n=2.5), TypeError, r"n must be a positive integer; got 2.5"),
    (dict(n=2, sampler="euler"), ValueError, r"sampler must be one of \['ddim', 'ddpm'\]; got 'euler'"),
    (dict(n=2, y=11), ValueError, r"y holds class labels never seen in fit: \[11\]; the known classes are \[0, 1,"),
    (dict(n=2, y=[1, 2, 3]), ValueError, r"y must be one label or n=2 labels; got shape \(3,\)"),
    (dict(n=2, y=1, guidance_scale=-1), ValueError,
     r"guidance_scale must be a number >= 0 \(1 = the plain conditional, default 2\); got -1"),
    (dict(n=2, y=1, guidance_scale=True), ValueError, "guidance_scale must be a number >= 0 .*; got True"),
    (dict(n=2, y=1, eta=-0.5), ValueError, "eta must be a number >= 0; got -0.5"),
    (dict(n=2, y=1, return_intermediates=1), TypeError, "return_intermediates must be True or False; got 1"),
    (dict(n=2, y=1, steps=0), ValueError, "steps must be a positive integer; got 0"),
])
def test_bad_sample_arguments_raise(fitted, kwargs, err, match):
    with pytest.raises(err, match=match):
        fitted.sample(**kwargs)


def test_verbose_true_shows_progress(digits, capsys):
    X, y = digits
    sample(ImageDDPM(**{**TINY, "verbose": True}).fit(X[:40], y[:40]))
    assert "ImageDDPM" in capsys.readouterr().err


def test_presets_spend_optimiser_steps_not_epochs(digits):
    """A preset's budget is steps: few images get many epochs, many images few (issue: 20 epochs of digits
    were chance-level samples)."""
    from tabsyn.image.presets import epochs_for, resolve_settings

    small = resolve_settings("small", 8)
    assert small.steps == 1500 and small.epochs is None
    assert epochs_for(small, 1347) == 137       # 11 batches of 128 an epoch
    assert epochs_for(small, 60_000) == 4       # 469 batches an epoch
    assert epochs_for(resolve_settings("small", 8, steps=10), 10_000) == 1
    assert epochs_for(resolve_settings("small", 8, epochs=3, steps=10), 10_000) == 3  # epochs win when given
    X, y = digits[0][:64], digits[1][:64]
    model = ImageDDPM(**{**TINY, "epochs": None, "steps": 6}).fit(X, y)
    assert model.settings_["epochs"] == 3 and len(model.history_.records) == 3  # 64 images / 32 = 2 steps an epoch
