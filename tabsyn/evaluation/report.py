"""The result of :func:`tabsyn.evaluation.evaluate`: every figure, as objects, a dict, a table or HTML."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tabsyn.evaluation.detection import Detection
from tabsyn.evaluation.efficacy import Efficacy
from tabsyn.evaluation.fidelity import Fidelity
from tabsyn.evaluation.guide import efficacy_sentence, format_value, good_value, missing_rates, warnings_for
from tabsyn.evaluation.privacy import Privacy
from tabsyn.table.schema import ColumnSpec


# to_dict's order of the detection figures: the two AUCs first, side by side.
_DETECTION_ORDER = ("roc_auc", "roc_auc_holdout", "n_rows", "n_rows_holdout", "n_folds")
_HOLDOUT_DETECTION = ("roc_auc_holdout", "n_rows_holdout")
_MISSING_LINES = 10  # columns whose missing-value rates str() shows


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
    holdout: pd.DataFrame | None = field(default=None, repr=False)

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

    def to_frame(self, *, guide: bool = False) -> pd.DataFrame:
        """One row per score: columns ``section``, ``metric``, ``value`` (and ``good value`` with ``guide``).

        ``value`` holds each figure as it is: counts as ints, scores as floats. Sections that
        were not computed (efficacy without a target, privacy and the holdout detection AUC
        without a holdout) have no rows. ``guide=True`` adds what a good value of each is.
        """
        rows = []
        for section, values in self.to_dict().items():
            if section == "info" or values is None:
                continue
            rows += [(section, name, value) for name, value in values.items()
                     if not (section == "detection" and name in _HOLDOUT_DETECTION and value is None)]
        # dtype=object: a column of ints and floats would otherwise make every count a float.
        frame = pd.DataFrame(rows, columns=["section", "metric", "value"], dtype=object)
        if guide:
            frame["good value"] = [good_value(s, m, self.efficacy) for s, m in zip(frame["section"], frame["metric"])]
        return frame

    def warnings(self) -> list[str]:
        """A sentence for each figure that says the synthetic rows are far from real ones (detection AUC
        above :data:`~tabsyn.evaluation.guide.DETECTION_WARNING_AUC`); empty when there is none."""
        return warnings_for(self)

    def missing_rates(self) -> pd.DataFrame:
        """Share of missing cells per column in the real, synthetic (and holdout) tables, for every
        column that has any; columns ``column``, ``real``, ``synthetic`` (, ``holdout``)."""
        return missing_rates(self.real, self.synthetic, self.holdout)

    def to_html(self, path: str | Path) -> Path:
        """Write one self-contained HTML report (plots with plotly.js inline; works offline).

        Returns the path written.
        """
        from tabsyn.evaluation.html import render

        path = Path(path)
        path.write_text(render(self), encoding="utf-8")
        return path

    def __str__(self) -> str:
        """Every figure with what a good value is, then the warnings, missing-value rates and efficacy in words."""
        frame = self.to_frame(guide=True)
        frame = frame[frame["section"] != "efficacy"].loc[lambda f: f["value"].map(lambda v: not isinstance(v, str))]
        lines = [f"{s:>9}  {m:<28} {format_value(v):>10}  {g}".rstrip() for s, m, v, g in frame.itertuples(index=False)]
        if self.efficacy is not None:
            lines.append(efficacy_sentence(self.efficacy))
        missing = self.missing_rates()
        if len(missing):  # the columns whose rates differ most first
            gap = (missing["synthetic"] - missing["real"]).abs().sort_values(ascending=False, kind="stable")
            shown = missing.loc[gap.index[:_MISSING_LINES]]
            lines.append("missing values (share of cells): " + "; ".join(
                f"{row['column']}: " + ", ".join(f"{name} {row[name]:.1%}" for name in missing.columns[1:])
                for _, row in shown.iterrows())
                + (f"; {len(missing) - len(shown)} more columns in missing_rates()" if len(missing) > len(shown)
                   else ""))
        lines += [f"warning: {w}" for w in self.warnings()]
        return "EvaluationResult\n" + "\n".join(lines)
