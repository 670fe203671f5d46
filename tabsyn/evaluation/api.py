"""``evaluate(real, synthetic, ...)``: every evaluation in one call, from two DataFrames."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import numpy as np
import pandas as pd

from tabsyn.evaluation import _checks
from tabsyn.evaluation.detection import detection
from tabsyn.evaluation.efficacy import efficacy
from tabsyn.evaluation.fidelity import fidelity
from tabsyn.evaluation.privacy import privacy
from tabsyn.evaluation.report import EvaluationResult


def _validate(real, synthetic, holdout, target, metadata, random_state, max_rows):
    _checks.check_options(random_state, max_rows)
    _checks.check_dataframe(real, "real")
    _checks.check_dataframe(synthetic, "synthetic")
    if holdout is not None:
        _checks.check_dataframe(holdout, "holdout")
    specs = _checks.resolve_specs(real, metadata)
    _checks.check_same_columns(real, synthetic, "synthetic")
    _checks.check_kinds(real, synthetic, specs, "synthetic")
    if holdout is not None:
        _checks.check_same_columns(real, holdout, "holdout")
        _checks.check_kinds(real, holdout, specs, "holdout")
    if target is not None:
        _checks.check_target(real, specs, target, holdout)
    return specs


def _seeds(random_state: int | None, n: int) -> list[int]:
    """Independent seeds for each part, so a part's numbers do not depend on the others."""
    children = np.random.SeedSequence(random_state).spawn(n)
    return [int(c.generate_state(1)[0] % (2**31 - 1)) for c in children]


@contextmanager
def _part(name: str, what: str, seconds: dict, verbose: bool):
    """Time one part into ``seconds[name]``; with ``verbose``, a line on stderr when it starts and ends."""
    if verbose:
        print(f"evaluate: {name} ({what}) ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    seconds[name] = time.perf_counter() - start
    if verbose:
        print(f"evaluate: {name} done in {seconds[name]:.1f} s", file=sys.stderr, flush=True)


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    target: object = None,
    metadata: dict | None = None,
    *,
    random_state: int | None = 0,
    max_rows: int | None = None,
    verbose: bool = False,
) -> EvaluationResult:
    """Compare a synthetic table with the real one it was learned from.

    Parameters
    ----------
    real : DataFrame
        The real rows the generator was trained on. Column kinds (numerical, categorical,
        datetime, id) are inferred from it with :func:`tabsyn.table.schema.infer_schema`.
    synthetic : DataFrame
        Generated rows with the same columns, in the same order, holding the same kinds
        of values.
    holdout : DataFrame, optional
        Real rows the generator never saw, same columns. Enables the privacy figures, the
        detection AUC against these rows (``detection.roc_auc_holdout``) and, with
        ``target``, ML efficacy.
    target : column label, optional
        Column to predict for ML efficacy: categorical -> classification (ROC AUC),
        numerical -> regression (RMSE). Needs ``holdout``.
    metadata : dict, optional
        sdmetrics/SDV single-table metadata (``{"columns": {name: {"sdtype": ...}}}``) to
        override the inferred kinds.
    random_state : int or None, default 0
        Seeds every subsample, fold and model; the same seed gives the same numbers.
    max_rows : int, optional
        Subsample each table to at most this many rows (seeded) before anything else.
        By default all rows are used, except that detection uses at most 20,000 rows per
        table and the privacy distances at most 10,000 reference and 5,000 synthetic rows.
    verbose : bool, default False
        Print a line on stderr as each part (fidelity, detection, efficacy, privacy) starts
        and when it is done, with its seconds (``tabsyn evaluate`` does, unless ``--quiet``).

    Returns
    -------
    EvaluationResult
        With ``to_dict()``, ``to_frame()`` and ``to_html(path)``.

    Raises
    ------
    TypeError, ValueError
        For anything that is not a DataFrame, columns or kinds that differ between the
        tables, or a target that is not a column; the message names what was received.

    Examples
    --------
    >>> from tabsyn.datasets import load_adult, train_holdout_split
    >>> df, target, task = load_adult()                                      # doctest: +SKIP
    >>> train, holdout = train_holdout_split(df)                             # doctest: +SKIP
    >>> result = evaluate(train, synthetic, holdout=holdout, target=target)  # doctest: +SKIP
    >>> result.to_html("report.html")                                        # doctest: +SKIP
    """
    specs = _validate(real, synthetic, holdout, target, metadata, random_state, max_rows)
    seeds = _seeds(random_state, 7)
    real = _checks.subsample(real, max_rows, seeds[0])
    synthetic = _checks.subsample(synthetic, max_rows, seeds[1])
    if holdout is not None:
        holdout = _checks.subsample(holdout, max_rows, seeds[2])

    seconds, n = {}, f"{len(real):,} real and {len(synthetic):,} synthetic rows"
    with _part("fidelity", f"sdmetrics' column shapes, pair trends and diagnostics on {n}", seconds, verbose):
        fid = fidelity(real, synthetic, specs)
    with _part("detection", "a classifier telling synthetic from real rows, out of fold", seconds, verbose):
        det = detection(real, synthetic, specs, seed=seeds[3], holdout=holdout, holdout_seed=seeds[6])
    eff = priv = None
    if target is not None:
        with _part("efficacy", f"models predicting {target!r}, trained on synthetic and on real rows", seconds,
                   verbose):
            eff = efficacy(real, synthetic, holdout, target, specs, seed=seeds[4])
    if holdout is not None:
        with _part("privacy", "distances to the closest training and holdout rows", seconds, verbose):
            priv = privacy(real, synthetic, holdout, specs, seed=seeds[5])

    info = {
        "rows": {"real": len(real), "synthetic": len(synthetic),
                 "holdout": None if holdout is None else len(holdout)},
        "random_state": random_state,
        "max_rows": max_rows,
        "kinds": {str(s.name): s.kind for s in specs},
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }
    return EvaluationResult(fidelity=fid, detection=det, efficacy=eff, privacy=priv,
                            info=info, specs=specs, real=real, synthetic=synthetic, holdout=holdout)
