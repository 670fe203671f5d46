"""Reading user tables: CSV with the header exactly as written and typed columns, Parquet
through pyarrow with its dtypes, one or the other by extension (:func:`read_table`)."""

from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import pandas as pd

from tabsyn.cli.errors import CLIError


# -- CSV with faithful dtypes ----------------------------------------------------
def _typed_column(raw: pd.Series) -> pd.Series:
    """Type one column read as text: integers (nullable when missing), floats,
    booleans, datetimes; codes with leading zeros and everything else stay text."""
    present = raw.dropna()
    if present.empty:
        return raw.astype("float64")
    stripped = present.str.strip()
    has_leading_zero = stripped.str.match(r"^-?0\d").any()
    if not has_leading_zero:
        if stripped.str.fullmatch(r"[+-]?\d+").all():
            values = pd.to_numeric(raw)
            return values.astype("Int64") if raw.isna().any() else values.astype("int64")
        numbers = pd.to_numeric(stripped, errors="coerce")
        if numbers.notna().all():
            return pd.to_numeric(raw, errors="coerce").astype("float64")
    lowered = stripped.str.lower()
    if lowered.isin(["true", "false"]).all():
        values = raw.str.strip().str.lower().map({"true": True, "false": False})
        return values.astype("boolean") if raw.isna().any() else values.astype(bool)
    if stripped.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        try:
            return pd.to_datetime(raw, format="ISO8601")
        except (ValueError, TypeError):
            pass
    return raw


def _read_header(path: str) -> list[str]:
    """The header row exactly as written (pandas would rename duplicates, strip spaces
    and call an empty name "Unnamed: N"); blank lines before it are skipped, as pandas does."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return next((row for row in csv.reader(fh) if row), [])


def read_csv(path: str) -> pd.DataFrame:
    """Read a CSV keeping what a user means: ints stay ints, "007" stays "007", dates are dates,
    and the header exactly as written. Duplicate header names are refused."""
    if not os.path.isfile(path):
        raise CLIError(f"no such file: {path}")
    try:
        header = _read_header(path)
        # header=None: a data row longer than the header is an error, not a silent index column.
        raw = pd.read_csv(path, dtype=str, header=None, keep_default_na=True, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        raise CLIError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from None
    if len(header) != raw.shape[1]:
        raise CLIError(f"cannot read {path} as CSV: its header has {len(header)} fields, its rows {raw.shape[1]}")
    duplicated = [name for name, count in Counter(header).items() if count > 1]
    if duplicated:
        where = "; ".join(f"{name!r} in columns {[i + 1 for i, h in enumerate(header) if h == name]}"
                          for name in duplicated)
        raise CLIError(f"{path}: duplicate column names in the header: {where}; give every column its own name")
    raw = raw.iloc[1:].reset_index(drop=True)
    return pd.DataFrame({name: _typed_column(raw[i]) for i, name in enumerate(header)}, columns=header)


# -- Parquet through pyarrow; tables in and out by extension ----------------------------
CSV, PARQUET = "csv", "parquet"
EXTENSIONS = {".csv": CSV, ".parquet": PARQUET, ".pq": PARQUET}


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise CLIError("Parquet files need pyarrow: pip install pyarrow") from None
    return pyarrow, pyarrow.parquet


def read_parquet(path: str) -> pd.DataFrame:
    """Read a Parquet file with its dtypes (pandas' own, where pandas wrote it); duplicate names are refused."""
    if not os.path.isfile(path):
        raise CLIError(f"no such file: {path}")
    pa, pq = _pyarrow()
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise CLIError(f"cannot read {path} as Parquet: {str(exc).splitlines()[0]}") from None
    names = table.column_names
    index = [c for c in (table.schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)]
    duplicated = [name for name, count in Counter(n for n in names if n not in index).items() if count > 1]
    if duplicated:
        raise CLIError(f"{path}: duplicate column names: {duplicated}; give every column its own name")
    return table.to_pandas().reset_index(drop=True)


def read_table(path: str) -> pd.DataFrame:
    """A .csv (:func:`read_csv`) or .parquet / .pq (:func:`read_parquet`) file, by its extension."""
    if not os.path.isfile(path):
        raise CLIError(f"no such file: {path}")
    kind = EXTENSIONS.get(Path(path).suffix.lower())
    if kind is None:
        raise CLIError(f"cannot read {path}: tabsyn reads tables from .csv and .parquet (or .pq) files; "
                       f"got {Path(path).suffix or 'a name without an extension'}")
    return read_parquet(path) if kind == PARQUET else read_csv(path)
