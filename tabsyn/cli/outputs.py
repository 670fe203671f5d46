"""Writing user files: every output path checked (and its folders created) before any work,
each output written to a unique hidden temporary file and renamed over it when complete
(:func:`atomic_output`), CSV with formula-like cells counted or escaped, Parquet with dtypes."""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from tabsyn.cli.errors import CLIError
from tabsyn.cli.inputs import CSV, EXTENSIONS, PARQUET, _pyarrow


# -- output files: checked first, written whole or not at all ------------------------
_PENDING: list[str] = []   # outputs this command will write and has not written yet


def check_output(path: str | os.PathLike, option: str) -> None:
    """Before any work: create the missing folders of ``path`` and make sure a file can be
    created there; refuse a folder, a path through a file, or a folder that is not writable."""
    target = Path(path)
    where = f"cannot write {option} {os.fspath(path)}"
    if target.is_dir() or _is_folder(path):
        raise CLIError(f"{where}: it is a folder; give a file name inside it")
    parent = existing = target.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise CLIError(f"{where}: {existing} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{where}: cannot create the folder {exc.filename or parent} ({exc.strerror or exc})") from None
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as exc:
        raise CLIError(f"{where}: the folder {parent} is not writable ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    _PENDING.append(os.fspath(path))


def _default_mode() -> int:
    """The permissions a new file gets (mkstemp's are 0600, private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_output(path: str | os.PathLike):
    """Yield a unique hidden temporary path beside ``path`` to write; when the block ends
    it replaces ``path`` in one step, and on any error or signal it is removed instead."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)   # done by check_output on the command line
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        os.close(fd)
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if os.fspath(path) in _PENDING:
        _PENDING.remove(os.fspath(path))


def output_format(path: str, fmt: str | None) -> str:
    """CSV or Parquet for the output ``path``: ``fmt`` (--format) when given, else by extension."""
    by_name = PARQUET if Path(path).suffix.lower() in (".parquet", ".pq") else CSV
    if fmt is not None and not _is_folder(path) and Path(path).suffix.lower() in EXTENSIONS and fmt != by_name:
        raise CLIError(f"--format {fmt} does not match -o {path}; name it {Path(path).stem}.{fmt} or leave "
                       f"out --format")
    return fmt or by_name


def _is_folder(path) -> bool:
    """``-o OUT/``: a folder of part files (the trailing slash says so)."""
    return os.fspath(path).endswith(("/", os.sep))


# Cells a spreadsheet would run as a formula (OWASP "CSV injection"); CSV exporters prefix a '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_text(dtype) -> bool:
    return dtype == object or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype))


def _scan_text(frame: pd.DataFrame) -> tuple[dict[int, np.ndarray], bool]:
    """Column position -> mask of the text cells that start like a formula (numbers never),
    and whether any text cell holds a carriage return."""
    found, has_cr = {}, False
    for i, dtype in enumerate(frame.dtypes):
        if _is_text(dtype):
            text = frame.iloc[:, i].astype(object).map(lambda v: v if isinstance(v, str) else "")
            mask = text.str.startswith(FORMULA_STARTS).to_numpy(dtype=bool)
            if mask.any():
                found[i] = mask
            has_cr = has_cr or bool(text.str.contains("\r", regex=False).any())
    return found, has_cr


def write_csv_atomic(frames, path: str, *, escape_formulas: bool = False, counts: Counter | None = None) -> int:
    """Write DataFrames (an iterable, written as they come) to ``path`` through :func:`atomic_output`.

    Text cells starting like a formula are counted per column in ``counts``, and written
    with a leading ``'`` when ``escape_formulas``. Returns the number of rows written.
    """
    counts = Counter() if counts is None else counts
    rows = 0
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        for i, frame in enumerate(frames):
            found, has_cr = _scan_text(frame)
            if found and escape_formulas:
                frame = frame.copy()
            for j, mask in found.items():
                counts[frame.columns[j]] += int(mask.sum())
                if escape_formulas:
                    column = frame.iloc[:, j].astype(object)
                    column[mask] = "'" + column[mask]
                    frame.isetitem(j, column)
            # Python's csv writer leaves a bare CR unquoted (it ends lines with LF), which
            # breaks the row for every reader: such batches quote all their text.
            quoting = csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL
            frame.to_csv(fh, header=(i == 0), index=False, quoting=quoting)
            rows += len(frame)
    return rows


def _report_formulas(command: str, path: str, counts: Counter, escaped: bool) -> None:
    """One line about formula-like cells: what was escaped, or a warning on stderr."""
    if not counts:
        return
    cells, columns = sum(counts.values()), list(counts)
    if escaped:
        print(f"escaped {cells} formula-like cells in columns {columns} with a leading '")
    else:
        print(f"tabsyn {command}: warning: {cells} cells of {path} in columns {columns} start with =, +, -, @, "
              f"tab or CR and may run as formulas in a spreadsheet; --escape-formulas writes them with a leading '",
              file=sys.stderr)


def _arrow_table(frame: pd.DataFrame, schema=None):
    """``frame`` as a pyarrow Table; the first batch's ``schema`` (text columns of missing values only: strings)
    holds for every later batch, so each batch writes the same columns."""
    pa, _ = _pyarrow()
    if schema is not None:
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
    if any(pa.types.is_null(f.type) for f in table.schema):
        table = pa.Table.from_pandas(frame, schema=pa.schema(fields, metadata=table.schema.metadata),
                                     preserve_index=False)
    return table


def write_parquet_atomic(frames, path: str) -> int:
    """Write DataFrames (an iterable, one row group or more each) to one Parquet file through
    :func:`atomic_output`, keeping their dtypes. Returns the number of rows written."""
    _, pq = _pyarrow()
    rows, writer = 0, None
    with atomic_output(path) as tmp:
        try:
            for frame in frames:
                table = _arrow_table(frame, None if writer is None else writer.schema)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                rows += len(frame)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise CLIError(f"nothing to write to {path}")
    return rows


def write_table_atomic(frames, path: str, fmt: str, *, escape_formulas: bool = False,
                       counts: Counter | None = None) -> int:
    """:func:`write_csv_atomic` or :func:`write_parquet_atomic` by ``fmt``; returns the rows written."""
    if fmt == PARQUET:
        return write_parquet_atomic(frames, path)
    return write_csv_atomic(frames, path, escape_formulas=escape_formulas, counts=counts)
