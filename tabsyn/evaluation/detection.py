"""Detection (C2ST): can a classifier tell real rows from synthetic ones?

Equal numbers of real and synthetic rows are labelled 0 and 1; a gradient-boosted
classifier (``HistGradientBoostingClassifier``, categorical columns native) predicts the
label out of fold (stratified k-fold), and the ROC AUC of those predictions is the score:
0.5 when the tables cannot be told apart, 1.0 when every row gives itself away.

Two scores, by the same classifier and protocol, differ only in which real rows they use:

- ``roc_auc``: against the training rows. A generator that copies its training rows
  scores 0.5 or below here, since its rows *are* the real side.
- ``roc_auc_holdout``: against real rows the generator never saw (when a holdout is
  given). Copies of training rows gain nothing here; 0.5 still means the synthetic rows
  look like fresh real data. With a small holdout it uses fewer rows, so it is noisier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from tabsyn.evaluation._checks import subsample
from tabsyn.evaluation.encoding import TreeEncoding
from tabsyn.table.schema import ColumnSpec

# Rows per side the classifier sees at most: 2 x 20,000 rows, 3 folds, well under a
# minute on 2 CPU cores; the AUC's standard error there is far below 0.01.
DETECTION_ROWS = 20_000


@dataclass
class Detection:
    """Out-of-fold ROC AUC of a real-vs-synthetic classifier (0.5 = indistinguishable).

    Attributes
    ----------
    roc_auc : float
        The score against the training rows.
    n_rows : int
        Rows used from each table (training and synthetic alike).
    n_folds : int
        Folds of the stratified cross-validation.
    roc_auc_holdout : float or None
        The same score against the holdout rows, which the generator never saw; None
        without a holdout.
    n_rows_holdout : int or None
        Rows used from each table (holdout and synthetic alike) for ``roc_auc_holdout``.
    """

    roc_auc: float
    n_rows: int
    n_folds: int
    roc_auc_holdout: float | None = None
    n_rows_holdout: int | None = None


def _c2st(real: pd.DataFrame, synthetic: pd.DataFrame, specs: list[ColumnSpec], *,
          seed: int, n_folds: int, max_rows: int) -> tuple[float, int, int]:
    """(ROC AUC, rows per side, folds) of the out-of-fold real-vs-synthetic classifier."""
    n = min(len(real), len(synthetic), max_rows)
    real = subsample(real, n, seed)
    synthetic = subsample(synthetic, n, seed + 1)
    encoding = TreeEncoding(specs).fit(real, synthetic)
    if not encoding.specs:  # nothing but ID columns: nothing to tell the rows apart by
        return 0.5, n, n_folds
    if n < 2:  # one row per side cannot be cross-validated
        return float("nan"), n, 0
    X = np.vstack([encoding.transform(real), encoding.transform(synthetic)])
    y = np.repeat([0, 1], [len(real), len(synthetic)])
    folds = min(n_folds, n)
    model = HistGradientBoostingClassifier(
        categorical_features=encoding.categorical_mask_, random_state=seed
    )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba)), n, folds


def detection(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    specs: list[ColumnSpec],
    *,
    seed: int,
    holdout: pd.DataFrame | None = None,
    holdout_seed: int | None = None,
    n_folds: int = 3,
    max_rows: int = DETECTION_ROWS,
) -> Detection:
    """Score how well a classifier separates ``real`` (and ``holdout``) from ``synthetic`` rows.

    ``holdout_seed`` seeds the holdout score's subsamples, folds and model (default
    ``seed``), so adding a holdout leaves the training-rows score as it was.
    """
    auc, n, folds = _c2st(real, synthetic, specs, seed=seed, n_folds=n_folds, max_rows=max_rows)
    out = Detection(roc_auc=auc, n_rows=n, n_folds=folds)
    if holdout is not None:
        out.roc_auc_holdout, out.n_rows_holdout, _ = _c2st(
            holdout, synthetic, specs, seed=seed if holdout_seed is None else holdout_seed,
            n_folds=n_folds, max_rows=max_rows)
    return out
