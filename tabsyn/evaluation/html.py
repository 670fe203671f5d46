"""One self-contained HTML page for an :class:`EvaluationResult`: numbers and plots, offline.

plotly.js is embedded once, inline, in the page head; every figure is a ``<div>`` that
uses it, so the file opens without a network connection. Plots are drawn from binned
counts, not raw rows, which keeps the file to a few megabytes whatever the table size.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from tabsyn.evaluation.guide import efficacy_sentence, format_value
from tabsyn.table.rows import MISSING_KEY, category_strings, datetime_to_float
from tabsyn.table.schema import CATEGORICAL, DATETIME, ID

REAL_COLOR, SYNTHETIC_COLOR, HOLDOUT_COLOR = "#1f77b4", "#ff7f0e", "#2ca02c"
TOP_CATEGORIES = 15
# A categorical column whose categories past the top ones hold more than this share of the real
# rows is high-cardinality: its plot says so instead of drawing one tall "(other)" bar.
HIGH_CARDINALITY_SHARE = 0.5
_CONFIG = {"displaylogo": False, "responsive": True}

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr)); gap: 8px; }
.note { color: #555; font-size: 0.9em; max-width: 60em; }
.warning { color: #8a1c00; background: #fff1eb; border-left: 4px solid #d9480f; padding: 4px 10px; max-width: 60em; }
"""


def _figure(fig: go.Figure, height: int) -> str:
    fig.update_layout(height=height, margin=dict(l=50, r=20, t=40, b=50), template="plotly_white")
    return fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG)


def _numeric_column_figure(name: str, real: np.ndarray, synthetic: np.ndarray, *, dates: bool = False) -> go.Figure:
    """Overlaid histograms on shared bins; ``dates``: values are nanoseconds since the epoch."""
    real, synthetic = real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]
    both = np.concatenate([real, synthetic])
    edges = np.histogram_bin_edges(both, bins=30) if len(both) else np.array([0.0, 1.0])
    centers, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    if dates:  # plotly's date axes place bars at timestamps and size them in milliseconds
        centers, widths = pd.to_datetime(centers.astype("int64"), utc=True), widths / 1e6
    fig = go.Figure()
    for label, values, color in (("real", real, REAL_COLOR), ("synthetic", synthetic, SYNTHETIC_COLOR)):
        counts = np.histogram(values, bins=edges)[0] / max(len(values), 1)
        fig.add_bar(x=centers, y=counts, width=widths, name=label, marker_color=color, opacity=0.6)
    fig.update_layout(barmode="overlay", title=str(name), yaxis_title="share of rows")
    return fig


def category_order(keys: list[str]) -> list[str]:
    """Category keys (:func:`category_strings`) in the order a plot lists them: by value when every
    one is a number (integer codes: months 1, 2, ..., 12), else as given (by frequency); missing last."""
    present = [k for k in keys if k != MISSING_KEY]
    values = pd.to_numeric(pd.Series(present, dtype=object), errors="coerce")
    if len(present) and values.notna().all():
        present = [present[i] for i in np.argsort(values.to_numpy(float), kind="stable")]
    return present + [k for k in keys if k == MISSING_KEY]


def categorical_column_figure(name: str, real: pd.Series, synthetic: pd.Series) -> go.Figure:
    """Shares of the ``TOP_CATEGORIES`` most frequent real categories (in :func:`category_order`),
    then an "(other: N categories)" bar for the rest; where the rest holds most rows (a high-cardinality
    column) the title says so and the bar is left out, so it does not dwarf the categories shown."""
    real_share = category_strings(real).value_counts(normalize=True)
    synthetic_share = category_strings(synthetic).value_counts(normalize=True)
    top = category_order(list(real_share.index[:TOP_CATEGORIES]))
    labels = [("(missing)" if k == MISSING_KEY else k) for k in top]
    rest, rest_share = len(real_share) - len(top), 1.0 - float(real_share[top].sum())
    title = str(name)
    if rest and rest_share > HIGH_CARDINALITY_SHARE:
        title += (f"<br><sup>high-cardinality: {len(real_share):,} categories; the {len(top)} most frequent "
                  f"shown hold {1 - rest_share:.0%} of real rows</sup>")
    other = [f"(other: {rest:,} categories)"] if rest and rest_share <= HIGH_CARDINALITY_SHARE else []
    fig = go.Figure()
    for label, share, color in (("real", real_share, REAL_COLOR), ("synthetic", synthetic_share, SYNTHETIC_COLOR)):
        y = [share.get(k, 0.0) for k in top]
        fig.add_bar(x=labels + other, y=y + [1.0 - sum(y)] * len(other), name=label, marker_color=color)
    # A category axis keeps the order given (plotly would sort numeric-looking labels itself).
    fig.update_layout(barmode="group", title=title, yaxis_title="share of rows", xaxis_type="category")
    return fig


def column_figures(result) -> list[str]:
    """One real-vs-synthetic distribution plot per non-ID column."""
    out = []
    for spec in result.specs:
        real, synthetic = result.real[spec.name], result.synthetic[spec.name]
        if spec.kind == ID:
            continue
        if spec.kind == CATEGORICAL:
            fig = categorical_column_figure(spec.name, real, synthetic)
        elif spec.kind == DATETIME:
            fig = _numeric_column_figure(spec.name, datetime_to_float(real), datetime_to_float(synthetic),
                                         dates=True)
        else:
            fig = _numeric_column_figure(spec.name, pd.to_numeric(real, errors="coerce").to_numpy(float),
                                         pd.to_numeric(synthetic, errors="coerce").to_numpy(float))
        out.append(_figure(fig, 320))
    return out


def pair_trend_figure(details: pd.DataFrame) -> str | None:
    """Heatmap of 1 - pair trend score for every column pair (0 = same trend)."""
    if details.empty:
        return None
    names = list(dict.fromkeys(list(details["Column 1"]) + list(details["Column 2"])))
    index = {n: i for i, n in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)
    for a, b, score in details[["Column 1", "Column 2", "Score"]].itertuples(index=False):
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = 1.0 - score
    fig = go.Figure(go.Heatmap(z=matrix, x=names, y=names, colorscale="Reds", zmin=0,
                               colorbar=dict(title="1 - score")))
    fig.update_layout(title="Pairwise trend difference (|correlation difference| / 2 for numerical "
                            "pairs, contingency total variation otherwise)", yaxis_autorange="reversed")
    return _figure(fig, 600)


def dcr_figure(privacy) -> str:
    """Histograms of each synthetic row's distance to its closest training and holdout row."""
    to_train, to_holdout = privacy.synthetic_to_train, privacy.synthetic_to_holdout
    edges = np.histogram_bin_edges(np.concatenate([to_train, to_holdout]), bins=40)
    centers, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    fig = go.Figure()
    for label, values, color in (("to closest training row", to_train, SYNTHETIC_COLOR),
                                 ("to closest holdout row", to_holdout, HOLDOUT_COLOR)):
        fig.add_bar(x=centers, y=np.histogram(values, bins=edges)[0], width=widths,
                    name=label, marker_color=color, opacity=0.6)
    fig.update_layout(barmode="overlay", title="Distance to closest record of synthetic rows",
                      xaxis_title="distance", yaxis_title="synthetic rows")
    return _figure(fig, 400)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="-", border=0)


def _heading(anchor: str, title: str) -> str:
    return f"<h2 id='{anchor}'>{title}</h2>"


def _detection_note(d) -> str:
    """The two detection AUCs in words: against training rows, and against holdout rows."""
    text = (f"Detection: a gradient-boosted classifier tells synthetic rows from real ones, out of "
            f"fold ({d.n_folds} folds; ROC AUC, 0.5 = indistinguishable, lower is better). Against "
            f"{d.n_rows} training rows (roc_auc): {d.roc_auc:.4f}.")
    if d.roc_auc_holdout is None:
        text += " Against holdout rows: not measured (no holdout given)."
    else:
        text += (f" Against {d.n_rows_holdout} holdout rows the generator never saw "
                 f"(roc_auc_holdout): {d.roc_auc_holdout:.4f}; copies of training rows score "
                 f"low against training rows but gain nothing here.")
    return f"<p class='note'>{text}</p>"


def _summary_table(result) -> str:
    """Every score with what a good value is; counts as integers."""
    frame = result.to_frame(guide=True)
    frame["value"] = frame["value"].map(format_value)
    return _table(frame)


def _missing_section(result) -> list[str]:
    rates = result.missing_rates()
    if rates.empty:
        return [_heading("missing", "Missing values"), "<p class='note'>No table has missing values.</p>"]
    rates["column"] = rates["column"].map(str)
    for name in rates.columns[1:]:
        rates[name] = rates[name].map(lambda v: f"{v:.1%}")
    return [_heading("missing", "Missing values"),
            "<p class='note'>Share of missing cells per column, for every column with any.</p>", _table(rates)]


def _sections(result) -> list[str]:
    parts = [_heading("summary", "Summary"),
             *(f"<p class='warning'>Warning: {html.escape(w)}.</p>" for w in result.warnings()),
             _summary_table(result), _detection_note(result.detection)]
    if result.efficacy is not None:
        parts.append(f"<p class='note'>{html.escape(efficacy_sentence(result.efficacy))}</p>")
    parts += [*_missing_section(result),
              _heading("columns", "Column distributions"), "<div class='grid'>", *column_figures(result), "</div>",
              _heading("shapes", "Column shapes"), _table(result.fidelity.column_shapes_details)]
    heatmap = pair_trend_figure(result.fidelity.column_pair_trends_details)
    if heatmap is not None:
        worst = result.fidelity.column_pair_trends_details.sort_values("Score").head(15)
        parts += [_heading("pairs", "Column pair trends"), heatmap,
                  "<p>The 15 least faithful pairs:</p>", _table(worst)]
    if result.privacy is not None:
        p = result.privacy
        parts += [_heading("privacy", "Privacy"), dcr_figure(p),
                  f"<p class='note'>{p.dcr_share:.1%} of {p.n_query} synthetic rows are closer to one of "
                  f"{p.n_reference} training rows than to one of {p.n_reference} holdout rows (50% "
                  f"expected when nothing is copied). Exact copies of training rows: "
                  f"{p.copy_rate:.2%} of synthetic rows, {p.holdout_copy_rate:.2%} of holdout rows.</p>"]
    parts += [_heading("validity", "Data validity"), _table(result.fidelity.data_validity_details)]
    return parts


def render(result) -> str:
    """The complete HTML page for ``result``."""
    rows = result.info["rows"]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>tabsyn evaluation report</title><style>{_CSS}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>")
    intro = (f"<h1>tabsyn evaluation report</h1><p class='note'>{stamp}. Rows: real {rows['real']}, "
             f"synthetic {rows['synthetic']}, holdout {rows['holdout'] or '-'}; "
             f"random_state={result.info['random_state']}.</p>")
    return head + intro + "\n".join(_sections(result)) + "</body></html>"
