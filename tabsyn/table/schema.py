"""Infer what kind of data each column holds, from dtypes and values; no schema to write.

Kinds:

- ``numerical``: floats, and integers with many distinct values;
- ``categorical``: object/string/category/bool columns, and integer codes with
  few distinct values (``max_int_levels``), which keep their integer dtype;
- ``datetime``: ``datetime64`` columns, naive or timezone-aware, and object
  columns of ``datetime.date`` (date-only) or ``datetime.datetime`` values;
- ``id``: identifying columns, regenerated as new values, never copied (see
  the two rules below).

**Identifying text.** A text column (object or string dtype holding only
strings) is identifying when its distinct values are more than half of its
non-missing values (``TEXT_ID_SHARE``) and at least ``MIN_ROWS_FOR_ID`` (20)
in number: names, e-mail addresses, street addresses, free-text notes, keys.
Learned as a category, such a column would only ever give back real values.
It is generated instead: new values in the training values' format (the same
lengths and character classes per position or run of characters, see
:mod:`tabsyn.tabular.codec.key`), never equal to a training value, with missing
values at the real rate. A ``UserWarning`` names the column and this rule,
unless every value is present and different (a key column, as before).
Declare the column ``category`` dtype to have it learned as a category.

**Integer keys.** An integer column whose values are all present and all
different (at least 20 of them) is a key when (a) they are nearly consecutive
(max - min + 1 <= 1.1 x rows: row numbers), or (b) its label names a key (empty,
pandas' ``Unnamed: N``, ``rownames``, ``index``, ``id``, ``key``, or a label whose
last word is ``id`` or ``key``: ``customer_id``, ``userId``), or (c) with at
least ``MIN_ROWS_FOR_SPREAD_KEYS`` (100) values, they are spread evenly over
their range as the row numbers of a random sample of rows are (R's
``rownames`` after sampling rows): a Kolmogorov-Smirnov test against the
uniform distribution on [min, max] does not reject at the 1% level. Measured
integers are skewed and fail (c) (every unique integer column of the benchmark
tables does, from 100 rows on). Rule (c) warns, naming the column; to model
such a column as numbers, cast it to float.

Dtypes: every NumPy and nullable integer dtype (Int8 ... UInt64, to 2**64 - 1),
float16/32/64 and Float32/64, bool/boolean, object/string, category (of
strings, numbers, booleans, datetimes or intervals), interval (as a category),
datetime64 of any unit, naive or timezone-aware, and sparse numbers are
learned and come back in their dtype. complex, period and timedelta columns
are refused with a ``SchemaError`` naming the column, its dtype, what is
accepted and how to convert it.

Every problem in a table is collected and reported in one ``SchemaError`` (a
``ValueError``); each message names the column, shows a value it received (and
its row), and says how to convert it.
This module never imports torch.
"""

from __future__ import annotations

import datetime
import numbers
import re
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

NUMERICAL, CATEGORICAL, DATETIME, ID = "numerical", "categorical", "datetime", "id"
KINDS = (NUMERICAL, CATEGORICAL, DATETIME, ID)

# Columns this short are never called ID-like: a handful of unique labels is a category.
MIN_ROWS_FOR_ID = 20
# Text columns whose distinct values exceed this share of their values are identifying.
TEXT_ID_SHARE = 0.5
# Unique integers spread evenly over their range are keys from this many values on.
MIN_ROWS_FOR_SPREAD_KEYS = 100
SPREAD_KEYS_P_VALUE = 0.01  # the uniformity test's level
_KEY_WORDS = {"id", "key", "rownames", "rowname", "index", "idx"}


class SchemaError(ValueError):
    """The table cannot be modelled as given; the message lists every column at fault."""


@dataclass(frozen=True)
class ColumnSpec:
    """What was inferred about one column."""

    name: object          # the column label exactly as given
    kind: str             # one of KINDS
    dtype: str            # str(dtype) of the original column, restored on output
    n_missing: int        # missing cells in the training data
    n_unique: int         # distinct non-missing values

    def to_dict(self) -> dict:
        return asdict(self)


def _python_types(values: pd.Series) -> dict[type, tuple]:
    """Each Python type found among ``values`` -> (row label, value) of its first occurrence."""
    kinds: dict[type, tuple] = {}
    for label, v in values.items():
        if isinstance(v, (bool, np.bool_)):
            t = bool
        elif isinstance(v, numbers.Integral):
            t = int
        elif isinstance(v, numbers.Real):
            t = float
        elif isinstance(v, str):
            t = str
        else:
            t = type(v)
        kinds.setdefault(t, (label, v))
    return kinds


def _plain(v: object) -> object:
    """NumPy scalars as Python ones, so messages read ``1``, not ``np.int64(1)``."""
    return v.item() if isinstance(v, np.generic) else v


def _example(types: dict[type, tuple]) -> str:
    """``1 (int) at row 0, 'a' (str) at row 3``: one value of each type, where it was found."""
    return ", ".join(f"{_plain(v)!r} ({t.__name__}) at row {_plain(label)!r}" for t, (label, v) in types.items())


# Python values that have a better home than an object column, and how to move them there.
_CONVERSIONS = {
    "Decimal": "df[{name!r}].astype(float)",
    "bytes": "df[{name!r}].str.decode('utf-8')",
    "Period": "df[{name!r}].dt.to_timestamp()",
    "Timedelta": "df[{name!r}].dt.total_seconds()",
    "timedelta": "pd.to_timedelta(df[{name!r}]).dt.total_seconds()",
}

_PLAIN_CATEGORY_TYPES = {str, int, float, bool}


def names_a_key(label: object) -> bool:
    """An empty label, pandas' ``Unnamed: 0``, or one whose last word is id, key, index or rownames."""
    if not isinstance(label, str):
        return False
    text = label.strip()
    if text == "" or re.fullmatch(r"unnamed: ?\d+", text, re.IGNORECASE):
        return True
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", text)  # snake_case, camelCase, "Row ID"
    return bool(words) and words[-1].lower() in _KEY_WORDS


def integer_key_rule(name: object, values: pd.Series) -> str | None:
    """Why all-different integers are keys ("consecutive", "label", "spread"), or None; see the module docstring."""
    if len(values) < MIN_ROWS_FOR_ID:
        return None
    v = np.sort(values.to_numpy(dtype=np.float64))
    if (v[-1] - v[0] + 1) <= 1.1 * len(v):
        return "consecutive"
    if names_a_key(name):
        return "label"
    if len(v) >= MIN_ROWS_FOR_SPREAD_KEYS:
        u = (v - v[0]) / (v[-1] - v[0])
        if stats.kstest(u, "uniform").pvalue > SPREAD_KEYS_P_VALUE:
            return "spread"
    return None


def _identifying_text(name: object, col: pd.Series, spec: dict) -> bool:
    """The identifying-text rule (module docstring); warns unless the column is a plain key column."""
    n_present = len(col) - spec["n_missing"]
    if spec["n_unique"] < MIN_ROWS_FOR_ID or spec["n_unique"] <= TEXT_ID_SHARE * n_present:
        return False
    if spec["n_unique"] < len(col):  # repeats or missing values: names, e-mails, free text
        warnings.warn(
            f"column {name!r} is treated as identifying text: {spec['n_unique']} of its {n_present} values are "
            f"different (more than {TEXT_ID_SHARE:.0%}), so it is not learned as a category (which would copy "
            f"real values) but generated anew in the same format, never equal to a training value. To learn it "
            f"as a category, pass df[{name!r}].astype('category')", UserWarning, stacklevel=5)
    return True


def _category_problem(name: object, dtype: pd.CategoricalDtype) -> str | None:
    """Categories tabsyn can store as plain data: strings, numbers, booleans, datetimes, intervals."""
    cats = dtype.categories
    if isinstance(cats, pd.IntervalIndex):
        cats = cats.left
    if (isinstance(cats, pd.DatetimeIndex) or pd.api.types.is_numeric_dtype(cats.dtype)
            or pd.api.types.is_bool_dtype(cats.dtype)):
        return None
    types = _python_types(pd.Series(cats, dtype=object))
    if set(types) <= _PLAIN_CATEGORY_TYPES:
        return None
    return (
        f"column {name!r} is categorical with categories of type "
        f"{sorted(t.__name__ for t in types)} (e.g. {_example(types)}), which tabsyn cannot "
        f"store; accepted categories: strings, numbers, booleans, datetimes, intervals. "
        f"Convert it, e.g. df[{name!r}] = df[{name!r}].astype(str)"
    )


def _object_column(
    name: object, col: pd.Series, present: pd.Series, spec: dict, max_int_levels: int
) -> ColumnSpec | str:
    """Kind of an object / string column, read off the Python values it holds."""
    types = _python_types(present)
    found = set(types)
    if found <= {str}:
        return ColumnSpec(kind=ID if _identifying_text(name, col, spec) else CATEGORICAL, **spec)
    if found <= {bool}:
        return ColumnSpec(kind=CATEGORICAL, **spec)
    if found <= {int}:
        if spec["n_unique"] <= max_int_levels:
            return ColumnSpec(kind=CATEGORICAL, **spec)  # a handful of integer codes, kept as they are
        return (
            f"column {name!r} is dtype object but holds {spec['n_unique']} different integers "
            f"(e.g. {_example(types)}); convert it with df[{name!r}] = df[{name!r}].astype('Int64') "
            f"so tabsyn models it as numbers (or raise max_int_levels to treat it as categories)"
        )
    if found <= {int, float}:
        return (
            f"column {name!r} is dtype object but holds only numbers (e.g. {_example(types)}); "
            f"convert it with df[{name!r}] = pd.to_numeric(df[{name!r}]) so tabsyn models it as numbers"
        )
    if all(issubclass(t, (datetime.date, np.datetime64)) for t in found):
        dates = all(not issubclass(t, (datetime.datetime, np.datetime64)) for t in found)
        if dates:
            return ColumnSpec(kind=DATETIME, **spec)  # date-only values, regenerated as dates
        if not any(issubclass(t, datetime.date) and not issubclass(t, datetime.datetime) for t in found):
            try:
                pd.to_datetime(present)
            except (ValueError, TypeError) as exc:
                return (
                    f"column {name!r} holds datetimes that pandas cannot put on one time axis "
                    f"(e.g. {_example(types)}): {str(exc).splitlines()[0]}; convert it with "
                    f"df[{name!r}] = pd.to_datetime(df[{name!r}], utc=True)"
                )
            return ColumnSpec(kind=DATETIME, **spec)
        return (
            f"column {name!r} mixes dates and datetimes (e.g. {_example(types)}); convert it "
            f"with df[{name!r}] = pd.to_datetime(df[{name!r}])"
        )
    if len(found) == 1:
        (t,) = found
        how = _CONVERSIONS.get(t.__name__, "df[{name!r}].astype(str)").format(name=name)
        return (
            f"column {name!r} holds Python {t.__name__} values (e.g. {_example(types)}), which "
            f"tabsyn cannot model; accepted: numbers, strings, booleans, datetimes. "
            f"Convert it, e.g. df[{name!r}] = {how}"
        )
    shown = sorted(t.__name__ for t in found)
    return (
        f"column {name!r} mixes Python types {shown} (e.g. {_example(types)}); tabsyn needs "
        f"one type per column (numbers, strings, booleans or datetimes): convert it, "
        f"e.g. df[{name!r}] = df[{name!r}].astype(str)"
    )


def infer_column(name: object, col: pd.Series, *, max_int_levels: int = 20) -> ColumnSpec | str:
    """The spec of one column, or a message saying why it cannot be modelled."""
    dtype = col.dtype
    present = col.dropna()
    n_missing = int(col.isna().sum())
    spec = dict(name=name, dtype=str(dtype), n_missing=n_missing, n_unique=0)
    if len(present) == 0:
        return (
            f"column {name!r} has no values (all {len(col)} are missing); drop it before fit, "
            f"e.g. df = df.drop(columns=[{name!r}])"
        )
    if isinstance(dtype, pd.CategoricalDtype):
        problem = _category_problem(name, dtype)
        if problem:
            return problem
    try:
        spec["n_unique"] = int(present.nunique())
    except TypeError:  # unhashable values: lists, dicts, sets
        types = _python_types(present)
        return (
            f"column {name!r} holds unhashable Python {sorted(t.__name__ for t in types)} values "
            f"(e.g. {_example(types)}), which tabsyn cannot model; accepted: numbers, strings, "
            f"booleans, datetimes. Convert it, e.g. df[{name!r}] = df[{name!r}].astype(str)"
        )
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return ColumnSpec(kind=CATEGORICAL, **spec)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnSpec(kind=DATETIME, **spec)
    if isinstance(dtype, pd.IntervalDtype):
        return ColumnSpec(kind=CATEGORICAL, **spec)  # intervals (pd.cut bins) are categories
    if isinstance(dtype, pd.PeriodDtype) or pd.api.types.is_timedelta64_dtype(dtype) \
            or pd.api.types.is_complex_dtype(dtype):
        if isinstance(dtype, pd.PeriodDtype):
            how = f"df[{name!r}] = df[{name!r}].dt.to_timestamp() (datetimes)"
        elif pd.api.types.is_complex_dtype(dtype):
            how = (f"df[{name!r} + '_re'], df[{name!r} + '_im'] = df[{name!r}].to_numpy().real, "
                   f"df[{name!r}].to_numpy().imag (two real columns), then drop {name!r}")
        else:
            how = f"df[{name!r}] = df[{name!r}].dt.total_seconds() (seconds as numbers)"
        return (
            f"column {name!r} has dtype {dtype} "
            f"(e.g. {_plain(present.iloc[0])!r} at row {_plain(present.index[0])!r}), "
            f"which tabsyn cannot model; accepted: integers, floats, strings, categories, booleans, "
            f"datetimes, intervals. Convert it, e.g. {how}"
        )
    if pd.api.types.is_integer_dtype(dtype):
        rule = integer_key_rule(name, present) if spec["n_unique"] == len(col) else None
        if rule == "spread":
            warnings.warn(
                f"column {name!r} holds {len(col)} different integers spread evenly from {_plain(present.min())} "
                f"to {_plain(present.max())}, as the row numbers of a sample of rows are; it is treated as a key "
                f"(new keys are generated, never copied). To model it as numbers, pass "
                f"df[{name!r}].astype(float)", UserWarning, stacklevel=3)
        if rule:
            return ColumnSpec(kind=ID, **spec)
        kind = CATEGORICAL if spec["n_unique"] <= max_int_levels else NUMERICAL
        return ColumnSpec(kind=kind, **spec)
    if pd.api.types.is_float_dtype(dtype):
        values = present.to_numpy(dtype=np.float64)
        infinite = ~np.isfinite(values)
        if infinite.any():
            first = int(np.argmax(infinite))
            return (
                f"column {name!r} holds {int(infinite.sum())} infinite value(s) (e.g. "
                f"{float(values[first])!r} at row {_plain(present.index[first])!r}); replace them with NaN "
                f"(missing) or finite numbers, e.g. df[{name!r}] = df[{name!r}].replace([np.inf, -np.inf], np.nan)"
            )
        return ColumnSpec(kind=NUMERICAL, **spec)
    return _object_column(name, col, present, spec, max_int_levels)


def infer_schema(df: pd.DataFrame, *, max_int_levels: int = 20) -> list[ColumnSpec]:
    """Infer a :class:`ColumnSpec` for every column; raise one error listing every problem."""
    if not isinstance(df, pd.DataFrame):
        if isinstance(df, pd.Series):
            hint = "turn a Series into a one-column table with series.to_frame()"
        elif isinstance(df, np.ndarray):
            hint = (f"this array (shape {df.shape}) has no column names: wrap it with "
                    f"pd.DataFrame(X, columns=[...]) so each column has a name")
        else:
            hint = "build one with pd.DataFrame(...), or read a file with pd.read_csv(...)"
        raise TypeError(f"expected a pandas DataFrame; got {type(df).__name__}. {hint[0].upper()}{hint[1:]}")
    if df.shape[1] == 0:
        raise SchemaError(
            f"the table has no columns (shape {df.shape}); pass a DataFrame with at least one column"
        )
    if df.shape[0] < 2:
        rows = "1 row" if df.shape[0] == 1 else f"{df.shape[0]} rows"
        raise SchemaError(f"the table has {rows}; tabsyn needs at least 2 rows to learn from")
    duplicated = df.columns[df.columns.duplicated()].unique().tolist()
    if duplicated:
        raise SchemaError(
            f"duplicate column names {duplicated}; every column needs its own name: rename them, "
            f"e.g. df.columns = [...] or df = df.loc[:, ~df.columns.duplicated()]"
        )
    specs, problems = [], []
    for i, name in enumerate(df.columns):
        result = infer_column(name, df.iloc[:, i], max_int_levels=max_int_levels)
        (problems if isinstance(result, str) else specs).append(result)
    if len(problems) == 1:
        raise SchemaError(problems[0])
    if problems:
        raise SchemaError(f"{len(problems)} columns cannot be modelled:\n- " + "\n- ".join(problems))
    return specs


def sdmetrics_metadata(specs: list[ColumnSpec]) -> dict:
    """The sdmetrics single-table metadata dict for these columns."""
    sdtypes = {NUMERICAL: "numerical", CATEGORICAL: "categorical", DATETIME: "datetime", ID: "id"}
    columns = {}
    for s in specs:
        entry = {"sdtype": sdtypes[s.kind]}
        if s.kind == CATEGORICAL and s.dtype in ("bool", "boolean"):
            entry = {"sdtype": "boolean"}
        columns[str(s.name)] = entry
    return {"columns": columns}
