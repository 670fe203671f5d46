"""Render benchmarks/RESULTS.md from the suite's JSON files (benchmarks/results/suite/).

The "Peers" section comes from benchmarks/peers.py's files (benchmarks/results/peers/);
peers.py rewrites just that section after each of its results, between two markers,
and this script renders it in the same place when it writes the whole file.

    python benchmarks/render_results.py [--results-dir DIR] [--peers-dir DIR] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = ("adult", "default", "shoppers", "magic", "beijing")
SYSTEMS = ("tabsyn", "gaussiancopula", "tvae", "ctgan", "holdout")
PEER_SYSTEMS = ("tabsyn", "tabularargn", "tvae", "holdout")
PEERS_REFERENCE = "tabularargn"  # the ratios' denominator
PEERS_START = "<!-- peers: rendered from benchmarks/results/peers/*.json by benchmarks/peers.py -->"
PEERS_END = "<!-- /peers -->"

# TabSyn (Zhang et al., ICLR 2024), its own model's column-shape and pair-trend error
# rates (%). Only numbers found in a source we could read go here; None = not verified.
PAPER_SHAPE_ERROR = {d: None for d in DATASETS}
PAPER_TREND_ERROR = {d: None for d in DATASETS}

COLUMNS = ("system", "quality", "shapes", "trends", "detection AUC", "ML efficacy syn / real",
           "DCR share", "copy rate syn / holdout", "fit s", "sample rows/s", "peak MB (before fit)")

LEGEND = """\
How to read the columns
- **quality, shapes, trends**: sdmetrics QualityReport (1 = same as the training split).
  Shapes: 1 - KS statistic (numerical) or 1 - total variation distance (categorical),
  averaged over columns. Trends: 1 - |correlation difference| / 2 or 1 - contingency
  total variation distance, averaged over *all* column pairs (TabSyn's definition).
- **detection AUC**: out-of-fold ROC AUC of a gradient-boosted classifier telling
  synthetic from training rows (3-fold, up to 20,000 rows a side); 0.5 = indistinguishable.
- **ML efficacy syn / real**: a gradient-boosted model trained on synthetic rows / on the
  training split, scored on the holdout: ROC AUC (higher is better) for classification,
  RMSE (lower is better) for Beijing's regression.
- **DCR share**: fraction of synthetic rows whose closest training row is nearer than
  their closest holdout row, with training rows subsampled to the holdout's size: 0.5
  when nothing is copied. Under this 80/20 split a generator that only copied training
  rows would reach about 0.5 + 0.25 / 2 = 0.625 (only a quarter of the training rows are
  in the subsample), so read it beside the copy rate.
- **copy rate syn / holdout**: share of synthetic rows equal to a training row in every
  column, beside the same share for real holdout rows (real tables hold duplicates).
- **fit s, sample rows/s, peak MB**: wall time of `fit`, rows per second of
  `sample(len(train))`, and the peak resident memory (VmHWM) of the child process that
  did both, beside its peak before `fit` started (Python, libraries and the data).
- **holdout**: the first half of the real holdout scored as if it were synthetic, against
  the second half: what an ideal generator would get (its ML efficacy test set is half
  the size of the other rows').
"""


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def row(r: dict) -> list[str]:
    s = r["scores"]
    f, e, p = s["fidelity"], s["efficacy"], s["privacy"]
    digits = 1 if e is not None and e["metric"] == "rmse" else 3
    efficacy = "-" if e is None else f"{fmt(e['synthetic'], digits)} / {fmt(e['real'], digits)}"
    rate = r.get("sample_rows_per_second")
    return [
        r["system"], fmt(f["quality_score"]), fmt(f["column_shapes"]), fmt(f["column_pair_trends"]),
        fmt(s["detection"]["roc_auc"]), efficacy,
        "-" if p is None else fmt(p["dcr_share"]),
        "-" if p is None else f"{100 * p['copy_rate']:.2f}% / {100 * p['holdout_copy_rate']:.2f}%",
        fmt(r.get("fit_seconds"), 1), "-" if rate is None else f"{rate:,.0f}",
        "-" if r.get("peak_rss_mb") is None else f"{r['peak_rss_mb']:,.0f} ({r['rss_before_fit_mb']:,.0f})",
    ]


def table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def summary_section(results: dict) -> list[str]:
    """Quality and detection per dataset and system, and where tabsyn beats every SDV synthesizer."""
    systems = [s for s in SYSTEMS if any((d, s) in results for d in DATASETS)]
    out = ["## Summary: quality / detection AUC (fit seconds)", "",
           "| dataset | " + " | ".join(systems) + " | tabsyn beats every SDV synthesizer on |",
           "|---|" + "---|" * (len(systems) + 1)]
    wins = 0
    for d in DATASETS:
        cells = []
        for s in systems:
            r = results.get((d, s))
            fit = "" if r is None or not r.get("fit_seconds") else f" ({r['fit_seconds']:,.0f} s)"
            if r is None:
                cells.append("-")
            else:
                quality, auc = r["scores"]["fidelity"]["quality_score"], r["scores"]["detection"]["roc_auc"]
                cells.append(f"{quality:.3f} / {auc:.3f}{fit}")
        verdict = "-"
        sdv = [results.get((d, s)) for s in ("gaussiancopula", "tvae", "ctgan")]
        ours = results.get((d, "tabsyn"))
        if ours is not None and all(r is not None for r in sdv):
            q = lambda r: r["scores"]["fidelity"]["quality_score"]  # noqa: E731
            a = lambda r: r["scores"]["detection"]["roc_auc"]  # noqa: E731
            better = [name for name, ok in (("quality", all(q(ours) > q(r) for r in sdv)),
                                            ("detection", all(a(ours) < a(r) for r in sdv))) if ok]
            verdict = " and ".join(better) or "neither"
            wins += better == ["quality", "detection"]
        out.append(f"| {d} | " + " | ".join(cells) + f" | {verdict} |")
    complete = sum(all((d, s) in results for s in ("tabsyn", "gaussiancopula", "tvae", "ctgan")) for d in DATASETS)
    out += ["", f"tabsyn beats GaussianCopula, TVAE and CTGAN on both quality and detection on {wins} of the "
            f"{complete} datasets where all four have run. Higher quality and lower detection AUC are better.", ""]
    return out


def dataset_section(name: str, results: dict) -> list[str]:
    found = [results[(name, s)] for s in SYSTEMS if (name, s) in results]
    if not found:
        return [f"## {name}", "", "No results yet.", ""]
    first = found[0]
    e = first["scores"]["efficacy"]
    task = f"{e['task']}, target `{first['target']}` ({e['metric']})" if e else f"target `{first['target']}`"
    rows = first["rows"]
    missing = [s for s in SYSTEMS if (name, s) not in results]
    out = [f"## {name}", "",
           f"{task}; {rows['train']:,} training rows, holdout {rows['holdout']:,} rows.", "",
           table([row(r) for r in found]), ""]
    if missing:
        out += [f"Not run yet: {', '.join(missing)}.", ""]
    return out


def paper_section(results: dict) -> list[str]:
    out = ["## Reference: TabSyn paper, its own model", "",
           "Column-shape and pair-trend *error rates* (%, = 100 x (1 - score)) that TabSyn "
           "(Zhang et al., ICLR 2024, Tables 1-2) publishes for its model, beside ours where "
           "`tabsyn` has been run. The paper's numbers could not be checked against a readable "
           "copy of the paper from this machine, so none is printed: \"not verified\". Its "
           "evaluation used sdmetrics' QualityReport (sdmetrics 0.11.1 per the authors' "
           "repository, amazon-science/tabsyn issue #19) on its own splits.", "",
           "| dataset | paper shape error % | our tabsyn shape error % "
           "| paper trend error % | our tabsyn trend error % |",
           "|---|---|---|---|---|"]
    for d in DATASETS:
        ours = results.get((d, "tabsyn"))
        shape = trend = "-"
        if ours:
            f = ours["scores"]["fidelity"]
            shape, trend = f"{100 * (1 - f['column_shapes']):.2f}", f"{100 * (1 - f['column_pair_trends']):.2f}"
        paper_s = "not verified" if PAPER_SHAPE_ERROR[d] is None else f"{PAPER_SHAPE_ERROR[d]:.2f}"
        paper_t = "not verified" if PAPER_TREND_ERROR[d] is None else f"{PAPER_TREND_ERROR[d]:.2f}"
        out.append(f"| {d} | {paper_s} | {shape} | {paper_t} | {trend} |")
    return out + [""]


def estimates_section(path: Path, results: dict) -> list[str]:
    """Estimated fit times of the SDV runs that have no result yet."""
    if not path.exists():
        return []
    estimates = [e for e in json.loads(path.read_text()).values() if (e["dataset"], e["system"]) not in results]
    if not estimates:
        return []
    out = ["## Estimated TVAE and CTGAN fit times (not run)", "",
           "From `python benchmarks/suite.py --estimate-epochs`: a 2-epoch fit with its epoch "
           "loop timed inside ctgan; estimate = overhead (metadata, transformers, Gaussian "
           "mixtures; paid once) + default epochs x seconds per epoch. Sampling and "
           "evaluation are excluded; with more torch threads on free cores epochs run faster.", "",
           "| dataset | system | train rows | s / epoch | overhead s | epochs | estimated fit | torch threads |",
           "|---|---|---|---|---|---|---|---|"]
    for e in estimates:
        out.append(f"| {e['dataset']} | {e['system']} | {e['train_rows']:,} | {e['seconds_per_epoch']:.1f} | "
                   f"{e['overhead_seconds']:.0f} | {e['default_epochs']} | "
                   f"{e['estimated_fit_minutes']:.0f} min | {e['torch_threads']} |")
    return out + [""]


def header(results: dict) -> list[str]:
    records = list(results.values())
    machines = {json.dumps(r["machine"], sort_keys=True) for r in records}
    commands = sorted({r["command"] for r in records})
    dates = sorted(r["date"] for r in records)
    threads = {}
    for r in records:
        if r["system"] != "holdout":
            threads.setdefault(r["system"], set()).add(str(r.get("torch_threads")))
    v = records[0]["versions"]
    out = ["# Benchmark results", "",
           "Generated by `python benchmarks/render_results.py` from `benchmarks/results/suite/*.json`; "
           "do not edit by hand.", "",
           "Protocol: each table is shuffled with seed 0 and split 80% training / 20% holdout "
           "(`tabsyn.datasets.train_holdout_split`); each system is fitted on the training split "
           "and samples as many rows; `tabsyn.evaluation.evaluate(train, synthetic, holdout=holdout, "
           "target=target)` scores them.", ""]
    for m in machines:
        m = json.loads(m)
        out.append(f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM ({m['platform']})")
    out += [f"- Runs: {dates[0]} to {dates[-1]}",
            "- torch threads per fit: " + ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in threads.items())
            + ("; fits with 1 thread ran two at a time, one per core" if any("1" in v for v in threads.values())
               else ""),
            "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
            "- Commands: " + "; ".join(f"`{c}`" for c in commands), ""]
    return out


PEER_COLUMNS = ("dataset", "system", "torch threads", "fit s", "fit / ARGN fit", "sample rows/s",
                "rows/s / ARGN rows/s", "quality", "shapes", "trends", "detection AUC vs train",
                "detection AUC vs holdout", "ML efficacy syn / real", "DCR share", "copy rate syn / holdout")

PEERS_LEGEND = """\
- **fit / ARGN fit**: this system's fit seconds over TabularARGN's on the same table in
  the same run (below 1 = faster); **rows/s / ARGN rows/s**: its sampling rate over
  TabularARGN's (above 1 = faster).
- **detection AUC vs train**: the classifier tells synthetic rows from the training rows
  (the column *detection AUC* above); a generator that copies training rows scores at or
  below 0.5 there. **vs holdout**: the same classifier and protocol against the real
  holdout rows, which no generator saw (as many rows a side as the smaller table has, so
  on small holdouts it is noisier): copying gains nothing there.
- Other columns as in the suite's dataset tables (see "How to read the columns"). *holdout*:
  half the real holdout scored against the other half, what an ideal generator gets.
"""


def load_results(results_dir: Path) -> dict:
    """``{(dataset, system): record}`` from the ``<dataset>__<system>.json`` files in a directory."""
    results = {}
    for path in sorted(results_dir.glob("*__*.json")):
        if path.stem.startswith("sdv_epoch"):
            continue
        r = json.loads(path.read_text())
        results[(r["dataset"], r["system"])] = r
    return results


def _ratio(value, reference) -> str:
    if not value or not reference:
        return "-"
    return f"{value / reference:.2f}x"


def peer_row(r: dict, reference: dict | None) -> list[str]:
    s = r["scores"]
    f, d, e, p = s["fidelity"], s["detection"], s["efficacy"], s["privacy"]
    digits = 1 if e is not None and e["metric"] == "rmse" else 3
    efficacy = "-" if e is None else f"{fmt(e['synthetic'], digits)} / {fmt(e['real'], digits)}"
    rate = r.get("sample_rows_per_second")
    generated = r["system"] != "holdout"
    ref_fit = None if reference is None else reference.get("fit_seconds")
    ref_rate = None if reference is None else reference.get("sample_rows_per_second")
    return [
        r["dataset"], r["system"], fmt(r.get("torch_threads")) if generated else "-",
        fmt(r.get("fit_seconds"), 1) if generated else "-",
        _ratio(r.get("fit_seconds"), ref_fit) if generated else "-",
        "-" if rate is None else f"{rate:,.0f}", _ratio(rate, ref_rate) if generated else "-",
        fmt(f["quality_score"]), fmt(f["column_shapes"]), fmt(f["column_pair_trends"]),
        fmt(d["roc_auc"]), fmt(d.get("roc_auc_holdout")), efficacy,
        "-" if p is None else fmt(p["dcr_share"]),
        "-" if p is None else f"{100 * p['copy_rate']:.2f}% / {100 * p['holdout_copy_rate']:.2f}%",
    ]


def peers_section(results: dict) -> list[str]:
    """The "Peers" section: one table over every (dataset, system) of benchmarks/peers.py."""
    out = [PEERS_START, "## Peers: tabsyn, TabularARGN (mostlyai-engine) and TVAE in one run", ""]
    if not results:
        return out + ["No results yet: `python benchmarks/peers.py`.", "", PEERS_END]
    records = list(results.values())
    generated = [r for r in records if r["system"] != "holdout"]
    threads = sorted({str(r.get("torch_threads")) for r in generated})
    smoke = {r["system"]: json.dumps(r["options"]["settings"], sort_keys=True)
             for r in records if (r.get("options") or {}).get("settings")}
    rows = sorted({(r.get("options") or {}).get("rows") for r in records} - {None})
    v = records[0]["versions"]
    dates = sorted(r["date"] for r in records)
    commands = sorted({r["command"] for r in records})
    out += ["From `python benchmarks/peers.py`: the suite's protocol (shuffle seed 0, 80/20 split, "
            "`tabsyn.evaluate`), every system at its defaults (tabsyn `TabSynthesizer()`, "
            "mostlyai-engine `TabularARGN()` on the CPU, SDV `TVAESynthesizer`), each fitted in its own "
            "child process with the same torch thread count.", ""]
    if smoke or rows:
        notes = [f"training split cut to {', '.join(map(str, rows))} rows"] if rows else []
        notes += [f"{system} {settings}" for system, settings in sorted(smoke.items())]
        out += ["**Smoke-test results, not the benchmark**: " + "; ".join(notes) + ".", ""]
    for m in {json.dumps(r["machine"], sort_keys=True) for r in records}:
        m = json.loads(m)
        out.append(f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM")
    out += [f"- Runs: {dates[0]} to {dates[-1]}; torch threads per fit: {', '.join(threads) or '-'}",
            "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
            "- Commands: " + "; ".join(f"`{c}`" for c in commands), "",
            "| " + " | ".join(PEER_COLUMNS) + " |", "|" + "---|" * len(PEER_COLUMNS)]
    systems = [s for s in PEER_SYSTEMS if any(k[1] == s for k in results)]
    systems += sorted({k[1] for k in results} - set(systems))
    for d in DATASETS:
        for s in systems:
            if (d, s) in results:
                row_ = peer_row(results[(d, s)], results.get((d, PEERS_REFERENCE)))
                out.append("| " + " | ".join(row_) + " |")
    return out + ["", PEERS_LEGEND, PEERS_END]


def with_peers_section(text: str, section: list[str]) -> str:
    """``text`` (a RESULTS.md) with its Peers section replaced, or inserted before the legend."""
    block = "\n".join(section)
    if PEERS_START in text and PEERS_END in text:
        head, rest = text.split(PEERS_START, 1)
        return head + block + rest.split(PEERS_END, 1)[1]
    anchor = LEGEND.splitlines()[0]
    if anchor in text:
        head, rest = text.split(anchor, 1)
        return head + block + "\n\n" + anchor + rest
    return text.rstrip() + "\n\n" + block + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dir", type=Path, default=HERE / "results" / "suite")
    parser.add_argument("--peers-dir", type=Path, default=HERE / "results" / "peers")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    results = load_results(args.results_dir)
    if not results:
        raise SystemExit(f"no results in {args.results_dir}; run benchmarks/suite.py first")
    peers = load_results(args.peers_dir)
    lines = header(results) + summary_section(results)
    if peers:
        lines += peers_section(peers) + [""]
    lines += [LEGEND]
    for name in DATASETS:
        lines += dataset_section(name, results)
    lines += paper_section(results)
    lines += estimates_section(args.results_dir / "sdv_epoch_estimates.json", results)
    args.output.write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
