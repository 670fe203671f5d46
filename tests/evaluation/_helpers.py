"""Tables built from real ones for the evaluation tests."""

from __future__ import annotations

import pandas as pd


def column_shuffled(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every column permuted on its own: the same marginals, no dependence between columns."""
    return pd.DataFrame({
        c: df[c].sample(frac=1, random_state=seed + i).to_numpy() for i, c in enumerate(df.columns)
    })
