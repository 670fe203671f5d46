"""Budgets that follow the table: asserted on step counts, never on seconds."""

import pytest

from tabsyn import TabSynthesizer
from tabsyn.tabular.fitting import steps_per_epoch
from tabsyn.tabular.presets import MIN_BATCH, PRESETS, resolve_settings


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_smaller_tables_never_train_on_more_rows_or_larger_batches(preset):
    sizes = [2, 30, 200, 2000, 20000, 200000]
    settings = [resolve_settings(preset, n) for n in sizes]
    for small, large in zip(settings, settings[1:]):
        assert small.batch_size <= large.batch_size
        # Rows seen (steps x batch) never grow as the table shrinks.
        assert small.vae_steps * small.batch_size <= large.vae_steps * large.batch_size
        assert small.diffusion_steps * small.batch_size <= large.diffusion_steps * large.batch_size
    top = PRESETS[preset]
    assert all(s.batch_size <= top.batch_size and s.diffusion_steps <= top.diffusion_steps for s in settings)
    assert settings[-1].diffusion_steps == top.diffusion_steps  # a large table gets the preset's budget


def test_budgets_shrink_as_the_square_root_of_the_rows_below_full_rows():
    full = PRESETS["default"]
    assert resolve_settings("default", full.full_rows).diffusion_steps == full.diffusion_steps
    quarter = resolve_settings("default", full.full_rows // 4)
    assert quarter.diffusion_steps == full.diffusion_steps // 2 and quarter.vae_steps == full.vae_steps // 2
    assert resolve_settings("default", 2).diffusion_steps == full.min_steps  # the floor


def test_the_batch_is_a_quarter_of_the_rows_within_its_bounds():
    assert resolve_settings("default", 1800).batch_size == 256
    assert resolve_settings("default", 23443).batch_size == PRESETS["default"].batch_size
    assert resolve_settings("default", 100).batch_size == MIN_BATCH


def test_overrides_are_taken_as_given_after_scaling():
    s = resolve_settings("default", 1800, diffusion_steps=77, batch_size=300)
    assert s.diffusion_steps == 77 and s.batch_size == 300
    # The other budgets follow the batch the user chose.
    assert s.vae_steps == resolve_settings("default", 1800, batch_size=300).vae_steps


def test_validation_runs_at_a_step_interval_not_every_epoch(adult_small):
    """A 1,350-row training split: the number of validations follows the steps, not the epochs."""
    synth = TabSynthesizer(preset="fast", vae_steps=60, diffusion_steps=120, random_state=0, verbose=False)
    synth.fit(adult_small)
    s = synth.settings_
    n_train = len(adult_small) - round(0.1 * len(adult_small))
    per_epoch = steps_per_epoch(n_train, s["batch_size"])
    history = synth.history_["diffusion"]
    validated = [r for r in history.records if "val_loss" in r]
    epochs = len(history.records)
    assert epochs == -(-s["diffusion_steps"] // per_epoch)
    expected_every = max(1, round(s["eval_every_steps"] / per_epoch))
    assert len(validated) == epochs // expected_every + (epochs % expected_every > 0)  # + the last epoch
    assert expected_every > 1  # fewer validations than epochs
