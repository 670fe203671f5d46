"""Benchmark suite: TabSyn and SDV's synthesizers on the five TabSyn tables, scored by tabsyn.evaluation.

For each (dataset, system): split the table with the benchmark protocol (shuffle with seed
0, 80% train, 20% holdout), fit the system on the training split in a child process,
sample as many rows as the training split, and score them with
``evaluate(train, synthetic, holdout=holdout, target=target)``. Fit seconds, sample
rows/second and the child's peak resident memory are recorded beside the scores.

Systems: ``tabsyn`` (``tabsyn.TabSynthesizer()``, default settings), ``gaussiancopula``,
``tvae`` and ``ctgan`` (SDV 2.x defaults, metadata detected from the training split;
``pip install -e .[bench]``), ``tabularargn`` (MOSTLY AI's ``mostlyai-engine``
``TabularARGN()`` at its defaults on the CPU; ``bash benchmarks/install_peers.sh``; not
run unless named, see ``benchmarks/peers.py``), and ``holdout``: real rows never trained
on, the output of an ideal generator. For ``holdout`` the holdout is cut in two halves: the first half is
scored as the "synthetic" table against the second half, so its privacy and efficacy
figures are the ones fresh real data gets (test set half the size of the others').

Each result goes to ``benchmarks/results/suite/<dataset>__<system>.json`` as soon as it
is done; existing files are skipped (resume) unless ``--force``. Render the tables with
``python benchmarks/render_results.py``.

    python benchmarks/suite.py --datasets adult magic --systems gaussiancopula holdout
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from tabsyn.datasets import DATASETS, load_dataset, train_holdout_split

SYSTEMS = ("tabsyn", "gaussiancopula", "tvae", "ctgan", "holdout")  # the suite's default run
ALL_SYSTEMS = SYSTEMS + ("tabularargn",)
SDV_CLASSES = {"gaussiancopula": "GaussianCopulaSynthesizer", "tvae": "TVAESynthesizer",
               "ctgan": "CTGANSynthesizer"}
RESULTS_DIR = Path(__file__).resolve().parent / "results" / "suite"
SEED = 0


def split(name: str, rows: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The benchmark protocol's training split, holdout and target for one dataset.

    ``rows`` (for smoke tests only) keeps the first ``rows`` rows of the training split,
    which is already shuffled; the holdout stays whole.
    """
    df, target, _ = load_dataset(name)
    train, holdout = train_holdout_split(df, seed=SEED)
    if rows is not None:
        train = train.iloc[:rows].reset_index(drop=True)
    return train, holdout, target


def fmt_or_dash(x) -> str:
    """A score for a results table: three decimals, or "-" where it was not computed."""
    return "-" if x is None else f"{x:.3f}"


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB.

    On Linux this is ``VmHWM`` of /proc/self/status: ``ru_maxrss`` would not do, as Linux
    carries it across fork and exec, so a child would report at least its parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def make_synthesizer(system: str, train: pd.DataFrame, settings: dict | None = None):
    """A fresh, unfitted synthesizer exposing ``fit(df)`` and ``sample(n)``.

    ``settings``: keyword arguments for its constructor on top of the defaults (smoke
    tests only; the benchmark's results use none).
    """
    settings = settings or {}
    if system == "tabsyn":
        from tabsyn import TabSynthesizer

        return TabSynthesizer(**{"random_state": SEED, "verbose": False, **settings})
    if system == "tabularargn":
        return _ARGNAdapter(**settings)
    import sdv.single_table
    from sdv.metadata import Metadata

    metadata = Metadata.detect_from_dataframes({"table": train})
    synthesizer = getattr(sdv.single_table, SDV_CLASSES[system])(metadata, **settings)
    return _SDVAdapter(synthesizer)


class _SDVAdapter:
    """SDV 2.x takes and returns ``{table name: DataFrame}``; the suite calls ``fit(df)``, ``sample(n)``."""

    def __init__(self, synthesizer):
        self.synthesizer = synthesizer

    def fit(self, df: pd.DataFrame) -> "_SDVAdapter":
        self.synthesizer.fit({"table": df})
        return self

    def sample(self, n: int) -> pd.DataFrame:
        return self.synthesizer.sample(num_rows=n)["table"]


def _holds_bools(col: pd.Series) -> bool:
    """Whether an object column's values are all Python or numpy booleans (missing ones aside)."""
    values = col.dropna()
    return len(values) > 0 and bool(values.map(lambda v: isinstance(v, (bool, np.bool_))).all())


class _ARGNAdapter:
    """MOSTLY AI's ``TabularARGN`` (mostlyai-engine) with the suite's dtypes at the boundary.

    It refuses pandas ``category`` columns, so they go in as plain objects; it returns
    booleans as the strings "True"/"False" and numbers in dtypes of its own, so every
    sampled column is cast back to its training dtype where the values allow (an integer
    column that came back with missing values stays float). Its own parameters are its
    defaults, on the CPU, seeded; ``params`` override them (smoke tests only).
    """

    def __init__(self, **params):
        from mostlyai.engine import TabularARGN

        self.model = TabularARGN(**{"device": "cpu", "random_state": SEED, "verbose": 0, **params})

    def fit(self, df: pd.DataFrame) -> "_ARGNAdapter":
        self.columns_ = list(df.columns)
        self.dtypes_ = df.dtypes.to_dict()
        self.bool_objects_ = {c for c in df.columns if df[c].dtype == object and _holds_bools(df[c])}
        data = df.copy()
        for c in data.columns:
            if isinstance(data[c].dtype, pd.CategoricalDtype):
                data[c] = data[c].astype(object)
        self.model.fit(data)
        return self

    def sample(self, n: int) -> pd.DataFrame:
        out = self.model.sample(n_samples=n)
        return pd.DataFrame({c: self._restore(out[c], self.dtypes_[c], c in self.bool_objects_)
                             for c in self.columns_})

    @staticmethod
    def _restore(col: pd.Series, dtype, bool_objects: bool = False) -> pd.Series:
        """``col`` in the training column's dtype where its values allow, else as close as they do."""
        col = col.reset_index(drop=True)
        truth = {"True": True, "False": False, "true": True, "false": False, True: True, False: False}
        missing = col.isna()
        try:
            if pd.api.types.is_bool_dtype(dtype) or bool_objects:
                values = col.astype(object).map(lambda v: truth.get(v, np.nan) if pd.notna(v) else np.nan)
                if bool_objects:
                    return values
                return values.astype(dtype) if not values.isna().any() else values.astype("boolean")
            if isinstance(dtype, pd.CategoricalDtype):
                by_text = {str(k): k for k in dtype.categories}
                values = col.astype(object).map(lambda v: by_text.get(str(v), v) if pd.notna(v) else np.nan)
                return pd.Series(pd.Categorical(values, categories=dtype.categories, ordered=dtype.ordered))
            if pd.api.types.is_integer_dtype(dtype):
                values = pd.to_numeric(col, errors="coerce")
                if isinstance(dtype, pd.api.extensions.ExtensionDtype):  # nullable Int64 and kin
                    return values.round().astype(dtype)
                return values.round().astype(dtype) if not values.isna().any() else values.astype("float64")
            if pd.api.types.is_float_dtype(dtype):
                return pd.to_numeric(col, errors="coerce").astype(dtype)
            if pd.api.types.is_datetime64_any_dtype(dtype):
                values = pd.to_datetime(col, errors="coerce")
                tz = getattr(dtype, "tz", None)
                if tz is not None:
                    values = values.dt.tz_localize(tz) if values.dt.tz is None else values.dt.tz_convert(tz)
                return values.astype(dtype)
            if dtype == object:  # strings: its own string dtype and <NA> back to object and NaN
                return col.astype(object).where(~missing, np.nan)
            return col.astype(dtype)
        except (TypeError, ValueError):
            return col


def child_run(dataset: str, system: str, out_dir: Path, options: dict | None = None) -> None:
    """Fit and sample in this (child) process; write the rows and the measurements.

    ``options`` (from ``generate``): ``threads`` (torch threads for fit and sample),
    ``rows`` (training rows kept, smoke tests only), ``settings`` (constructor
    arguments, smoke tests only) and ``save_model`` (a path: a tabsyn fit is saved
    there after it is sampled, outside every timing, for ``detection_columns.py``).
    """
    import random
    import warnings

    import torch

    options = options or {}
    if options.get("threads"):
        torch.set_num_threads(int(options["threads"]))
    warnings.filterwarnings("ignore", message=".*save_to_json.*")  # SDV: we never save metadata
    random.seed(SEED), np.random.seed(SEED), torch.manual_seed(SEED)
    train, _, _ = split(dataset, options.get("rows"))
    settings = dict(options.get("settings") or {})
    if system == "tabsyn" and options.get("threads"):
        settings.setdefault("n_jobs", int(options["threads"]))  # tabsyn picks its own threads otherwise
    synthesizer = make_synthesizer(system, train, settings)
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    synthesizer.fit(train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = synthesizer.sample(len(train))
    sample_seconds = time.perf_counter() - start
    synthetic.to_pickle(out_dir / "synthetic.pkl")
    if system == "tabsyn" and options.get("save_model"):
        Path(options["save_model"]).parent.mkdir(parents=True, exist_ok=True)
        synthesizer.save(options["save_model"])
    (out_dir / "measurements.json").write_text(json.dumps({
        "fit_seconds": fit_seconds, "sample_seconds": sample_seconds,
        "sample_rows_per_second": len(synthetic) / sample_seconds if sample_seconds > 0 else None,
        "peak_rss_mb": peak_rss_mb(), "rss_before_fit_mb": rss_before,
        "torch_threads": torch.get_num_threads(),
        "privacy": getattr(synthesizer, "privacy_", None),  # a DP fit's budget and spend (benchmarks/dp.py)
    }, default=str))


def generate(dataset: str, system: str, holdout: pd.DataFrame,
             options: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Synthetic rows and measurements: in a child process, or the holdout's first half.

    ``options``: see :func:`child_run`. With ``threads`` the child also gets
    ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` set to it, so the numpy and scikit-learn
    parts of a fit run on as many threads as torch does.
    """
    if system == "holdout":
        half = len(holdout) // 2
        return holdout.iloc[:half].reset_index(drop=True), {
            "fit_seconds": 0.0, "sample_seconds": None, "sample_rows_per_second": None,
            "peak_rss_mb": None, "rss_before_fit_mb": None}
    options = options or {}
    env = dict(os.environ)
    if options.get("threads"):
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(options["threads"])
    with tempfile.TemporaryDirectory(prefix=f"tabsyn-{dataset}-{system}-") as tmp:
        cmd = [sys.executable, __file__, "--child", dataset, system, tmp]
        if options:
            cmd += ["--child-options", json.dumps(options)]
        subprocess.run(cmd, check=True, env=env)
        synthetic = pd.read_pickle(Path(tmp) / "synthetic.pkl")  # written by our own child
        measurements = json.loads((Path(tmp) / "measurements.json").read_text())
    return synthetic, measurements


class _EpochClock:
    """Times the epoch loops of ctgan's TVAE and CTGAN, which iterate ``tqdm(range(epochs))``."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self) -> "_EpochClock":
        import ctgan.synthesizers.ctgan as ctgan_module
        import ctgan.synthesizers.tvae as tvae_module
        from tqdm import tqdm

        clock = self

        class TimedTqdm(tqdm):
            def __iter__(self):
                start = time.perf_counter()
                yield from super().__iter__()
                clock.seconds += time.perf_counter() - start

        self._modules = (ctgan_module, tvae_module)
        for module in self._modules:
            module.tqdm = TimedTqdm
        self._original = tqdm
        return self

    def __exit__(self, *exc) -> None:
        for module in self._modules:
            module.tqdm = self._original


def estimate_epochs(datasets: list[str], path: Path, epochs: int = 2) -> None:
    """Time TVAE and CTGAN fits of a few epochs and extrapolate to their default epochs.

    The epoch loop is timed inside ctgan (per epoch = loop seconds / epochs); everything
    else in ``fit`` (metadata, SDV and ctgan transformers with their Gaussian mixture per
    numerical column) is the overhead, paid once. Estimate = overhead + default epochs x
    per-epoch seconds; sampling and evaluation are not included. Results go to ``path``.
    """
    import warnings

    import sdv.single_table
    import torch
    from sdv.metadata import Metadata

    warnings.filterwarnings("ignore")
    estimates = json.loads(path.read_text()) if path.exists() else {}
    for dataset in datasets:
        train, _, _ = split(dataset)
        metadata = Metadata.detect_from_dataframes({"table": train})
        for system in ("tvae", "ctgan"):
            cls = getattr(sdv.single_table, SDV_CLASSES[system])
            torch.manual_seed(SEED)
            with _EpochClock() as clock:
                start = time.perf_counter()
                cls(metadata, epochs=epochs).fit({"table": train})
                total = time.perf_counter() - start
            per_epoch, overhead = clock.seconds / epochs, total - clock.seconds
            default_epochs = cls(metadata).epochs
            minutes = (overhead + default_epochs * per_epoch) / 60
            estimates[f"{dataset}__{system}"] = {
                "dataset": dataset, "system": system, "train_rows": len(train),
                "epochs_timed": epochs, "fit_seconds": total,
                "seconds_per_epoch": per_epoch, "overhead_seconds": overhead,
                "default_epochs": default_epochs, "estimated_fit_minutes": minutes,
                "torch_threads": torch.get_num_threads(), "machine": machine(),
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            }
            print(f"{dataset:9} {system:6} {per_epoch:6.1f} s/epoch, overhead {overhead:5.1f} s, "
                  f"~{minutes:.0f} min for {default_epochs} epochs", flush=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(estimates, indent=2))


def machine() -> dict:
    """CPU model, cores and memory of this machine."""
    cpu = platform.processor() or platform.machine()
    ram_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        meminfo = Path("/proc/meminfo").read_text().split()
        ram_gb = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2, 1)
    except (OSError, ValueError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": ram_gb, "platform": platform.platform()}


def stamp(script: str, argv: list[str] | None) -> dict:
    """When a benchmark's results were written and the command that writes them: ``script`` is its
    ``__file__``, ``argv`` its ``main``'s arguments (None: the command line's)."""
    args = sys.argv[1:] if argv is None else argv
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(["python", f"benchmarks/{Path(script).name}", *args])}


def versions() -> dict:
    out = {"python": platform.python_version()}
    for package in ("tabsyn", "sdv", "mostlyai-engine", "sdmetrics", "torch", "scikit-learn", "pandas"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out


def _script(path: str) -> str:
    """The running script's path as typed from the repository root (benchmarks/...)."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path(__file__).resolve().parent.parent))
    except ValueError:
        return str(path)


def run_one(dataset: str, system: str, path: Path, options: dict | None = None) -> dict:
    """Generate, evaluate and write one result file; returns what was written.

    ``options``: see :func:`child_run`; recorded in the result as given.
    """
    from tabsyn.evaluation import evaluate

    options = options or {}
    train, holdout, target = split(dataset, options.get("rows"))
    synthetic, measurements = generate(dataset, system, holdout, options)
    test = holdout.iloc[len(holdout) // 2:].reset_index(drop=True) if system == "holdout" else holdout
    start = time.perf_counter()
    result = evaluate(train, synthetic[train.columns], holdout=test, target=target, random_state=SEED)
    record = {
        "dataset": dataset, "system": system, "target": target,
        "rows": {"train": len(train), "holdout": len(test), "synthetic": len(synthetic)},
        **measurements,
        "evaluate_seconds": time.perf_counter() - start,
        "scores": result.to_dict(),
        "machine": machine(), "versions": versions(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python " + " ".join([_script(sys.argv[0]), *sys.argv[1:]]),
        "omp_num_threads": (str(options["threads"]) if options.get("threads") and system != "holdout"
                            else os.environ.get("OMP_NUM_THREADS")),
        "options": options,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(record, indent=2, default=str))
    partial.replace(path)
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=ALL_SYSTEMS)
    parser.add_argument("--force", action="store_true", help="rerun results that already exist")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--estimate-epochs", action="store_true",
                        help="only time 2-epoch TVAE/CTGAN fits and extrapolate to their defaults")
    parser.add_argument("--child", nargs=3, metavar=("DATASET", "SYSTEM", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--child-options", type=json.loads, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_run(args.child[0], args.child[1], Path(args.child[2]), args.child_options)
    if args.estimate_epochs:
        return estimate_epochs(args.datasets, args.results_dir / "sdv_epoch_estimates.json")
    for dataset in args.datasets:
        for system in args.systems:
            path = args.results_dir / f"{dataset}__{system}.json"
            if path.exists() and not args.force:
                print(f"{dataset:9} {system:15} skipped: {path.name} exists (--force reruns)")
                continue
            r = run_one(dataset, system, path)
            s = r["scores"]
            print(f"{dataset:9} {system:15} quality {s['fidelity']['quality_score']:.3f}  "
                  f"detection {s['detection']['roc_auc']:.3f}  fit {r['fit_seconds']:.0f} s  "
                  f"evaluate {r['evaluate_seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
