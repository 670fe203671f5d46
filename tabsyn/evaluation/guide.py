"""How to read an evaluation: what a good value of each score is, the warnings a result earns, and
the sentences that say what was compared with what (on how many rows).

Shared by the text (``str(result)``, the CLI) and the HTML report, so both say the same.
"""

from __future__ import annotations

import math

import pandas as pd

# A detection AUC above this gets a warning: a classifier tells nearly every synthetic row from
# a real one (fresh real rows score about 0.5; the shipped model on Adult about 0.6-0.7).
DETECTION_WARNING_AUC = 0.9

_ONE = "1 = as in the real table; closer to 1 is better"

# (section, metric) -> what a good value is. Counts say what they count.
GOOD = {
    ("fidelity", "quality_score"): _ONE + " (mean of column_shapes and column_pair_trends)",
    ("fidelity", "column_shapes"): _ONE + " (each column's distribution)",
    ("fidelity", "column_pair_trends"): _ONE + " (each pair's correlation or contingency table)",
    ("fidelity", "diagnostic_score"): "1 = valid values and the real table's structure",
    ("fidelity", "data_validity"): "1 = every value within the real ranges and categories",
    ("fidelity", "data_structure"): "1 = the same column names",
    ("detection", "roc_auc"): (f"0.5 = indistinguishable from the training rows, 1 = told apart every time "
                               f"(warning above {DETECTION_WARNING_AUC:g}); below 0.5 hints at copies"),
    ("detection", "roc_auc_holdout"): (f"0.5 = indistinguishable from real rows never trained on, 1 = told apart "
                                       f"every time (warning above {DETECTION_WARNING_AUC:g})"),
    ("detection", "n_rows"): "rows a side (training and synthetic)",
    ("detection", "n_rows_holdout"): "rows a side (holdout and synthetic)",
    ("detection", "n_folds"): "cross-validation folds",
    ("efficacy", "n_synthetic"): "rows the synthetic-trained model learned from",
    ("efficacy", "n_real"): "rows the real-trained model learned from",
    ("efficacy", "n_holdout"): "real rows both models are tested on",
    ("privacy", "dcr_share"): "0.5 = no closer to training rows than to unseen real rows; 1 = copies",
    ("privacy", "dcr_overfitting_protection"): "1 = protected, 0 = copies",
    ("privacy", "copy_rate"): "as low as holdout_copy_rate (real tables hold duplicate rows too)",
    ("privacy", "holdout_copy_rate"): "the copy rate of real rows never trained on: the baseline",
    ("privacy", "n_reference"): "training rows (and as many holdout rows) measured to",
    ("privacy", "n_query"): "synthetic rows measured",
}


def good_value(section: str, metric: str, efficacy=None) -> str:
    """What a good value of ``section``'s ``metric`` is, in words ("" where there is nothing to say)."""
    if section == "efficacy" and metric in ("synthetic", "real") and efficacy is not None:
        better = "higher" if efficacy.metric == "roc_auc" else "lower"
        if metric == "real":
            return f"{efficacy.metric} of the same model trained on real rows: the score to match"
        return f"{efficacy.metric}, {better} is better; as good as 'real' = as useful as real rows"
    return GOOD.get((section, metric), "")


def format_value(value) -> str:
    """Counts as integers (with thousands separators), scores to 4 decimals, missing as '-'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4f}"


def warnings_for(result) -> list[str]:
    """One sentence per figure of ``result`` that says the synthetic rows are far from real ones."""
    out = []
    d = result.detection
    for auc, against in ((d.roc_auc, f"{d.n_rows:,} training rows"),
                         (d.roc_auc_holdout, f"{d.n_rows_holdout or 0:,} holdout rows")):
        if auc is not None and auc > DETECTION_WARNING_AUC:
            out.append(f"detection AUC {auc:.4f} against {against} (above {DETECTION_WARNING_AUC:g}; 0.5 = "
                       f"indistinguishable): a classifier tells the synthetic rows from real ones almost every time; "
                       f"the column shapes and pair trends show which columns give them away")
    return out


def efficacy_sentence(e) -> str:
    """What ML efficacy compared, with the rows each model trained and was tested on."""
    better = "higher" if e.metric == "roc_auc" else "lower"
    text = (f"ML efficacy: a gradient-boosted model predicts {e.target!r} ({e.task}, {e.metric}, {better} is "
            f"better) on {e.n_holdout:,} real holdout rows, trained on {e.n_synthetic:,} synthetic rows: "
            f"{format_value(e.synthetic)}, or on {e.n_real:,} real training rows: {format_value(e.real)}.")
    if e.n_synthetic != e.n_real:
        text += (f" The two models trained on different numbers of rows ({e.n_synthetic:,} vs {e.n_real:,}), "
                 f"which alone moves their scores apart; sample as many rows as the real table has to compare "
                 f"like with like.")
    return text


def missing_rates(real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of missing cells per column, one row per column that has any in some table.

    Columns ``column``, ``real``, ``synthetic`` and, with a holdout, ``holdout``.
    """
    tables = {"real": real, "synthetic": synthetic, **({} if holdout is None else {"holdout": holdout})}
    rates = pd.DataFrame({name: t.isna().mean() if len(t) else t.isna().sum().astype(float)
                          for name, t in tables.items()})
    rates = rates[(rates > 0).any(axis=1)]
    return rates.rename_axis("column").reset_index()
