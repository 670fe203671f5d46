"""Detection (C2ST): can a classifier tell real rows from synthetic ones?

Equal numbers of real and synthetic rows are labelled 0 and 1; a gradient-boosted
classifier (``HistGradientBoostingClassifier``, categorical columns native) predicts the
label out of fold (stratified k-fold), and the ROC AUC of those predictions is the score:
0.5 when the tables cannot be told apart, 1.0 when every row gives itself away.
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
        The score.
    n_rows : int
        Rows used from each table (real and synthetic alike).
    n_folds : int
        Folds of the stratified cross-validation.
    """

    roc_auc: float
    n_rows: int
    n_folds: int


def detection(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    specs: list[ColumnSpec],
    *,
    seed: int,
    n_folds: int = 3,
    max_rows: int = DETECTION_ROWS,
) -> Detection:
    """Score how well a classifier separates ``real`` from ``synthetic`` rows."""
    n = min(len(real), len(synthetic), max_rows)
    real = subsample(real, n, seed)
    synthetic = subsample(synthetic, n, seed + 1)
    encoding = TreeEncoding(specs).fit(real, synthetic)
    if not encoding.specs:  # nothing but ID columns: nothing to tell the rows apart by
        return Detection(roc_auc=0.5, n_rows=n, n_folds=n_folds)
    if n < 2:  # one row per side cannot be cross-validated
        return Detection(roc_auc=float("nan"), n_rows=n, n_folds=0)
    X = np.vstack([encoding.transform(real), encoding.transform(synthetic)])
    y = np.repeat([0, 1], [len(real), len(synthetic)])
    folds = min(n_folds, n)
    model = HistGradientBoostingClassifier(
        categorical_features=encoding.categorical_mask_, random_state=seed
    )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    return Detection(roc_auc=float(roc_auc_score(y, proba)), n_rows=n, n_folds=folds)
