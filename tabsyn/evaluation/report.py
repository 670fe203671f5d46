"""The result of :func:`tabsyn.evaluation.evaluate`: every figure, as objects, a dict, a table or HTML."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tabsyn.evaluation.detection import Detection
from tabsyn.evaluation.efficacy import Efficacy
from tabsyn.evaluation.fidelity import Fidelity
from tabsyn.evaluation.privacy import Privacy
from tabsyn.table.schema import ColumnSpec


# to_dict's order of the detection figures: the two AUCs first, side by side.
_DETECTION_ORDER = ("roc_auc", "roc_auc_holdout", "n_rows", "n_rows_holdout", "n_folds")
_HOLDOUT_DETECTION = ("roc_auc_holdout", "n_rows_holdout")


def _plain(value):
    """JSON-friendly: floats stay floats (NaN becomes None), numpy scalars become Python ones."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass
class EvaluationResult:
    """Fidelity, detection, ML efficacy and privacy of a synthetic table against a real one.

    Attributes
    ----------
    fidelity : Fidelity
        sdmetrics' quality (column shapes, pair trends) and diagnostic scores with details.
    detection : Detection
        Real-vs-synthetic classifier ROC AUC (0.5 = indistinguishable): against the
        training rows (``roc_auc``) and, with a holdout, against the holdout rows
        (``roc_auc_holdout``, None without one).
    efficacy : Efficacy or None
        Train-on-synthetic vs train-on-real scores on the holdout; None without a target.
    privacy : Privacy or None
        DCR share, sdmetrics DCROverfittingProtection and copy rates; None without a holdout.
    info : dict
        Rows used, random_state, column kinds and seconds spent per part.

    Examples
    --------
    >>> result = evaluate(train, synthetic, holdout=holdout, target="income")  # doctest: +SKIP
    >>> result.to_frame()                                                       # doctest: +SKIP
    >>> result.to_html("report.html")                                           # doctest: +SKIP
    """

    fidelity: Fidelity
    detection: Detection
    efficacy: Efficacy | None
    privacy: Privacy | None
    info: dict
    specs: list[ColumnSpec] = field(repr=False)
    # The (possibly subsampled) tables the figures came from, kept for the HTML plots.
    real: pd.DataFrame = field(repr=False)
    synthetic: pd.DataFrame = field(repr=False)

    @property
    def quality_score(self) -> float:
        """sdmetrics' overall quality score (mean of column shapes and pair trends)."""
        return self.fidelity.quality_score

    @property
    def detection_auc(self) -> float:
        """Out-of-fold ROC AUC of the classifier telling synthetic from training rows."""
        return self.detection.roc_auc

    @property
    def detection_auc_holdout(self) -> float | None:
        """The same AUC against the holdout rows, which the generator never saw (None without)."""
        return self.detection.roc_auc_holdout

    def to_dict(self) -> dict:
        """Every score as plain Python values (JSON-serialisable), grouped by section.

        ``detection`` holds ``roc_auc`` (vs training rows) and ``roc_auc_holdout`` (vs
        holdout rows; None without a holdout), with the rows and folds each used.
        """
        det = vars(self.detection)
        out = {"fidelity": {k: _plain(v) for k, v in self.fidelity.scores().items()},
               "detection": {k: _plain(det[k]) for k in _DETECTION_ORDER}}
        out["efficacy"] = None if self.efficacy is None else {
            k: _plain(v) for k, v in vars(self.efficacy).items()}
        out["privacy"] = None if self.privacy is None else {
            k: _plain(v) for k, v in vars(self.privacy).items() if not k.startswith("synthetic_to")}
        out["info"] = self.info
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per score: columns ``section``, ``metric``, ``value``.

        Sections that were not computed (efficacy without a target, privacy and the
        holdout detection AUC without a holdout) have no rows.
        """
        rows = []
        for section, values in self.to_dict().items():
            if section == "info" or values is None:
                continue
            rows += [(section, name, value) for name, value in values.items()
                     if not (section == "detection" and name in _HOLDOUT_DETECTION and value is None)]
        return pd.DataFrame(rows, columns=["section", "metric", "value"])

    def to_html(self, path: str | Path) -> Path:
        """Write one self-contained HTML report (plots with plotly.js inline; works offline).

        Returns the path written.
        """
        from tabsyn.evaluation.html import render

        path = Path(path)
        path.write_text(render(self), encoding="utf-8")
        return path

    def __str__(self) -> str:
        frame = self.to_frame()
        frame = frame[frame["value"].map(lambda v: isinstance(v, float))]
        lines = [f"{s:>9}  {m:<28} {v:.4f}" for s, m, v in frame.itertuples(index=False)]
        return "EvaluationResult\n" + "\n".join(lines)
