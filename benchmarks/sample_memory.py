"""Peak memory of `tabsyn sample` writing 100,000 and 1,000,000 rows of Adult to CSV.

    python benchmarks/sample_memory.py                 # both sizes: about 9 min on 2 cores
                                                       # once the model is cached (fitting it: 5 min)
    python benchmarks/sample_memory.py --rows 100000   # one size

Each size runs the real command, ``python -m tabsyn sample MODEL -n N -o FILE``, in a
child process with the CLI's defaults (privacy guard on, batches of 50,000 rows); its
peak resident memory is read from the kernel when it exits (``os.wait4``). The model
is the default TabSynthesizer on Adult's benchmark split (benchmarks/_adult_model.py).
Writes benchmarks/results/sample_memory.json and .md, and prints the table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _adult_model import MODEL, adult_model, write_results  # noqa: E402


def run_sample(rows: int, out_dir: str) -> dict:
    """Run the CLI in a child process; its wall time, peak RSS and the file it wrote."""
    out = os.path.join(out_dir, f"synthetic_{rows}.csv")
    cmd = [sys.executable, "-m", "tabsyn", "sample", str(MODEL), "-n", str(rows), "-o", out, "--seed", "0"]
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    stdout, stderr = child.stdout.read(), child.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"tabsyn sample failed:\n{stderr}")
    with open(out) as fh:
        lines = sum(1 for _ in fh) - 1
    size = os.path.getsize(out)
    os.remove(out)
    return {"rows": rows, "rows_written": lines, "seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
            "csv_mb": size / 2**20, "stdout": stdout.strip().splitlines(), "command": " ".join(cmd[1:])}


def table_lines(record: dict) -> list[str]:
    """The Markdown table of a ``sample_memory.json`` record."""
    results = record["results"]
    lines = [f"Adult: `tabsyn sample` of the default model to CSV, privacy guard on; {record['date']}; "
             f"`python benchmarks/sample_memory.py`", "",
             "| rows | seconds | rows/s | peak RSS MB | CSV MB |", "|---|---|---|---|---|",
             *[f"| {r['rows']:,} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | {r['peak_rss_mb']:.0f} "
               f"| {r['csv_mb']:.0f} |" for r in results]]
    if "peak_ratio_largest_to_smallest" in record:
        lines += ["", f"Peak RSS ratio, {results[-1]['rows']:,} to {results[0]['rows']:,} rows: "
                      f"{record['peak_ratio_largest_to_smallest']:.2f} (target <= 1.5)"]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args(argv)
    adult_model()  # fit and cache the model first, outside the measured runs
    results = []
    with tempfile.TemporaryDirectory(prefix="tabsyn-memory-") as tmp:
        for rows in args.rows:
            print(f"sampling {rows:,} rows ...", flush=True)
            results.append(run_sample(rows, tmp))
            r = results[-1]
            print(f"  {r['seconds']:.0f} s, peak RSS {r['peak_rss_mb']:.0f} MB, {r['csv_mb']:.0f} MB of CSV",
                  flush=True)
    record = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(),
              "results": results}
    if len(results) > 1:
        record["peak_ratio_largest_to_smallest"] = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
    write_results("sample_memory", record, table_lines(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
