"""Small slices of the real Adult and Beijing tables, loaded through tabsyn.datasets."""

from __future__ import annotations

import pandas as pd
import pytest

from tabsyn.datasets import load_adult, load_beijing, train_holdout_split


@pytest.fixture(scope="session")
def adult_split() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Disjoint real Adult rows: train (800), holdout (800) and other real rows (800)."""
    df, _, _ = load_adult(download=False)
    train, rest = train_holdout_split(df)
    return train.iloc[:800], rest.iloc[:800].reset_index(drop=True), rest.iloc[800:1600].reset_index(drop=True)


@pytest.fixture(scope="session")
def beijing_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """600 training and 300 holdout rows of Beijing (regression target with missing values)."""
    df, _, _ = load_beijing(download=False)
    train, holdout = train_holdout_split(df)
    return train.iloc[:600], holdout.iloc[:300]
