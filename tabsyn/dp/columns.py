"""The column statistics of a differentially private fit: a surrogate table the codec learns from.

The codec (:class:`~tabsyn.tabular.codec.TableCodec`) learns ranges, quantiles,
category sets, missing flags and datetime resolutions from whatever table it
is fitted on. In DP mode it is fitted on a *surrogate*: per column, a few
thousand values drawn deterministically from DP statistics of the real column
(:mod:`tabsyn.dp.mechanisms`), so every fact the codec stores is post-processing
of a DP release. The real rows are then mapped into what that codec accepts
(levels never released become :data:`OTHER`, or join the most frequent level when
they are too few to tell from the noise; values are clipped to the released range)
and reach the networks only through DP-SGD.

Public, not protected (treated as known in advance, as every DP synthesizer does):
the column names, their dtypes (and the categories of a pandas ``category``
dtype), and the number of rows. Column kinds follow the dtype alone: numbers are
numerical, datetimes are datetimes, booleans, categories and text are
categorical; a column whose name says it is a key (``id``, ``key``, ``index``,
...) is an ID, generated without reading its values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from tabsyn.dp.mechanisms import (
    draw_from_bins, laplace_scale, noisy_counts, private_categories, private_quantile_bins, private_range,
)
from tabsyn.table.schema import CATEGORICAL, DATETIME, ID, NUMERICAL, ColumnSpec, names_a_key

OTHER = "(other)"        # the level categories too rare to release become (when they hold OTHER_SHARE or more)
OTHER_SHARE = 0.002      # of the rows; fewer rows of unreleased levels join the most frequent level instead
SURROGATE_ROWS = 2000    # rows of the surrogate table
MISSING_FLOOR = 0.05     # a missing-value flag is released when an empty column would pass with this chance
# Datetime resolutions tried, coarsest first, in nanoseconds.
RESOLUTIONS = {"D": 86_400 * 10**9, "h": 3_600 * 10**9, "min": 60 * 10**9, "s": 10**9}
# Shares of a column's epsilon: (range, quantiles, missing, resolution).
NUMBER_SHARES = (0.25, 0.55, 0.2, 0.0)
DATETIME_SHARES = (0.2, 0.45, 0.15, 0.2)
CATEGORY_SHARES = (0.8, 0.2)  # (levels, missing)


@dataclass
class PrivateColumns:
    """What the DP statistics released: the specs, the surrogate table and how to map real rows."""

    specs: list[ColumnSpec]
    surrogate: pd.DataFrame
    levels: dict          # text column -> (released levels, what real values outside them become)
    bounds: dict          # numerical / datetime column -> (low, high) in model numbers (clip)
    fill: dict            # column -> value for missing cells where no missing flag was released

    def prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        """The real table as the codec fitted on the surrogate accepts it (no new look at privacy)."""
        out = {}
        for spec in self.specs:
            col = df[spec.name]
            if spec.name in self.levels:
                keep, merged = self.levels[spec.name]
                col = col.astype(object).where(col.isna() | col.astype(object).isin(set(keep)), merged)
                col = col.astype(self.surrogate[spec.name].dtype)
            elif spec.name in self.bounds:
                low, high = self.bounds[spec.name]
                col = col.clip(low, high) if spec.kind == NUMERICAL else col.clip(
                    pd.Timestamp(low, tz=getattr(col.dtype, "tz", None)),
                    pd.Timestamp(high, tz=getattr(col.dtype, "tz", None)))
            if spec.name in self.fill:
                col = col.fillna(self.fill[spec.name])
            out[spec.name] = col
        return pd.DataFrame(out, index=df.index)[list(df.columns)]


def dp_kind(spec: ColumnSpec, dtype) -> str:
    """A column's kind from its dtype and name alone (what DP mode may look at)."""
    if names_a_key(spec.name) and (pd.api.types.is_integer_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype)) \
            and not isinstance(dtype, pd.CategoricalDtype) and not pd.api.types.is_bool_dtype(dtype):
        return ID
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERICAL
    return CATEGORICAL


def _missing(col: pd.Series, epsilon: float, rng: np.random.Generator) -> float:
    """Noisy count of missing cells (epsilon-DP); 0 when below the release threshold."""
    noisy = float(noisy_counts(np.array([col.isna().sum()]), epsilon, rng)[0])
    return noisy if noisy > np.log(1 / MISSING_FLOOR) * laplace_scale(1.0, epsilon) else 0.0


def _missing_rows(missing: float, n: int) -> int:
    """Surrogate rows that are missing: the released share (at least one when released, at most half)."""
    if missing <= 0:
        return 0
    return int(np.clip(round(missing / n * SURROGATE_ROWS), 1, SURROGATE_ROWS // 4))


def _with_missing(values: pd.Series, k: int) -> pd.Series:
    """``values`` followed by ``k`` missing cells (appended, so no level loses its only row)."""
    if k == 0:
        return values.reset_index(drop=True)
    out = values.astype(object) if values.dtype.kind in "iub" else values
    return pd.concat([out, pd.Series([None] * k, dtype=out.dtype)], ignore_index=True)


def _numbers(col: pd.Series, epsilon: float, rng, n: int, rows: int):
    e_range, e_quant, e_miss, _ = (epsilon * s for s in NUMBER_SHARES)
    x = col.dropna().to_numpy(dtype=np.float64)
    r = private_range(x, e_range, rng)
    edges, masses = private_quantile_bins(x, r, e_quant, rng)
    numpy_int = isinstance(col.dtype, np.dtype) and col.dtype.kind in "iub"  # cannot hold a missing value
    missing = 0.0 if numpy_int else _missing(col, e_miss, rng)
    k = _missing_rows(missing, n)
    values = draw_from_bins(edges, masses, rows - k)
    integer = pd.api.types.is_integer_dtype(col.dtype)
    if integer:
        values = np.clip(np.round(values), np.ceil(r.low), np.floor(r.high))
        if pd.api.types.is_unsigned_integer_dtype(col.dtype):
            values = np.maximum(values, 0)
    series = pd.Series(values)
    if integer:
        series = series.astype(np.int64 if not pd.api.types.is_unsigned_integer_dtype(col.dtype) else np.uint64)
    series = _with_missing(series, k)
    try:
        series = series.astype(col.dtype)
    except (TypeError, ValueError):
        series = series.astype("Float64" if not integer else "Int64")
    low, high = (float(np.min(values)), float(np.max(values)))
    return series, (low, high), missing


def _datetimes(col: pd.Series, epsilon: float, rng, n: int, rows: int):
    e_range, e_quant, e_miss, e_res = (epsilon * s for s in DATETIME_SHARES)
    tz = getattr(col.dtype, "tz", None)
    present = col.dropna()
    ns = (present.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else present) \
        .astype("datetime64[ns]").astype(np.int64).to_numpy()
    # Resolution: how many values are not whole days / hours / ...; one row changes each count by at most 1.
    off = np.array([np.count_nonzero(ns % unit) for unit in RESOLUTIONS.values()], dtype=np.float64)
    noisy_off = noisy_counts(off, e_res, rng, sensitivity=len(RESOLUTIONS))
    unit = 1
    for name, u in RESOLUTIONS.items():
        if noisy_off[list(RESOLUTIONS).index(name)] < 2 * laplace_scale(len(RESOLUTIONS), e_res):
            unit = u
            break
    # Quantiles of the time since the earliest representable instant, in the unit, so magnitudes are positive.
    x = ns.astype(np.float64)
    r = private_range(x, e_range, rng)
    edges, masses = private_quantile_bins(x, r, e_quant, rng)
    missing = _missing(col, e_miss, rng)
    k = _missing_rows(missing, n)
    values = np.round(draw_from_bins(edges, masses, rows - k) / unit) * unit
    values = np.clip(values, -9.2e18, 9.2e18).astype(np.int64)
    stamps = pd.Series(pd.to_datetime(values, unit="ns"))
    if tz is not None:
        stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(tz)
    series = _with_missing(stamps, k).astype(col.dtype)
    return series, (int(values.min()), int(values.max())), missing


def _release_categories(col: pd.Series, epsilon: float, delta: float, rng, n: int) -> dict:
    """The DP release of a categorical column: levels, their noisy counts, the noisy missing count, and
    what unreleased values become (None when the levels are declared)."""
    e_levels, e_miss = (epsilon * s for s in CATEGORY_SHARES)
    present = col.dropna()
    dtype = col.dtype
    missing = _missing(col, e_miss, rng)
    merged = None
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        domain = [False, True] if pd.api.types.is_bool_dtype(dtype) else list(dtype.categories)
        counts = present.astype(object).value_counts().reindex(domain, fill_value=0).to_numpy()
        levels, noisy = domain, noisy_counts(counts, e_levels, rng)
        labels = list(levels)
    else:  # the set of values is itself private: released by threshold
        levels, noisy = private_categories(present.to_numpy(dtype=object), e_levels, delta, rng)
        # The rows of unreleased levels, as far as the noisy counts tell (n is public): a level OTHER of
        # their own when they are a noticeable share, else they join the most frequent released level.
        unreleased = n - missing - float(np.sum(noisy))
        floor = max(3.0 * np.sqrt(2.0 * max(len(levels), 1)) * laplace_scale(1.0, e_levels), OTHER_SHARE * n)
        if len(levels) == 0 or unreleased > floor:
            merged, labels = OTHER, list(levels) + [OTHER]
            noisy = np.append(noisy, max(1.0, unreleased))
        else:
            merged, labels = levels[int(np.argmax(noisy))], list(levels)
    return {"levels": list(levels), "labels": labels, "noisy": np.asarray(noisy, dtype=np.float64),
            "missing": missing, "merged": merged}


def _category_values(release: dict, dtype, n: int, rows: int) -> pd.Series:
    """``rows`` surrogate values: every level at least once, the rest in proportion to the noisy counts."""
    labels, k = release["labels"], _missing_rows(release["missing"], n)
    weights = np.maximum(release["noisy"], 1.0)
    present = rows - k
    reps = 1 + np.floor(weights / weights.sum() * (present - len(labels))).astype(np.int64)
    reps[int(np.argmax(reps))] += present - int(reps.sum())
    values = _with_missing(pd.Series(np.repeat(np.array(labels, dtype=object), reps)), k)
    if isinstance(dtype, pd.CategoricalDtype):
        return values.astype(dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return values.astype("boolean" if k > 0 or str(dtype) == "boolean" else bool)
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return values.astype(dtype)
    return values


def private_columns(df: pd.DataFrame, specs: list[ColumnSpec], epsilon: float, delta: float,
                    rng: np.random.Generator) -> PrivateColumns:
    """DP statistics of every column -> the surrogate table (``epsilon``, ``delta`` for them all).

    The budget is split evenly over the columns that are read (ID columns are
    not); within a column, by the fixed shares of this module. Only categorical
    columns of text spend delta (their set of levels is not known in advance).
    """
    n = len(df)
    kinds = [dp_kind(s, df[s.name].dtype) for s in specs]
    read = [k != ID for k in kinds]
    eps_col = epsilon / max(1, sum(read))
    delta_col = delta / max(1, sum(read))
    releases = {s.name: _release_categories(df[s.name], eps_col, delta_col, rng, n)
                for s, k in zip(specs, kinds) if k == CATEGORICAL}
    # One length for every column: room for each level twice over, and SURROGATE_ROWS at least.
    rows = max([SURROGATE_ROWS] + [2 * len(r["labels"]) + SURROGATE_ROWS // 2 for r in releases.values()])
    cols, out_specs, levels, bounds, fill = {}, [], {}, {}, {}
    for spec, kind in zip(specs, kinds):
        col = df[spec.name]
        if kind == ID:  # never read: keys of the right type, counting up from 0
            ints = np.arange(rows)
            cols[spec.name] = (pd.Series(ints).astype(col.dtype) if pd.api.types.is_integer_dtype(col.dtype)
                               else pd.Series([f"id-{i}" for i in ints], dtype=col.dtype if
                                              pd.api.types.is_string_dtype(col.dtype) else object))
            out_specs.append(replace(spec, kind=ID, n_missing=0, n_unique=rows))
            continue
        if kind == CATEGORICAL:
            release = releases[spec.name]
            values, missing = _category_values(release, col.dtype, n, rows), release["missing"]
            if release["merged"] is not None:
                levels[spec.name] = (release["levels"], release["merged"])
            if missing <= 0 and col.isna().any():
                fill[spec.name] = values.mode().iloc[0]
            n_unique = int(values.nunique())
        else:
            values, bound, missing = (_numbers if kind == NUMERICAL else _datetimes)(col, eps_col, rng, n, rows)
            bounds[spec.name] = bound
            if missing <= 0 and col.isna().any():
                fill[spec.name] = values.dropna().iloc[len(values.dropna()) // 2]
            n_unique = int(values.nunique())
        cols[spec.name] = values.reset_index(drop=True)
        out_specs.append(replace(spec, kind=kind, dtype=str(col.dtype), n_missing=int(round(missing)),
                                 n_unique=n_unique))
    surrogate = pd.DataFrame(cols)[list(df.columns)]
    return PrivateColumns(out_specs, surrogate, levels, bounds, fill)
