"""Parquet on the command line: fit reads it, sample and impute write it, with the training table's dtypes."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tabsyn.cli import CLIError, Interrupted, main, read_table, write_parquet_atomic


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "tabsyn", *map(str, args)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def typed(adult_small):
    """300 Adult rows plus columns that CSV cannot type: nullable integers with missing values,
    a category, datetimes with a time zone, booleans and pandas strings."""
    df = adult_small.head(300).copy()
    n, rng = len(df), np.random.default_rng(0)
    df["visits"] = pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 1000, n)), dtype="Int64")
    df["tier"] = pd.Categorical(rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"])
    df["seen"] = pd.Timestamp("2021-03-01", tz="Europe/Paris") + pd.to_timedelta(rng.integers(0, 10**7, n), "s")
    df["member"] = rng.random(n) < 0.3
    df["note"] = pd.array(rng.choice(["x", "y", None], n), dtype="string")
    return df


@pytest.fixture(scope="module")
def parquet_model(typed, tmp_path_factory):
    folder = tmp_path_factory.mktemp("parquet")
    data = folder / "x.parquet"
    typed.to_parquet(data)
    model = folder / "m.tabsyn"
    run("fit", data, "-o", model, "--preset", "fast", "--vae-steps", 9, "--diffusion-steps", 15, "--seed", 0,
        "--quiet")
    return data, model


def test_parquet_dtype_round_trip_through_fit_and_sample(typed, parquet_model, tmp_path):
    data, model = parquet_model
    assert (read_table(str(data)).dtypes == typed.dtypes).all()
    out = tmp_path / "y.parquet"
    proc = run("sample", model, "-n", 50, "-o", out, "--seed", 1, "--batch-size", 20)   # three row groups
    assert "wrote 50 synthetic rows to" in proc.stdout
    synthetic = pd.read_parquet(out)
    assert list(synthetic.columns) == list(typed.columns) and len(synthetic) == 50
    for column in typed.columns:
        assert synthetic[column].dtype == typed[column].dtype, column
    assert str(synthetic["seen"].dt.tz) == "Europe/Paris"
    assert list(synthetic["tier"].cat.categories) == ["low", "mid", "high"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no partial file left


def test_a_parquet_folder_of_parts_and_a_csv_hold_the_same_rows(parquet_model, tmp_path):
    _, model = parquet_model
    for k in range(2):
        run("sample", model, "-n", 9, "-o", f"{tmp_path}/p/", "--format", "parquet", "--shard", f"{k}/2",
            "--seed", 2)
    run("sample", model, "-n", 9, "-o", tmp_path / "one.parquet", "--seed", 2)
    union = pd.read_parquet(tmp_path / "p")   # pyarrow reads the folder's part files in order
    pd.testing.assert_frame_equal(union, pd.read_parquet(tmp_path / "one.parquet"))


def test_impute_and_evaluate_read_parquet(typed, parquet_model, tmp_path):
    data, model = parquet_model
    holes = typed.head(30).copy()
    holes.loc[::3, "age"] = np.nan          # age becomes float with NaN: impute keeps the dtype it is given
    holes.loc[::4, "tier"] = np.nan
    holes.to_parquet(tmp_path / "holes.parquet")
    run("impute", model, tmp_path / "holes.parquet", "-o", tmp_path / "filled.parquet", "--draws", 2, "--seed", 0)
    filled = pd.read_parquet(tmp_path / "filled.parquet")
    assert (filled.dtypes == holes.dtypes).all()
    assert filled[["age", "tier"]].notna().all().all()
    run("sample", model, "-n", 60, "-o", tmp_path / "s.parquet", "--seed", 0)
    run("evaluate", data, tmp_path / "s.parquet", "--json", tmp_path / "scores.json")
    assert (tmp_path / "scores.json").read_text().startswith("{")


def test_other_extensions_are_refused_naming_what_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("a,b\n1,2\n")
    assert main(["fit", "data.txt", "-o", "m.tabsyn"]) == 2
    err = capsys.readouterr().err
    assert err == ("tabsyn fit: error: cannot read data.txt: tabsyn reads tables from .csv and .parquet "
                   "(or .pq) files; got .txt\n")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(CLIError, match="cannot read .*bad.parquet as Parquet: "):
        read_table(str(tmp_path / "bad.parquet"))
    assert main(["sample", "m.tabsyn", "-n", "5", "-o", "x.parquet", "--escape-formulas"]) == 2
    assert "--escape-formulas is for CSV outputs" in capsys.readouterr().err


def test_the_schema_of_the_first_batch_holds_when_a_text_column_starts_all_missing(tmp_path):
    frames = [pd.DataFrame({"t": [None, None], "n": [1.0, 2.0]}), pd.DataFrame({"t": ["a", None], "n": [3.0, 4.0]})]
    assert write_parquet_atomic(iter(frames), str(tmp_path / "t.parquet")) == 4
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["t"].tolist() == [None, None, "a", None] and back["n"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_an_interrupted_parquet_write_leaves_the_output_as_it_was(tmp_path):
    out = tmp_path / "keep.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(out)
    before = out.read_bytes()

    def batches():
        yield pd.DataFrame({"x": [2, 3]})
        raise Interrupted(15)

    with pytest.raises(Interrupted):
        write_parquet_atomic(batches(), str(out))
    assert out.read_bytes() == before and sorted(tmp_path.iterdir()) == [out]
