"""The ``tabsyn`` argument parser: every command's options and the help on files they print."""

from __future__ import annotations

import argparse

from tabsyn.cli.commands import cmd_demo, cmd_evaluate, cmd_fit, cmd_impute, cmd_sample
from tabsyn.cli.inputs import CSV, PARQUET
from tabsyn.cli.shards import SHARD_HELP

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

ESCAPE_HELP = ("write text cells that start with =, +, -, @, tab or CR with a leading ' so that a spreadsheet "
               "shows them instead of running them as formulas (numbers are never changed); without it such "
               "cells are written as they are, with a warning")


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
    p.add_argument("--dp-epsilon", type=float, default=None, metavar="E",
                   help="make the fit (E, delta)-differentially private (needs pip install \"tabsyn[dp]\"; "
                        "README, \"Differential privacy\")")
    p.add_argument("--dp-delta", type=float, default=None, metavar="D",
                   help="the delta of --dp-epsilon (default: 1 / (10 x rows))")
    p.add_argument("--seed", type=int, default=None, help="random seed for a reproducible fit")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads (default: the cores other processes leave idle; -1: all)")
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
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads (default: the cores other processes leave idle; -1: all)")
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
    p.add_argument("--strict-guard", action="store_true",
                   help="fail instead of falling back where the guard's rule cannot apply (a table of few distinct "
                        "rows, too few held-out rows); by default the fallback is printed and the rows are written")
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
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads (default: the cores other processes leave idle; -1: all)")
    p.add_argument("--escape-formulas", action="store_true", help=ESCAPE_HELP)
    p.set_defaults(func=cmd_impute)

    p = sub.add_parser("evaluate", help="score a synthetic table against the real one (CSV or Parquet)", **files)
    p.add_argument("real", help="the real table (.csv, .parquet)")
    p.add_argument("synthetic", help="the synthetic table (.csv, .parquet)")
    p.add_argument("--holdout", help="real rows not used for fitting: enables ML efficacy and privacy")
    p.add_argument("--target", help="column to predict for ML efficacy")
    p.add_argument("--report", help="write a self-contained HTML report here (missing folders are created)")
    p.add_argument("--json", help="write the scores as JSON here (missing folders are created)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", help="fit Adult, sample it, write the CSV, model and HTML report", **files)
    p.add_argument("--out", default="tabsyn-demo", help="output folder, created if missing (default: %(default)s)")
    p.add_argument("--preset", default="default", choices=sorted(PRESETS))
    p.add_argument("--rows", type=int, default=None, help="rows to sample (default: as many as the training split)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads (default: the cores other processes leave idle; -1: all)")
    p.add_argument("--privacy-guard", action=argparse.BooleanOptionalAction, default=True,
                   help="as in `tabsyn sample` (default: on)")
    p.add_argument("--privacy-quantile", type=float, default=0.01, metavar="Q", help="as in `tabsyn sample`")
    p.add_argument("--quiet", action="store_true", help="no progress bars or lines")
    p.set_defaults(func=cmd_demo)
    return parser
