"""Check what ``evaluate`` was given and resolve the column kinds, reporting every problem at once.

Kinds come from :func:`tabsyn.table.schema.infer_schema` on the real table (or from a
metadata dict), so users pass DataFrames only. The synthetic table and the holdout must
have the real table's columns, in the same order, holding the same family of values.
"""

from __future__ import annotations

import numbers
from dataclasses import replace

import numpy as np
import pandas as pd

from tabsyn.table.schema import CATEGORICAL, DATETIME, ID, NUMERICAL, ColumnSpec, infer_schema

# sdtypes of sdmetrics / SDV metadata -> our kinds; anything else (PII sdtypes such as
# "email") is left out of the metrics, as sdmetrics does, by treating it like an ID.
_SDTYPE_TO_KIND = {
    "numerical": NUMERICAL,
    "categorical": CATEGORICAL,
    "boolean": CATEGORICAL,
    "ordinal": CATEGORICAL,
    "datetime": DATETIME,
    "id": ID,
}

_FAMILIES = {
    "integer": "number", "floating": "number", "mixed-integer-float": "number",
    "decimal": "number", "boolean": "bool", "string": "text", "unicode": "text",
    "bytes": "text", "datetime64": "datetime", "datetime": "datetime", "date": "datetime",
}


def check_dataframe(df: object, name: str) -> None:
    """Raise a clear error unless ``df`` is a DataFrame with at least one row."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame; got {type(df).__name__}. "
            f"Wrap arrays with pd.DataFrame(X, columns=[...]) using the real table's column names"
        )
    if len(df) == 0:
        raise ValueError(f"{name} has no rows; pass a DataFrame with at least one row")


def check_same_columns(real: pd.DataFrame, other: pd.DataFrame, name: str) -> None:
    """``other`` must have exactly the columns of ``real``, in the same order."""
    missing = [c for c in real.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in real.columns]
    if missing or extra:
        raise ValueError(
            f"{name} must have the same columns as real: missing from {name} {missing}, "
            f"not in real {extra}"
        )
    if list(other.columns) != list(real.columns):
        raise ValueError(
            f"{name} has the columns of real in another order: got {list(other.columns)}, "
            f"expected {list(real.columns)}; reorder it with {name}[real.columns]"
        )


def value_family(col: pd.Series) -> str | None:
    """What a column holds: number, bool, text, datetime, mixed; None when all missing."""
    values = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else col
    if len(col.dropna()) == 0:
        return None
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    return _FAMILIES.get(inferred, "mixed")


def check_kinds(real: pd.DataFrame, other: pd.DataFrame, specs: list[ColumnSpec], name: str) -> None:
    """Every column of ``other`` must hold the same family of values as in ``real``."""
    problems = []
    for i, spec in enumerate(specs):
        if spec.kind == ID:
            continue
        want, got = value_family(real.iloc[:, i]), value_family(other.iloc[:, i])
        if got is None:
            continue
        if spec.kind == NUMERICAL and got != "number":
            problems.append(f"{spec.name!r} is numerical in real but holds {got} values "
                            f"(dtype {other.iloc[:, i].dtype}) in {name}")
        elif spec.kind == DATETIME and got != "datetime":
            problems.append(f"{spec.name!r} is datetime in real but holds {got} values "
                            f"(dtype {other.iloc[:, i].dtype}) in {name}")
        elif want != got and spec.kind == CATEGORICAL:
            problems.append(f"{spec.name!r} holds {want} values (dtype {spec.dtype}) in real "
                            f"but {got} values (dtype {other.iloc[:, i].dtype}) in {name}")
        elif got == "number" and not np.isfinite(other.iloc[:, i].dropna().to_numpy(np.float64)).all():
            problems.append(f"{spec.name!r} holds infinite values in {name}")
    if problems:
        raise ValueError(f"{name} does not match real column by column: " + "; ".join(problems))


def _metadata_columns(metadata: object) -> dict:
    if hasattr(metadata, "to_dict"):  # an SDV Metadata object
        metadata = metadata.to_dict()
    if not isinstance(metadata, dict):
        raise TypeError(
            f"metadata must be None or a dict like {{'columns': {{name: {{'sdtype': ...}}}}}}; "
            f"got {type(metadata).__name__}"
        )
    if "tables" in metadata:
        tables = metadata["tables"]
        if len(tables) != 1:
            raise ValueError(f"metadata describes {len(tables)} tables {list(tables)}; evaluate needs one")
        metadata = next(iter(tables.values()))
    if "columns" not in metadata:
        raise ValueError(
            f"metadata needs a 'columns' key mapping column names to {{'sdtype': ...}}; got keys {list(metadata)}"
        )
    return metadata["columns"]


def resolve_specs(real: pd.DataFrame, metadata: object = None) -> list[ColumnSpec]:
    """Column specs of ``real``: inferred, with kinds overridden by ``metadata`` where given."""
    names = [str(c) for c in real.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"real has column names that collide once written as strings: {names}")
    specs = infer_schema(real)
    if metadata is None:
        return specs
    columns = _metadata_columns(metadata)
    missing = [n for n in names if n not in columns]
    extra = [n for n in columns if n not in names]
    if missing or extra:
        raise ValueError(f"metadata does not match real: columns without metadata {missing}, "
                         f"metadata for columns not in real {extra}")
    kinds = [_SDTYPE_TO_KIND.get(columns[n].get("sdtype"), ID) for n in names]
    return [replace(s, kind=k) for s, k in zip(specs, kinds)]


def check_target(real: pd.DataFrame, specs: list[ColumnSpec], target: object, holdout: object) -> None:
    """The target must be a categorical or numerical column, and needs a holdout to test on."""
    if target not in list(real.columns):
        raise ValueError(f"target={target!r} is not a column of real; accepted: None or one of {list(real.columns)}")
    if holdout is None:
        raise ValueError(
            f"target={target!r} was given without holdout: ML efficacy trains on synthetic "
            f"and tests on a real holdout; pass holdout=<real rows not used for training>"
        )
    kind = specs[list(real.columns).index(target)].kind
    if kind not in (CATEGORICAL, NUMERICAL):
        raise ValueError(f"target={target!r} is a {kind} column; accepted: a categorical "
                         f"(classification) or numerical (regression) column")


def check_options(random_state: object, max_rows: object) -> None:
    """``random_state``: None or a non-negative int; ``max_rows``: None or an int >= 10."""
    if random_state is not None and (
        not isinstance(random_state, numbers.Integral) or isinstance(random_state, bool) or random_state < 0
    ):
        raise TypeError(f"random_state must be None or a non-negative int; got {random_state!r}")
    if max_rows is not None and (
        not isinstance(max_rows, numbers.Integral) or isinstance(max_rows, bool) or max_rows < 10
    ):
        raise ValueError(f"max_rows must be None or an int >= 10; got {max_rows!r}")


def subsample(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """At most ``n`` rows of ``df``, drawn without replacement with ``seed``; all rows if fewer."""
    if n is None or len(df) <= n:
        return df
    return df.sample(n=n, random_state=seed)
