"""`tabsyn ...` on the command line: the only place that reads and writes user files.

Commands: ``fit``, ``sample``, ``impute``, ``evaluate`` and ``demo`` (``tabsyn COMMAND --help``).
Errors print one line and exit with status 2; ``--debug`` shows the traceback.

Tables are read and written as CSV or Parquet, by extension (:func:`read_table`,
:func:`write_table_atomic`); ``tabsyn sample --shard K/N`` (or torchrun's ``RANK`` /
``WORLD_SIZE``) writes one shard of a larger sample (:data:`SHARD_HELP`).

Files (see :data:`FILES_HELP`, shown by ``tabsyn --help``): every output path is checked,
and its missing folders created, before any work starts. Each output is written to a
hidden temporary file beside it and renamed over it when complete, so an output is
either whole or left as it was. SIGINT (Ctrl-C) and SIGTERM remove the temporary file
and exit with 130 and 143; SIGKILL cannot be caught and leaves the hidden
``.NAME.XXXXXXXX.partial`` file behind, never a truncated output.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

EXIT_ERROR = 2

FILES_HELP = """\
output files:
  Missing folders in an output path are created; an output that cannot be written
  (its folder is read-only, or a part of its path is a file) is refused with exit
  status 2 before any work starts. Each output is written to a hidden temporary file
  beside it (.NAME.XXXXXXXX.partial) and renamed over NAME when complete: NAME is
  either whole or left as it was, and when two runs write the same NAME, each writes
  a whole file and the last to finish wins.
  Ctrl-C (SIGINT) and SIGTERM remove the temporary file, print one line and exit with
  status 130 and 143. SIGKILL (kill -9) cannot be caught: it leaves the hidden
  .NAME.XXXXXXXX.partial file (safe to delete), never a truncated NAME.

input tables:
  .csv or .parquet (.pq) files, told apart by their extension. In a CSV the first row
  is the header, kept exactly as written (spaces included; an empty header cell is a
  column named ""), and each column's type is read from its text. A Parquet file keeps
  its dtypes (nullable integers, categories, datetimes with time zones, booleans,
  strings); its pandas index, if any, is not a column. Duplicate names are refused.

output tables:
  -o NAME.parquet (or .pq) writes Parquet through pyarrow, with the training table's
  dtypes; any other name writes CSV. --format csv|parquet says it outright.
"""

SHARD_HELP = """shards (one sample written by several processes or machines):
  --shard K/N writes shard K of N, 0-based (0/4, 1/4, 2/4, 3/4): rows
  floor(K*n/N) .. floor((K+1)*n/N)-1 of the n-row sample the seed gives. Every shard
  needs the same --seed (and the same -n, model and options); the shards in order
  are then, to the bit, the table one process writes with that seed. Under torchrun
  (RANK and WORLD_SIZE set) without --shard, each rank writes shard RANK/WORLD_SIZE.
  -o OUT/ (ending in /) writes shard K to OUT/part-0000K.csv (.parquet with
  --format parquet); -o NAME.csv writes NAME.part-0000K-of-0000N.csv; with N = 1,
  NAME.csv itself. --known is not sharded.
"""


class CLIError(Exception):
    """A user-facing problem: printed as one line."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds like KeyboardInterrupt, so temporary files are removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum   # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    def __str__(self) -> str:
        return {signal.SIGINT: "SIGINT (Ctrl-C)", signal.SIGTERM: "SIGTERM"}.get(self.signum, f"signal {self.signum}")


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


# -- shards: one sample written by several processes ------------------------------------
def parse_shard(text: str | None, environ=os.environ) -> tuple[int, int, str]:
    """``--shard K/N`` (0-based), else torchrun's ``RANK`` / ``WORLD_SIZE``, else the whole sample:
    ``(K, N, where it came from)``."""
    if text is not None:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        k, n = (int(match[1]), int(match[2])) if match else (None, None)
        if match is None or n < 1 or k >= n:
            raise CLIError(f"--shard takes K/N, shard K of N counted from 0 (0 <= K < N, e.g. 0/4 .. 3/4); "
                           f"got {text!r}")
        return k, n, f"--shard {k}/{n}"
    if "RANK" in environ and "WORLD_SIZE" in environ:
        rank, size = environ["RANK"], environ["WORLD_SIZE"]
        if not (rank.isdigit() and size.isdigit() and int(rank) < int(size)):
            raise CLIError(f"RANK={rank!r} and WORLD_SIZE={size!r} (set by torchrun) must be integers with "
                           f"0 <= RANK < WORLD_SIZE; or give --shard K/N")
        return int(rank), int(size), f"torchrun's RANK={rank} of WORLD_SIZE={size}"
    return 0, 1, "one process"


def shard_rows(n: int, k: int, shards: int) -> tuple[int, int]:
    """Rows ``[start, end)`` of shard ``k`` of ``shards`` of an ``n``-row sample."""
    return k * n // shards, (k + 1) * n // shards


def shard_path(output: str, fmt: str, k: int, shards: int) -> str:
    """Where shard ``k`` of ``shards`` goes: ``OUT/part-0000K.EXT`` for a folder, ``NAME.part-0000K-of-0000N.EXT``
    for a file name (the name itself when there is one shard)."""
    width = max(5, len(str(shards - 1)))
    if _is_folder(output):
        return os.path.join(output, f"part-{k:0{width}d}.{fmt}")
    if shards == 1:
        return output
    path = Path(output)
    return os.fspath(path.with_name(f"{path.stem}.part-{k:0{width}d}-of-{shards:0{width}d}{path.suffix}"))


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


# -- commands ----------------------------------------------------------------------
def _load_model(path: str):
    import tabsyn
    from tabsyn.persistence import ModelFileError

    try:
        model = tabsyn.load(path)
    except FileNotFoundError:
        raise CLIError(f"no such model file: {path}") from None
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    if not isinstance(model, tabsyn.TabSynthesizer):
        raise CLIError(f"{path} holds a {type(model).__name__}, not a TabSynthesizer")
    return model


def cmd_fit(args) -> None:
    from tabsyn import TabSynthesizer

    df = read_table(args.data)
    if args.target is not None and args.target not in df.columns:
        raise CLIError(f"--target {args.target!r} is not a column of {args.data}; columns: {list(df.columns)}")
    check_output(args.output, "-o")
    synth = TabSynthesizer(preset=args.preset, device=args.device, random_state=args.seed,
                           verbose=not args.quiet, time_budget=args.time_budget,
                           vae_steps=args.vae_steps, diffusion_steps=args.diffusion_steps)
    synth.fit(df)
    with atomic_output(args.output) as tmp:
        synth.save(tmp)
    print(f"fitted {len(df)} rows x {df.shape[1]} columns in {synth.fit_seconds_:.0f} s; "
          f"model written to {args.output}")


def _parse_condition(synth, text: str) -> tuple[object, object]:
    """``COLUMN=VALUE`` -> (column label, value typed as the column holds it)."""
    if "=" not in text:
        raise CLIError(f"--condition takes COLUMN=VALUE; got {text!r}")
    name, raw = text.split("=", 1)
    specs = {str(s.name): s for s in synth.columns_}
    if name not in specs:
        raise CLIError(f"--condition {text!r}: no column named {name!r}; the columns are {list(specs)}")
    spec = specs[name]
    if raw == "":
        return spec.name, None
    if spec.kind == "numerical":
        try:
            number = float(raw)
        except ValueError:
            raise CLIError(f"--condition {text!r}: column {name!r} is numerical; {raw!r} is not a number") from None
        return spec.name, int(number) if number.is_integer() and "int" in spec.dtype.lower() else number
    if spec.kind == "categorical":
        # The CSV gave text: match it to a category by its written form ("1" -> 1, "True" -> True).
        for value in synth.model_.codec.categories(spec.name):
            if str(value) == raw or (isinstance(value, bool) and str(value).lower() == raw.lower()):
                return spec.name, value
    return spec.name, raw  # dates and unknown categories: the model says what it accepts


def _print_guard(reports: list) -> None:
    """One line: what the privacy guard replaced over all batches."""
    from tabsyn.table.guard import GuardReport

    print(GuardReport.total(reports))


def cmd_sample(args) -> None:
    batch = args.batch_size
    if batch <= 0:
        raise CLIError(f"--batch-size must be a positive integer; got {batch}")
    if (args.n is None) == (args.known is None):
        raise CLIError("give either -n N (rows to sample) or --known known.csv (rows to complete)")
    if args.n is not None and args.n <= 0:
        raise CLIError(f"-n must be a positive integer; got {args.n}")
    if args.known is not None and args.condition:
        raise CLIError("--condition and --known do not go together; put the fixed values in the known CSV")
    fmt = output_format(args.output, args.format)
    if fmt == PARQUET and args.escape_formulas:
        raise CLIError("--escape-formulas is for CSV outputs; Parquet stores cells as typed values, which "
                       "spreadsheets do not run as formulas")
    if os.path.isdir(args.output) and not _is_folder(args.output):
        raise CLIError(f"cannot write -o {args.output}: it is a folder; give a file name inside it, or end it "
                       f"with / to write part-00000.{fmt} files into it")
    k, shards, where = parse_shard(args.shard) if args.known is None else (0, 1, "one process")
    if args.known is not None and (args.shard is not None or os.environ.get("WORLD_SIZE", "1") != "1"):
        raise CLIError("--known completes the rows of one file in one process; --shard (and torchrun's "
                       "RANK/WORLD_SIZE) apply to -n only")
    if shards > 1 and args.seed is None:
        raise CLIError(f"{where} needs --seed: every shard must draw from the same stream for the shards to "
                       f"make up one sample; give each shard the same --seed")
    output = shard_path(args.output, fmt, k, shards)
    synth = _load_model(args.model)
    guard = args.privacy_quantile if args.privacy_guard else False
    clock = time.perf_counter()
    # Without --seed, fresh randomness: the stream saved in the model file would repeat rows.
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    if args.known is not None:
        known = read_table(args.known)
        check_output(output, "-o")
        frames = [synth.sample_remaining_columns(known, privacy_guard=guard, guidance_scale=args.guidance_scale,
                                                 random_state=seed, batch_size=batch)]
        first, last = 0, len(known)
    else:
        conditions = dict(_parse_condition(synth, c) for c in args.condition) or None
        check_output(output, "-o")
        first, last = shard_rows(args.n, k, shards)
        if last > first:
            frames = synth.sample_batches(last - first, conditions=conditions, privacy_guard=guard, start=first,
                                          guidance_scale=args.guidance_scale, random_state=seed, batch_size=batch)
        else:   # more shards than rows: this one is empty, with the table's columns and dtypes
            frames = [synth.sample(1, conditions=conditions, random_state=seed).iloc[:0]]
    reports = []

    def keep_reports(batches):
        for frame in batches:
            reports.append(frame.attrs.get("privacy_guard"))
            yield frame

    formulas = Counter()
    rows = write_table_atomic(keep_reports(frames), output, fmt, escape_formulas=args.escape_formulas,
                              counts=formulas)
    span = f"rows {first}..{last - 1}" if last > first else "no rows"
    part = f" ({span} of {args.n}, shard {k}/{shards})" if shards > 1 else ""
    print(f"wrote {rows} synthetic rows{part} to {output} in {time.perf_counter() - clock:.1f} s")
    if guard is not False and any(reports):
        _print_guard(reports)
    _report_formulas("sample", output, formulas, args.escape_formulas)


def cmd_impute(args) -> None:
    synth = _load_model(args.model)
    if args.draws <= 0:
        raise CLIError(f"--draws must be a positive integer; got {args.draws}")
    fmt = output_format(args.output, None)
    if fmt == PARQUET and args.escape_formulas:
        raise CLIError("--escape-formulas is for CSV outputs; Parquet stores cells as typed values")
    df = read_table(args.data)
    check_output(args.output, "-o")
    start = time.perf_counter()
    filled = synth.impute(df, draws=args.draws, guidance_scale=args.guidance_scale, random_state=args.seed)
    holes = int(df.isna().to_numpy().sum()) - int(filled.isna().to_numpy().sum())
    formulas = Counter()
    rows = write_table_atomic([filled], args.output, fmt, escape_formulas=args.escape_formulas, counts=formulas)
    print(f"filled {holes} missing cells in {rows} rows; wrote {args.output} in {time.perf_counter() - start:.1f} s")
    _report_formulas("impute", args.output, formulas, args.escape_formulas)


def cmd_evaluate(args) -> None:
    from tabsyn.evaluation import evaluate

    real, synthetic = read_table(args.real), read_table(args.synthetic)
    holdout = read_table(args.holdout) if args.holdout else None
    for path, option in ((args.report, "--report"), (args.json, "--json")):
        if path:
            check_output(path, option)
    result = evaluate(real, synthetic, holdout=holdout, target=args.target)
    _write_reports(result, args.report, args.json)


def _write_reports(result, report: str | None, json_path: str | None) -> None:
    scores = result.to_dict()
    if report:
        with atomic_output(report) as tmp:
            result.to_html(tmp)
        print(f"report: {os.path.abspath(report)}")
    if json_path:
        with atomic_output(json_path) as tmp:
            Path(tmp).write_text(json.dumps(scores, indent=2, default=str))
        print(f"scores: {os.path.abspath(json_path)}")
    print(result.to_frame().to_string())


def cmd_demo(args) -> None:
    from tabsyn import TabSynthesizer
    from tabsyn.datasets import load_adult, train_holdout_split
    from tabsyn.evaluation import evaluate

    out = Path(args.out)
    files = {name: out / name for name in ("adult_synthetic.csv", "adult.tabsyn", "report.html", "scores.json")}
    for path in files.values():
        check_output(path, "--out")
    df, target, _ = load_adult()
    train, holdout = train_holdout_split(df, seed=0)
    print(f"Adult: {len(train)} training rows, {len(holdout)} holdout rows, target {target!r}")
    synth = TabSynthesizer(preset=args.preset, random_state=args.seed, verbose=not args.quiet)
    synth.fit(train)
    print(f"fit: {synth.fit_seconds_:.0f} s")
    start = time.perf_counter()
    guard = args.privacy_quantile if args.privacy_guard else False
    synthetic = synth.sample(args.rows or len(train), privacy_guard=guard)
    print(f"sample: {len(synthetic)} rows in {time.perf_counter() - start:.1f} s")
    if guard is not False:
        _print_guard([synthetic.attrs["privacy_guard"]])
    write_csv_atomic([synthetic], files["adult_synthetic.csv"])
    with atomic_output(files["adult.tabsyn"]) as tmp:
        synth.save(tmp)
    print(f"synthetic CSV: {files['adult_synthetic.csv'].resolve()}\nmodel: {files['adult.tabsyn'].resolve()}")
    result = evaluate(train, synthetic, holdout=holdout, target=target)
    _write_reports(result, str(files["report.html"]), str(files["scores.json"]))


def build_parser() -> argparse.ArgumentParser:
    from tabsyn import __version__
    from tabsyn.tabular.presets import PRESETS
    from tabsyn.tabular.synthesizer import GUIDANCE_SCALE

    parser = argparse.ArgumentParser(prog="tabsyn", description="Synthetic tables by latent diffusion (TabSyn).",
                                     epilog=FILES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tabsyn {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    files = dict(epilog=FILES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)  # in every --help

    p = sub.add_parser("fit", help="fit a synthesizer on a CSV or Parquet table and save it", **files)
    p.add_argument("data", help="the real table: a CSV with a header row, or a Parquet file (.parquet, .pq)")
    p.add_argument("-o", "--output", required=True, help="where to write the model file (missing folders are created)")
    p.add_argument("--target", help="column to check exists (used by evaluate for ML efficacy)")
    p.add_argument("--preset", default="default", choices=sorted(PRESETS),
                   help="sizes and budgets (default: %(default)s)")
    p.add_argument("--time-budget", type=float, default=None, help="stop training after this many seconds")
    p.add_argument("--vae-steps", type=int, default=None, help="VAE optimiser steps (default: the preset's)")
    p.add_argument("--diffusion-steps", type=int, default=None,
                   help="diffusion optimiser steps (default: the preset's)")
    p.add_argument("--seed", type=int, default=None, help="random seed for a reproducible fit")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("sample", help="write synthetic rows from a saved model to a CSV or Parquet file",
                       epilog=SHARD_HELP + "\n" + FILES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model file written by `tabsyn fit`")
    p.add_argument("-n", type=int, default=None, help="number of rows (of the whole sample, with --shard)")
    p.add_argument("-o", "--output", required=True,
                   help="the synthetic table to write, NAME.csv or NAME.parquet, or a folder OUT/ of part files "
                        "(missing folders are created)")
    p.add_argument("--format", choices=(CSV, PARQUET), default=None,
                   help="csv or parquet (default: by -o's extension; csv for a folder OUT/)")
    p.add_argument("--shard", metavar="K/N", default=None,
                   help="write shard K of N, counted from 0, of the -n rows; needs --seed (see below)")
    p.add_argument("--seed", type=int, default=None, help="random seed for reproducible rows")
    p.add_argument("--batch-size", type=int, default=50_000,
                   help="rows generated and written at a time (default: %(default)s)")
    p.add_argument("--condition", action="append", default=[], metavar="COLUMN=VALUE",
                   help="fix a column's value in every row (repeatable), e.g. --condition sex=Female")
    p.add_argument("--known", metavar="TABLE",
                   help="complete the rows of this CSV or Parquet file: keep their columns, draw the others")
    p.add_argument("--guidance-scale", type=float, default=GUIDANCE_SCALE, metavar="W",
                   help="with --condition or --known: how closely to follow them; 1 = the model's plain "
                        "conditional (default: %(default)s)")
    p.add_argument("--privacy-guard", action=argparse.BooleanOptionalAction, default=True,
                   help="redraw rows that copy, or sit closer to a real row than held-out real rows do (default: on)")
    p.add_argument("--privacy-quantile", type=float, default=0.01, metavar="Q",
                   help="the guard's threshold: this quantile of held-out rows' distances; 0 = exact copies only "
                        "(default: %(default)s)")
    p.add_argument("--escape-formulas", action="store_true", help=ESCAPE_HELP)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("impute", help="fill the missing cells of a CSV or Parquet table from a saved model",
                       **files)
    p.add_argument("model", help="a model file written by `tabsyn fit` on a table with these columns")
    p.add_argument("data", help="a CSV or Parquet file with every column of the table; empty cells are filled")
    p.add_argument("-o", "--output", required=True,
                   help="the filled table to write, NAME.csv or NAME.parquet (missing folders are created)")
    p.add_argument("--draws", type=int, default=10, help="draws per missing cell, averaged (default: %(default)s)")
    p.add_argument("--guidance-scale", type=float, default=GUIDANCE_SCALE, metavar="W",
                   help="how closely draws follow the known cells; 1 = the model's plain conditional "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="random seed for reproducible values")
    p.add_argument("--escape-formulas", action="store_true", help=ESCAPE_HELP)
    p.set_defaults(func=cmd_impute)

    p = sub.add_parser("evaluate", help="score a synthetic table against the real one (CSV or Parquet)", **files)
    p.add_argument("real", help="the real table (.csv, .parquet)")
    p.add_argument("synthetic", help="the synthetic table (.csv, .parquet)")
    p.add_argument("--holdout", help="real rows not used for fitting: enables ML efficacy and privacy")
    p.add_argument("--target", help="column to predict for ML efficacy")
    p.add_argument("--report", help="write a self-contained HTML report here (missing folders are created)")
    p.add_argument("--json", help="write the scores as JSON here (missing folders are created)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", help="fit Adult, sample it, write the CSV, model and HTML report", **files)
    p.add_argument("--out", default="tabsyn-demo", help="output folder, created if missing (default: %(default)s)")
    p.add_argument("--preset", default="default", choices=sorted(PRESETS))
    p.add_argument("--rows", type=int, default=None, help="rows to sample (default: as many as the training split)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--privacy-guard", action=argparse.BooleanOptionalAction, default=True,
                   help="as in `tabsyn sample` (default: on)")
    p.add_argument("--privacy-quantile", type=float, default=0.01, metavar="Q", help="as in `tabsyn sample`")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)
    return parser


ESCAPE_HELP = ("write text cells that start with =, +, -, @, tab or CR with a leading ' so that a spreadsheet "
               "shows them instead of running them as formulas (numbers are never changed); without it such "
               "cells are written as they are, with a warning")


@contextmanager
def _signals_raise():
    """While a command runs, SIGINT and SIGTERM raise :class:`Interrupted` (once: a second
    signal during the cleanup is ignored). A signal the caller ignores (nohup, ``&``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {s: signal.getsignal(s) for s in handled}

    def handler(signum, frame):
        for s in handled:
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    for s in handled:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, signal.SIG_DFL if h is None else h)


def _one_line(exc: BaseException) -> str:
    """The message of an error as one line. Schema problems come as a list and with pandas
    advice ("e.g. df = df.drop(...)"); on the command line they get CSV advice instead."""
    from tabsyn.table.schema import SchemaError

    text = str(exc)
    if not isinstance(exc, SchemaError):
        return text.splitlines()[0] if text else type(exc).__name__
    text = re.sub(r"; drop it before fit, e\.g\. df = df\.drop\(columns=\[[^\n]*?\]\)",
                  ": remove that column from the CSV", text)
    text = re.sub(r",? e\.g\. df\b[^\n]*", "", text)   # any other pandas snippet
    first, *problems = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join([first, "; ".join(p.removeprefix("- ") for p in problems)]).strip()


def main(argv: list[str] | None = None) -> int:
    _PENDING.clear()
    args, command = None, "tabsyn"
    with _signals_raise():
        try:
            args = build_parser().parse_args(argv)
            command = f"tabsyn {args.command}"
            args.func(args)
        except (Interrupted, KeyboardInterrupt) as exc:
            stop = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
            unwritten = f"; nothing written to {', '.join(_PENDING)}" if _PENDING else ""
            print(f"{command}: stopped by {stop}{unwritten}", file=sys.stderr)
            return stop.exit_code
        except (CLIError, ValueError, TypeError, FileNotFoundError, OSError) as exc:
            if args is not None and args.debug:
                raise
            print(f"{command}: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
