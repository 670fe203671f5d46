"""Infer what kind of data each column holds, from dtypes and values; no schema to write.

Kinds:

- ``numerical``: floats, and integers with many distinct values;
- ``categorical``: object/string/category/bool columns, and integer codes with
  few distinct values (``max_int_levels``), which keep their integer dtype;
- ``datetime``: ``datetime64`` columns, naive or timezone-aware;
- ``id``: a string or integer column whose values are all different and look like
  keys (strings unique per row; consecutive integers); regenerated as new keys,
  never copied.

Every problem in a table is collected and reported in one ``ValueError``.
This module never imports torch.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

NUMERICAL, CATEGORICAL, DATETIME, ID = "numerical", "categorical", "datetime", "id"
KINDS = (NUMERICAL, CATEGORICAL, DATETIME, ID)

# Columns this short are never called ID-like: a handful of unique labels is a category.
MIN_ROWS_FOR_ID = 20


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


def _python_types(values: pd.Series) -> set[type]:
    kinds = set()
    for v in values:
        if isinstance(v, (bool, np.bool_)):
            kinds.add(bool)
        elif isinstance(v, numbers.Integral):
            kinds.add(int)
        elif isinstance(v, numbers.Real):
            kinds.add(float)
        elif isinstance(v, str):
            kinds.add(str)
        else:
            kinds.add(type(v))
    return kinds


def _looks_like_integer_keys(values: pd.Series) -> bool:
    """All different and nearly consecutive: 1, 2, 3, ... or 1001, 1002, ..."""
    v = values.to_numpy(dtype=np.float64)
    return len(v) >= MIN_ROWS_FOR_ID and (v.max() - v.min() + 1) <= 1.1 * len(v)


def infer_column(name: object, col: pd.Series, *, max_int_levels: int = 20) -> ColumnSpec | str:
    """The spec of one column, or a message saying why it cannot be modelled."""
    dtype = col.dtype
    present = col.dropna()
    n_missing = int(col.isna().sum())
    n_unique = int(present.nunique())
    spec = dict(name=name, dtype=str(dtype), n_missing=n_missing, n_unique=n_unique)
    if len(present) == 0:
        return (
            f"column {name!r} has no values (all {len(col)} are missing); drop it before fit"
        )
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return ColumnSpec(kind=CATEGORICAL, **spec)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnSpec(kind=DATETIME, **spec)
    if pd.api.types.is_timedelta64_dtype(dtype) or pd.api.types.is_complex_dtype(dtype):
        return f"column {name!r} has dtype {dtype}, which tabsyn cannot model; accepted: numbers, strings, categories, booleans, datetimes"
    if pd.api.types.is_integer_dtype(dtype):
        if n_unique == len(col) and _looks_like_integer_keys(present):
            return ColumnSpec(kind=ID, **spec)
        kind = CATEGORICAL if n_unique <= max_int_levels else NUMERICAL
        return ColumnSpec(kind=kind, **spec)
    if pd.api.types.is_float_dtype(dtype):
        if not np.isfinite(present.to_numpy(dtype=np.float64)).all():
            return f"column {name!r} holds infinite values; replace them with NaN (missing) or finite numbers"
        return ColumnSpec(kind=NUMERICAL, **spec)
    # object / string columns: look at the Python values.
    types = _python_types(present)
    if types <= {str}:
        if n_unique == len(col) and len(col) >= MIN_ROWS_FOR_ID:
            return ColumnSpec(kind=ID, **spec)
        return ColumnSpec(kind=CATEGORICAL, **spec)
    if types <= {bool} or types <= {int}:
        return ColumnSpec(kind=CATEGORICAL, **spec)
    if types <= {int, float}:
        return (
            f"column {name!r} is dtype object but holds only numbers; convert it with "
            f"pd.to_numeric(df[{name!r}]) so tabsyn models it as numbers"
        )
    shown = sorted(t.__name__ for t in types)
    return (
        f"column {name!r} mixes Python types {shown}; tabsyn needs one type per column "
        f"(numbers, strings, booleans or datetimes): convert it, e.g. df[{name!r}].astype(str)"
    )


def infer_schema(df: pd.DataFrame, *, max_int_levels: int = 20) -> list[ColumnSpec]:
    """Infer a :class:`ColumnSpec` for every column; raise one error listing every problem."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"expected a pandas DataFrame; got {type(df).__name__}. Wrap arrays with "
            f"pd.DataFrame(X, columns=[...]) so each column has a name"
        )
    if df.shape[1] == 0:
        raise SchemaError("the table has no columns; pass a DataFrame with at least one column")
    if df.shape[0] < 2:
        raise SchemaError(f"the table has {df.shape[0]} rows; tabsyn needs at least 2 rows to learn from")
    duplicated = df.columns[df.columns.duplicated()].unique().tolist()
    if duplicated:
        raise SchemaError(f"duplicate column names {duplicated}; every column needs its own name")
    specs, problems = [], []
    for i, name in enumerate(df.columns):
        result = infer_column(name, df.iloc[:, i], max_int_levels=max_int_levels)
        (problems if isinstance(result, str) else specs).append(result)
    if problems:
        raise SchemaError("; ".join(problems))
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
