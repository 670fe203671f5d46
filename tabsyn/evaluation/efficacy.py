"""Machine-learning efficacy: train on synthetic, test on real (TSTR), beside train on real.

The same gradient-boosted model (``HistGradientBoosting*``, default settings, categorical
columns native) is fitted once on the synthetic table and once on the real training
table, and both are scored on the real holdout. Classification (categorical target) is
scored by ROC AUC (one-vs-rest macro average for more than two classes), regression
(numerical target) by RMSE. Rows whose target is missing are dropped here only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score

from tabsyn.evaluation.encoding import TreeEncoding
from tabsyn.table.rows import category_key
from tabsyn.table.schema import CATEGORICAL, ColumnSpec

CLASSIFICATION, REGRESSION = "classification", "regression"


@dataclass
class Efficacy:
    """Holdout scores of a model trained on synthetic rows and of one trained on real rows.

    Attributes
    ----------
    target : str
        The predicted column.
    task : {"classification", "regression"}
        Inferred from the target's kind (categorical or numerical).
    metric : {"roc_auc", "rmse"}
        Higher is better for ROC AUC, lower for RMSE.
    synthetic : float
        Score on the real holdout of the model trained on the synthetic table.
    real : float
        Score on the real holdout of the model trained on the real training table.
    n_synthetic, n_real, n_holdout : int
        Rows with a target used for each fit and for the test.
    """

    target: str
    task: str
    metric: str
    synthetic: float
    real: float
    n_synthetic: int
    n_real: int
    n_holdout: int


def _classification_auc(model, X: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """ROC AUC over the classes present in ``y``; a one-class fit scores as chance (0.5)."""
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    if len(model.classes_) < 2:
        return 0.5
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_] = model.predict_proba(X)
    if n_classes == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    proba = proba[:, present] + 1e-12
    proba /= proba.sum(axis=1, keepdims=True)
    if len(present) == 2:  # the synthetic rows held a class the holdout lacks: still a binary task
        return float(roc_auc_score(y == present[1], proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", labels=present))


class _ConstantClassifier:
    """What a fit on a single class amounts to: that class, always."""

    def __init__(self, label: int):
        self.classes_ = np.array([label])


def _fit(task: str, X: np.ndarray, y: np.ndarray, mask: np.ndarray, seed: int):
    if task == CLASSIFICATION:
        if len(np.unique(y)) < 2:
            return _ConstantClassifier(int(y[0]))
        model = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed)
    else:
        model = HistGradientBoostingRegressor(categorical_features=mask, random_state=seed)
    return model.fit(X, y)


def efficacy(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    target: object,
    specs: list[ColumnSpec],
    *,
    seed: int,
) -> Efficacy:
    """Train on ``synthetic`` and on ``real``, test both on ``holdout``; see the module doc."""
    kind = next(s.kind for s in specs if s.name == target)
    task = CLASSIFICATION if kind == CATEGORICAL else REGRESSION
    frames = [f[f[target].notna()] for f in (synthetic, real, holdout)]
    encoding = TreeEncoding(specs, exclude=[target]).fit(*frames)
    X_syn, X_real, X_test = (encoding.transform(f) for f in frames)
    if task == CLASSIFICATION:
        keys = [f[target].astype(object).map(category_key) for f in frames]
        codes = {v: i for i, v in enumerate(sorted(pd.concat(keys).unique(), key=str))}
        y_syn, y_real, y_test = (k.map(codes).to_numpy(dtype=int) for k in keys)
    else:
        y_syn, y_real, y_test = (pd.to_numeric(f[target]).to_numpy(dtype=np.float64) for f in frames)

    scores = []
    for X, y in ((X_syn, y_syn), (X_real, y_real)):
        if len(y) == 0 or len(y_test) == 0:
            scores.append(float("nan"))
            continue
        model = _fit(task, X, y, encoding.categorical_mask_, seed)
        if task == CLASSIFICATION:
            scores.append(_classification_auc(model, X_test, y_test, len(codes)))
        else:
            scores.append(float(np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))))
    return Efficacy(
        target=str(target), task=task, metric="roc_auc" if task == CLASSIFICATION else "rmse",
        synthetic=scores[0], real=scores[1],
        n_synthetic=len(y_syn), n_real=len(y_real), n_holdout=len(y_test),
    )
