"""Shared fixtures: small slices of the real benchmark tables in ../shared/datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]


def shared_datasets() -> Path:
    """The offline copy of the benchmark tables (TABSYN_DATA_DIR, else ../shared/datasets)."""
    env = os.environ.get("TABSYN_DATA_DIR")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    pytest.fail("no shared/datasets folder found above the tests; set TABSYN_DATA_DIR")


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    path = shared_datasets() / "adult.data"
    return pd.read_csv(path, header=None, names=ADULT_COLUMNS, skipinitialspace=True, na_values="?")


@pytest.fixture(scope="session")
def adult_small(adult) -> pd.DataFrame:
    """1,500 shuffled rows of Adult: every column kind, missing values in three columns."""
    return adult.sample(n=1500, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="session")
def tiny_settings() -> dict:
    """A budget that fits in seconds; enough to exercise every stage for real."""
    return dict(preset="fast", vae_steps=9, diffusion_steps=15, sampling_steps=4, verbose=False)
