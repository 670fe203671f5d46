"""Known cells for conditional sampling and imputation, on the pandas side.

Checks what a user passes (``conditions``, a frame of known columns, a frame
with holes) against the fitted table, encodes the known cells into the model's
arrays (:func:`encode_known`), and puts the exact known values back into
generated rows (:class:`KnownCells`). Conditioning the denoiser on them is in
:mod:`tabsyn.tabular.sampling`; this module never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsyn.table.schema import DATETIME, ID, ColumnSpec
from tabsyn.tabular.transformer import _TICK_NS, TableTransformer, _Categorical, _Numeric


class KnownValueError(ValueError):
    """A known value (a condition, a cell to keep) the fitted model cannot take."""


@dataclass
class EncodedKnown:
    """Partial rows in model space (see :func:`encode_known`)."""

    x_num: np.ndarray           # (rows, numerical columns) normals; unknown cells neutral
    x_cat: np.ndarray           # (rows, categorical columns) codes; unknown cells the mode
    num_known: np.ndarray       # which x_num cells are known
    cat_known: np.ndarray       # which x_cat cells are known
    forbid_missing: np.ndarray  # x_cat cells whose "missing" code may not be drawn
    values: pd.DataFrame        # the known values as the generated columns hold them


def _listed(labels) -> str:
    labels = list(labels)
    return repr(labels[:20])[:-1] + (f", ... ({len(labels)} in all)]" if len(labels) > 20 else "]")


def conditions_frame(conditions: object, specs: list[ColumnSpec]) -> pd.DataFrame:
    """``{column: value}`` -> a one-row frame, after checking every column exists and is not an ID."""
    if not isinstance(conditions, dict):
        raise TypeError(f"conditions must be a dict {{column: value}}; got {type(conditions).__name__}")
    names = [s.name for s in specs]
    problems = []
    unknown = [c for c in conditions if c not in names]
    if unknown:
        problems.append(f"no column named {', '.join(map(repr, unknown))}; the columns are {_listed(names)}")
    listy = [c for c, v in conditions.items() if c not in unknown and not _is_scalar(v)]
    if listy:
        problems.append(f"conditions take one value per column, but {', '.join(map(repr, listy))} got "
                        f"{type(conditions[listy[0]]).__name__}; for a value per row use "
                        f"sample_remaining_columns(known_df)")
    ids = [s.name for s in specs if s.kind == ID and s.name in conditions]
    if ids:
        problems.append(f"{', '.join(map(repr, ids))} holds IDs, which are generated anew for every row; "
                        f"it cannot be a condition")
    if problems:
        raise KnownValueError("conditions: " + "; ".join(problems))
    order = [n for n in names if n in conditions]
    frame = pd.DataFrame({i: [conditions[n]] for i, n in enumerate(order)})
    frame.columns = pd.Index(order, tupleize_cols=False, dtype=object)
    return frame


def check_known_frame(known: object, specs: list[ColumnSpec], *, argument: str, all_columns: bool) -> pd.DataFrame:
    """A DataFrame of some (or, with ``all_columns``, all) of the table's columns, rows > 0."""
    if not isinstance(known, pd.DataFrame):
        raise TypeError(f"{argument} must be a pandas DataFrame with some of the table's columns; "
                        f"got {type(known).__name__}")
    names = [s.name for s in specs]
    problems = []
    if len(known) == 0:
        problems.append("it has no rows")
    duplicated = known.columns[known.columns.duplicated()].unique().tolist()
    if duplicated:
        problems.append(f"duplicate column names {duplicated}")
    unknown = [c for c in known.columns if c not in names]
    if unknown:
        problems.append(f"columns {_listed(unknown)} are not in the table; its columns are {_listed(names)}")
    if all_columns:
        absent = [n for n in names if n not in set(known.columns)]
        if absent:
            problems.append(f"columns {_listed(absent)} are missing; pass every column of the table, "
                            f"with missing values (NaN, None) in the cells to fill")
    if problems:
        raise KnownValueError(f"{argument}: " + "; ".join(problems))
    order = [n for n in names if n in set(known.columns)]
    return known[order].reset_index(drop=True)


def _is_scalar(value: object) -> bool:
    return value is None or np.ndim(value) == 0 and not isinstance(value, (dict, set))


@dataclass
class KnownCells:
    """Known cells of a batch: the denoiser's condition, codes to forbid, exact values to restore.

    ``cond``: one condition vector per row (:mod:`tabsyn.tabular.conditioning`);
    ``forbid_missing``: categorical codes whose "missing" level may not be drawn
    (imputation); ``values`` / ``cells``: the given values, in the generated
    columns' dtypes, and which of them to write back.
    """

    cond: np.ndarray
    forbid_missing: np.ndarray
    values: pd.DataFrame
    cells: np.ndarray

    def take(self, index: np.ndarray) -> "KnownCells":
        return KnownCells(self.cond[index], self.forbid_missing[index],
                          self.values.iloc[index].reset_index(drop=True), self.cells[index])

    def restore(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the known cells set to exactly the given values."""
        for k, label in enumerate(self.values.columns):
            rows = self.cells[:, k]
            if rows.any():
                column = frame[label]
                given = self.values.iloc[:, k].set_axis(column.index)
                frame[label] = column.where(~rows, given).astype(column.dtype)
        return frame


# -- encoding known cells ------------------------------------------------------------

def encode_known(t: TableTransformer, known: pd.DataFrame, mask: np.ndarray, *, present: bool = False) -> EncodedKnown:
    """Encode the known cells of partial rows into the model's arrays.

    ``known`` holds some of the table's columns (by label); ``mask`` (its
    shape) says which cells are known. A known missing value (None, NaN,
    NaT) is the fact "missing". Unknown cells get a neutral value (the
    median, the most frequent category). With ``present``, unknown cells are
    to be filled with a value, never "missing": the "is missing" flag of
    their numerical column is set known, and ``forbid_missing`` marks their
    categorical codes whose "missing" level may not be drawn.

    Raises :class:`KnownValueError` listing every value never seen in
    training (a category) or outside the seen range (a number or date), and
    every ID column (keys are generated, not conditioned on).
    """
    n = len(known)
    x_num = np.zeros((n, len(t.num_positions_)), np.float32)
    x_cat = np.zeros((n, len(t.cat_sizes_)), np.int64)
    num_known = np.zeros(x_num.shape, bool)
    cat_known = np.zeros(x_cat.shape, bool)
    for j, pos in enumerate(t.cat_positions_):
        x_cat[:, j] = t.cat_info_[pos].mode
    where = {s.name: pos for pos, s in enumerate(t.specs_)}
    values, problems = {}, []
    for k, label in enumerate(known.columns):
        pos, rows = where[label], np.asarray(mask[:, k], bool)
        spec, given = t.specs_[pos], known.iloc[:, k].reset_index(drop=True)[rows]
        if spec.kind == ID:
            problems.append(f"column {label!r} holds IDs, which are generated anew for every row; "
                            f"it cannot be given")
            continue
        if pos in t.cat_info_:
            info, j = t.cat_info_[pos], t.cat_positions_.index(pos)
            codes, canonical, bad = _known_codes(info, given)
            x_cat[rows, j], cat_known[rows, j] = codes, True
            full = np.empty(n, dtype=object)
            full[:] = [info.categories[0] if info.categories else np.nan]  # unknown cells: any valid value
            full[rows] = canonical
            values[k] = TableTransformer.categorical_values(spec, info, full)
        else:
            info, j = t.num_info_[pos], t.num_positions_.index(pos)
            x, missing, bad = _known_numbers(spec, info, given)
            z = info.normalizer.transform(x) if len(x) else x
            z[missing] = 0.0  # where training put missing cells
            x_num[rows, j], num_known[rows, j] = z, True
            if info.missing_code_col is not None:
                x_cat[rows, info.missing_code_col] = missing
                cat_known[rows, info.missing_code_col] = True
            elif missing.any():
                bad = ["a missing value"] + bad
            full_x, full_missing = np.zeros(n), np.zeros(n, bool)
            full_x[rows], full_missing[rows] = x, missing & (info.missing_code_col is not None)
            values[k] = TableTransformer.numeric_values(spec, info, full_x, full_missing)
        if bad:
            what = "never seen in training" if pos in t.cat_info_ else "outside what training saw"
            problems.append(f"column {label!r}: {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''} "
                            f"{what}; {_accepted(t, spec, pos)}")
    if problems:
        raise KnownValueError("; ".join(problems) if len(problems) == 1 else
                              f"{len(problems)} columns have values the model cannot take:\n- "
                              + "\n- ".join(problems))
    forbid = np.zeros(x_cat.shape, bool)
    if present:
        for j, pos in enumerate(t.num_positions_):
            flag = t.num_info_[pos].missing_code_col
            if flag is not None:
                unknown = ~num_known[:, j]
                x_cat[unknown, flag], cat_known[unknown, flag] = 0, True
        for j, pos in enumerate(t.cat_positions_):
            forbid[:, j] = t.cat_info_[pos].has_missing & ~cat_known[:, j]
    frame = pd.DataFrame(values)
    frame.columns = pd.Index(list(known.columns), tupleize_cols=False, dtype=object)
    return EncodedKnown(x_num, x_cat, num_known, cat_known, forbid, frame)


def _known_codes(info: _Categorical, values: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    lookup = {c: i for i, c in enumerate(info.categories)}
    rare = {c: c for c in info.rare or ()}
    codes, canonical, bad = np.zeros(len(values), np.int64), np.full(len(values), np.nan, dtype=object), []
    for i, v in enumerate(values):
        v = v.item() if isinstance(v, np.generic) else v
        if _is_missing(v):
            if not info.has_missing:
                bad.append("a missing value")
            codes[i] = len(info.categories) + bool(info.rare)
        elif _hashable(v) and v in lookup:
            codes[i], canonical[i] = lookup[v], info.categories[lookup[v]]
        elif _hashable(v) and v in rare:
            codes[i], canonical[i] = len(info.categories), rare[v]
        else:
            bad.append(_show(v))
    return codes, canonical, list(dict.fromkeys(bad))


def _known_numbers(spec: ColumnSpec, info: _Numeric, values: pd.Series
                   ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Given values -> model-space numbers (offsets for integers and dates), missing mask, problems."""
    missing = np.array([_is_missing(v) for v in values], dtype=bool)
    x = np.zeros(len(values))
    present = values[~missing]
    try:
        if spec.kind == DATETIME:
            x[~missing] = _known_datetime_counts(info, present).astype(np.float64) - float(info.origin)
        else:
            number = pd.to_numeric(pd.Series(list(present), dtype=object)).to_numpy(np.float64)
            x[~missing] = number - float(info.origin) if info.origin is not None else number
    except (ValueError, TypeError, OverflowError):
        what = "a date" if spec.kind == DATETIME else "a number"
        return x, missing, [f"{_show(v)} (not {what})" for v in present[:1]]
    low, high = (0.0, float(info.span)) if info.origin is not None else (info.low, info.high)
    outside = ~missing & ((x < low) | (x > high) | np.isnan(x))
    bad = list(dict.fromkeys(_show(v) for v in values[outside]))
    return np.clip(np.nan_to_num(x), low, high), missing, bad


def _known_datetime_counts(info: _Numeric, values: pd.Series) -> np.ndarray:
    """Datetimes as counts of the column's unit since the epoch, as ``_datetime_counts`` gives them."""
    stamps = pd.to_datetime(pd.Series(list(values), dtype=object))
    if info.tz is not None:
        stamps = (stamps.dt.tz_localize(info.tz) if stamps.dt.tz is None else stamps).dt.tz_convert("UTC")
        stamps = stamps.dt.tz_localize(None)
    elif stamps.dt.tz is not None:
        raise ValueError("a timezone-aware datetime for a naive column")
    ticks = stamps.dt.as_unit(info.tick if info.tick != "D" else "s").to_numpy().view(np.int64)
    tick_ns = _TICK_NS[info.tick] if info.tick != "D" else _TICK_NS["s"]
    return ticks // (info.unit_ns // tick_ns)


def _accepted(t: TableTransformer, spec: ColumnSpec, pos: int) -> str:
    if pos in t.cat_info_:
        info = t.cat_info_[pos]
        seen = list(info.categories) + list(info.rare or [])
        shown = ", ".join(_show(v) for v in seen[:10]) + (f", ... ({len(seen)} in all)" if len(seen) > 10 else "")
        return f"accepted: {shown}" + (" or a missing value" if info.has_missing else "")
    info = t.num_info_[pos]
    low, high = (0.0, float(info.span)) if info.origin is not None else (info.low, info.high)
    ends = TableTransformer.numeric_values(spec, info, np.array([low, high]), np.zeros(2, bool))
    missing = " or a missing value" if info.missing_code_col is not None else ""
    return f"accepted: values from {_show(ends.iloc[0])} to {_show(ends.iloc[1])}{missing}"


def _is_missing(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _hashable(v) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _show(v) -> str:
    """A value as a user would write it: 'Female', 40, Timestamp('2020-01-01')."""
    v = v.item() if isinstance(v, np.generic) else v
    return repr(v)
