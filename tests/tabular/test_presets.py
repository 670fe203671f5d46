"""Budgets that follow the table: asserted on step counts, never on seconds."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tabsyn import TabSynthesizer
from tabsyn.tabular.fitting import epochs_for, steps_per_epoch
from tabsyn.tabular.presets import (MIN_BATCH, MIN_VAE_BATCH, PRESETS, model_columns, resolve_settings,
                                    scale_to_table)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_smaller_tables_never_train_on_more_rows_or_larger_batches(preset):
    sizes = [2, 30, 200, 2000, 20000, 200000]
    settings = [resolve_settings(preset, n) for n in sizes]
    for small, large in zip(settings, settings[1:]):
        assert small.batch_size <= large.batch_size and small.vae_batch <= large.vae_batch
        # Rows seen (steps x batch) never grow as the table shrinks.
        assert small.vae_steps * small.vae_batch <= large.vae_steps * large.vae_batch
        assert small.diffusion_steps * small.batch_size <= large.diffusion_steps * large.batch_size
    top = PRESETS[preset]
    assert all(s.batch_size <= (top.diffusion_batch_size or top.batch_size) and s.vae_batch <= top.batch_size
               and s.diffusion_steps <= top.diffusion_steps for s in settings)
    assert settings[-1].diffusion_steps == top.diffusion_steps  # a large table gets the preset's budget


def test_budgets_shrink_as_the_square_root_of_the_rows_below_full_rows_and_the_default_vaes_in_proportion():
    full = PRESETS["default"]
    at_full = resolve_settings("default", full.full_rows)
    assert (at_full.diffusion_steps, at_full.vae_steps) == (full.diffusion_steps, full.vae_steps)
    quarter = resolve_settings("default", full.full_rows // 4)
    assert quarter.diffusion_steps == full.diffusion_steps // 2 and quarter.vae_steps == full.vae_steps // 4
    assert resolve_settings("default", 2).diffusion_steps == full.min_steps  # the floor
    # 2,000 rows (1,800 train): 315 VAE steps, fewer than 700 steps under the square root gave (332)
    assert resolve_settings("default", 1800).vae_steps == 315
    fast = PRESETS["fast"]  # the field's default power: the square root for both stages
    assert resolve_settings("fast", fast.full_rows // 4).vae_steps == fast.vae_steps // 2
    # The denoiser's power is a preset field too (the square root by default)
    linear = scale_to_table(replace(full, diffusion_rows_power=1.0), full.full_rows // 4)
    assert linear.diffusion_steps == full.diffusion_steps // 4 and linear.vae_steps == quarter.vae_steps


def test_the_batch_is_a_quarter_of_the_rows_within_its_bounds():
    assert resolve_settings("default", 1800).batch_size == 256
    adult = resolve_settings("default", 23443)  # the denoiser's batch 1,024 rows, the VAE's 512
    assert (adult.batch_size, adult.vae_batch) == (1024, PRESETS["default"].batch_size) == (1024, 512)
    assert resolve_settings("default", 100).batch_size == MIN_BATCH


def test_overrides_are_taken_as_given_after_scaling():
    s = resolve_settings("default", 1800, diffusion_steps=77, batch_size=300)
    assert s.diffusion_steps == 77 and s.batch_size == 300
    # The other budgets follow the batch the user chose.
    assert s.vae_steps == resolve_settings("default", 1800, batch_size=300).vae_steps


def test_the_default_preset_samples_with_dpm2m_from_sigma_10_and_the_sampler_can_be_chosen():
    s = resolve_settings("default", 26_000)
    assert (s.sampler, s.sampling_steps, s.sigma_max, s.diffusion_precision) == ("dpm2m", 16, 10.0, "auto")
    assert resolve_settings("default", 26_000, sampler="heun").sampler == "heun"
    assert resolve_settings("paper").sampler == "heun" and resolve_settings("paper").sigma_max == 80.0


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


def test_model_columns_count_the_vae_tokens_the_codec_lays_out(adult_small, mixed_table):
    from tabsyn.table.schema import infer_schema
    from tabsyn.tabular.codec import TableCodec

    for df in (adult_small, mixed_table.assign(num=mixed_table["num"].where(mixed_table.index % 5 > 0))):
        specs = infer_schema(df)
        x_num, x_cat = TableCodec().fit(df, specs).encode(df)
        assert model_columns(specs) == x_num.shape[1] + x_cat.shape[1]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_vae_batch_shrinks_with_the_columns_and_the_denoiser_batch_does_not(preset):
    cap = PRESETS[preset].vae_batch_tokens
    narrow = resolve_settings(preset, 20000, 15)
    assert narrow.vae_batch == PRESETS[preset].batch_size  # Adult's width: as before
    assert narrow.batch_size == (PRESETS[preset].diffusion_batch_size or PRESETS[preset].batch_size)
    previous = narrow.vae_batch
    for columns in (31, 50, 100, 500, 2000, 10000):
        s = resolve_settings(preset, 20000, columns)
        assert s.batch_size == narrow.batch_size and s.vae_steps == narrow.vae_steps
        assert s.vae_batch <= previous and (s.vae_batch * (columns + 1) <= cap or s.vae_batch == MIN_VAE_BATCH)
        previous = s.vae_batch
    assert resolve_settings(preset, 20000, 10000).vae_batch == MIN_VAE_BATCH
    assert resolve_settings(preset, 20000, 500, batch_size=100).vae_batch == 100  # a batch given is both stages'


def test_a_denoiser_batch_of_its_own_scales_with_the_rows_and_leaves_the_vaes_alone():
    preset = replace(PRESETS["default"], diffusion_batch_size=2048)
    full = scale_to_table(preset, 20000, n_columns=15)
    assert (full.batch_size, full.vae_batch) == (2048, PRESETS["default"].batch_size)
    assert scale_to_table(preset, 6000, n_columns=15).batch_size == 1024  # a quarter of the rows, as before
    small = scale_to_table(preset, 1800, n_columns=15)
    assert small.batch_size == small.vae_batch == 256
    assert scale_to_table(preset, 20000, n_columns=15, batch_size=100).vae_batch == 100  # a batch given: both
    default = scale_to_table(PRESETS["default"], 20000, n_columns=15)
    assert (default.batch_size, default.vae_batch) == (PRESETS["default"].diffusion_batch_size, 512)


def test_the_default_preset_on_1000_rows_of_500_columns():
    s = resolve_settings("default", 900, 500)
    assert (s.batch_size, s.vae_batch) == (128, 64)  # 64 x 501 tokens fit in 1,024 x 32


def test_a_wide_real_table_trains_its_vae_on_the_smaller_batch(adult_small):
    wide = pd.concat({f"{k}": adult_small.apply(lambda c: pd.Series(np.roll(c.to_numpy(), k), dtype=c.dtype))
                      for k in range(10)}, axis=1)  # 150 columns: Adult's 15, rolled by 0..9 rows
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    synth = TabSynthesizer(preset="fast", vae_steps=9, diffusion_steps=15, sampling_steps=4, random_state=0,
                           verbose=False).fit(wide)
    s, n_train = synth.settings_, len(wide) - 150
    assert (s["batch_size"], s["vae_batch_size"]) == (256, 64)  # 512 x 32 tokens / 151 -> 64
    assert len(synth.history_["vae"].records) == epochs_for(9, n_train, 64)
    assert len(synth.history_["diffusion"].records) == epochs_for(15, n_train, 256)
