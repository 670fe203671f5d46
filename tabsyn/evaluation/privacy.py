"""Privacy: are synthetic rows closer to the training rows than fresh real rows would be?

Three figures, each compared with what a holdout of real rows never trained on gives:

- **DCR share**: the fraction of synthetic rows whose closest training row is nearer
  than their closest holdout row (ties count one half). Training and holdout rows are
  subsampled to the same number, so a generator that does not copy scores about 0.5;
  a generator that copies its training rows scores 1.0.
- **sdmetrics DCROverfittingProtection**: sdmetrics' own version of the same idea
  (``min(2 * (1 - share), 1)``, 1 = protected), on a smaller subsample because its
  pandas cross joins are slow.
- **copy rate**: the fraction of synthetic rows equal to some training row in every
  (non-ID) column, beside the same fraction for holdout rows, since real tables hold
  duplicate rows too.

Distances (Euclidean) are taken in :class:`tabsyn.table.rows.RowSpace`, learned on the
training rows: quantile-scaled numerical columns (uniform on [0, 1], with a missing-value
indicator) and one-hot categorical columns scaled by 1/sqrt(2), so a differing category
and a numerical value at the other end of its range both add 1 to the squared distance.
The privacy guard of ``TabSynthesizer.sample`` measures in the same space.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tabsyn.evaluation._checks import subsample
from tabsyn.evaluation.fidelity import quiet_sdmetrics
from tabsyn.table.rows import RowSpace, row_keys
from tabsyn.table.schema import ColumnSpec, sdmetrics_metadata

# Rows of training and of holdout data the distances are measured to (each), and
# synthetic rows measured: ~10k x 5k distances in a few seconds on 2 cores.
REFERENCE_ROWS = 10_000
QUERY_ROWS = 5_000
# sdmetrics' DCROverfittingProtection cross-joins in pandas: keep it to 1,000 rows a table.
SDMETRICS_ROWS = 1_000


@dataclass
class Privacy:
    """How much the synthetic rows reveal the training rows; see the module doc.

    Attributes
    ----------
    dcr_share : float
        Fraction of synthetic rows closer to a training row than to a holdout row
        (0.5 ideal, 1.0 = copies).
    dcr_overfitting_protection : float
        sdmetrics' DCROverfittingProtection score (1 = protected, 0 = copies).
    copy_rate : float
        Fraction of synthetic rows equal to a training row.
    holdout_copy_rate : float
        Fraction of holdout rows equal to a training row: the rate real data has.
    n_reference, n_query : int
        Training (and holdout) rows measured to, and synthetic rows measured.
    synthetic_to_train, synthetic_to_holdout : ndarray
        Each measured synthetic row's distance to its closest training / holdout row.
    """

    dcr_share: float
    dcr_overfitting_protection: float
    copy_rate: float
    holdout_copy_rate: float
    n_reference: int
    n_query: int
    synthetic_to_train: np.ndarray = field(repr=False)
    synthetic_to_holdout: np.ndarray = field(repr=False)


def _plain_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Nullable numbers (``Int64``, ``Float64``) as float64 with NaN: sdmetrics' DCR casts its comparisons
    to int, which fails on ``pd.NA`` (flights' delays, missing for cancelled flights)."""
    nullable = [c for c in df.columns if isinstance(df[c].dtype, pd.api.extensions.ExtensionDtype)
                and pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c].dtype)]
    return df.astype({c: np.float64 for c in nullable}) if nullable else df


def _sdmetrics_dcr(train, synthetic, holdout, specs, seed: int) -> float:
    # Imported here: sdmetrics imports torch, which `import tabsyn.evaluation` must not pay for.
    from sdmetrics.single_table import DCROverfittingProtection

    n = min(len(train), len(holdout), len(synthetic), SDMETRICS_ROWS)
    frames = [_plain_numbers(subsample(f, n, seed + i).rename(columns=str))
              for i, f in enumerate((train, synthetic, holdout))]
    with quiet_sdmetrics():
        return float(DCROverfittingProtection.compute(
            real_training_data=frames[0], synthetic_data=frames[1], real_validation_data=frames[2],
            metadata=sdmetrics_metadata(specs), table_name=None,
        ))


def privacy(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    specs: list[ColumnSpec],
    *,
    seed: int,
) -> Privacy:
    """Compare ``synthetic`` with the training rows ``real`` and the unseen rows ``holdout``."""
    n_ref = min(len(real), len(holdout), REFERENCE_ROWS)
    train_ref = subsample(real, n_ref, seed)
    holdout_ref = subsample(holdout, n_ref, seed + 1)
    query = subsample(synthetic, QUERY_ROWS, seed + 2)
    space = RowSpace(specs).fit(real)
    q = space.transform(query)
    to_train = space.nearest(q, space.transform(train_ref))
    to_holdout = space.nearest(q, space.transform(holdout_ref))
    share = np.mean(to_train < to_holdout) + 0.5 * np.mean(to_train == to_holdout)

    train_keys = row_keys(real, specs)
    return Privacy(
        dcr_share=float(share),
        dcr_overfitting_protection=_sdmetrics_dcr(real, synthetic, holdout, specs, seed + 3),
        copy_rate=float(np.isin(row_keys(synthetic, specs), train_keys).mean()),
        holdout_copy_rate=float(np.isin(row_keys(holdout, specs), train_keys).mean()),
        n_reference=n_ref,
        n_query=len(query),
        synthetic_to_train=to_train,
        synthetic_to_holdout=to_holdout,
    )
