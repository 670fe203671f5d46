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

Modules: :mod:`~tabsyn.cli.errors` (one-line errors, signals), :mod:`~tabsyn.cli.inputs`
(reading tables), :mod:`~tabsyn.cli.outputs` (checking and writing output files),
:mod:`~tabsyn.cli.shards`, :mod:`~tabsyn.cli.commands` and :mod:`~tabsyn.cli.parser`;
this module runs a command (:func:`main`) and re-exports their public names.
"""

from __future__ import annotations

import signal
import sys

from tabsyn.cli.commands import cmd_demo, cmd_evaluate, cmd_fit, cmd_impute, cmd_sample
from tabsyn.cli.errors import EXIT_ERROR, CLIError, Interrupted, _one_line, _signals_raise
from tabsyn.cli.inputs import CSV, EXTENSIONS, PARQUET, read_csv, read_parquet, read_table
from tabsyn.cli.outputs import (_PENDING, FORMULA_STARTS, atomic_output, check_output, output_format,
                                write_csv_atomic, write_parquet_atomic, write_table_atomic)
from tabsyn.cli.parser import ESCAPE_HELP, FILES_HELP, build_parser
from tabsyn.cli.shards import SHARD_HELP, parse_shard, shard_path, shard_rows

__all__ = [
    "CLIError", "CSV", "ESCAPE_HELP", "EXIT_ERROR", "EXTENSIONS", "FILES_HELP", "FORMULA_STARTS", "Interrupted",
    "PARQUET", "SHARD_HELP", "atomic_output", "build_parser", "check_output", "cmd_demo", "cmd_evaluate",
    "cmd_fit", "cmd_impute", "cmd_sample", "main", "output_format", "parse_shard", "read_csv", "read_parquet",
    "read_table", "shard_path", "shard_rows", "write_csv_atomic", "write_parquet_atomic", "write_table_atomic",
]


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
        except (CLIError, ValueError, TypeError, FileNotFoundError, OSError, ImportError) as exc:
            if args is not None and args.debug:
                raise
            print(f"{command}: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_ERROR
    return 0
