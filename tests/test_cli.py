"""The real commands, run in a subprocess on a slice of Adult."""

import subprocess
import sys

import pandas as pd
import pytest

from tabsyn.cli import read_csv


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "tabsyn", *map(str, args)], capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"tabsyn {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def csv_and_model(adult_small, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "adult.csv"
    adult_small.head(600).to_csv(data, index=False)
    model = folder / "model.tabsyn"
    run("fit", data, "-o", model, "--preset", "fast", "--vae-steps", "40", "--diffusion-steps", "60", "--seed", "0", "--quiet")
    return data, model


def test_fit_then_sample_writes_a_csv_with_the_same_header(csv_and_model, tmp_path):
    data, model = csv_and_model
    out = tmp_path / "synthetic.csv"
    proc = run("sample", model, "-n", 250, "-o", out, "--seed", "1", "--batch-size", 100)
    assert "wrote 250 synthetic rows" in proc.stdout
    synthetic, real = read_csv(str(out)), read_csv(str(data))
    assert list(synthetic.columns) == list(real.columns) and len(synthetic) == 250
    assert (synthetic.dtypes == real.dtypes).all()
    assert not list(tmp_path.glob(".*partial"))


def test_sample_is_reproducible_with_a_seed_and_independent_of_batch_size(csv_and_model, tmp_path):
    _, model = csv_and_model
    run("sample", model, "-n", 120, "-o", tmp_path / "a.csv", "--seed", "3", "--batch-size", 120)
    run("sample", model, "-n", 120, "-o", tmp_path / "b.csv", "--seed", "3", "--batch-size", 50)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


@pytest.mark.parametrize("args, message", [
    (["fit", "missing.csv", "-o", "m"], "tabsyn fit: error: no such file: missing.csv"),
    (["sample", "missing.tabsyn", "-n", "5", "-o", "x.csv"], "tabsyn sample: error: no such model file: missing.tabsyn"),
])
def test_errors_print_one_line_and_exit_non_zero(args, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tabsyn", *args], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == message
    assert "Traceback" not in proc.stderr


def test_a_file_that_is_not_a_model_is_refused(tmp_path, csv_and_model):
    data, _ = csv_and_model
    proc = run("sample", data, "-n", 5, "-o", tmp_path / "x.csv", check=False)
    assert proc.returncode == 2 and "is not a tabsyn model file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_target_and_bad_n(csv_and_model, tmp_path):
    data, model = csv_and_model
    proc = run("fit", data, "-o", tmp_path / "m", "--target", "salary", check=False)
    assert proc.returncode == 2 and "--target 'salary' is not a column" in proc.stderr
    proc = run("sample", model, "-n", 0, "-o", tmp_path / "x.csv", check=False)
    assert proc.returncode == 2 and "-n must be a positive integer; got 0" in proc.stderr


def test_read_csv_keeps_integers_codes_and_dates(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,code,n,x,when,flag\n1,007,5,1.5,2024-01-02,True\n2,012,,2.5,2024-02-03,False\n")
    df = read_csv(str(path))
    assert df["id"].dtype == "int64"
    assert df["code"].tolist() == ["007", "012"]
    assert str(df["n"].dtype) == "Int64" and df["n"].isna().tolist() == [False, True]
    assert df["x"].dtype == "float64"
    assert pd.api.types.is_datetime64_any_dtype(df["when"])
    assert df["flag"].dtype == bool
