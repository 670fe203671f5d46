"""Shared fixtures: small slices of the real benchmark tables in ../shared/datasets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsyn.datasets import load_adult


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """Adult's adult.data, from the offline copy (never downloaded in tests)."""
    df, _, _ = load_adult(download=False)
    return df


@pytest.fixture(scope="session")
def adult_small(adult) -> pd.DataFrame:
    """1,500 shuffled rows of Adult: every column kind, missing values in three columns."""
    return adult.sample(n=1500, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="session")
def tiny_settings() -> dict:
    """A budget that fits in seconds; enough to exercise every stage for real."""
    return dict(preset="fast", vae_steps=9, diffusion_steps=15, sampling_steps=4, verbose=False)


@pytest.fixture(scope="session")
def adult_model(adult):
    """A short real fit (about 15 s) on 3,000 Adult rows, for tests that need learned structure.

    Returns the fitted synthesizer and the 3,000 training rows.
    """
    from tabsyn import TabSynthesizer

    train = adult.sample(n=3000, random_state=0).reset_index(drop=True)
    synth = TabSynthesizer(preset="fast", vae_steps=300, diffusion_steps=800, verbose=False, random_state=0)
    return synth.fit(train), train


@pytest.fixture()
def mixed_table() -> pd.DataFrame:
    """40 rows of every column kind: numbers, integer codes, text with missing values, dates, keys."""
    n = 40
    return pd.DataFrame({
        "num": np.linspace(0, 10, n),
        "code": np.arange(n) % 4,                       # integer-coded category
        "text": ["u", "v", None, "w"] * (n // 4),       # category with missing values
        "when": pd.date_range("2021-01-01", periods=n, freq="D"),
        "key": [f"id{i:03d}" for i in range(n)],        # ID: left out everywhere
    })
