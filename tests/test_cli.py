"""The real commands, run in a subprocess on a slice of Adult."""

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pandas as pd
import pytest

from tabsyn.cli import CLIError, main, read_csv, write_csv_atomic

FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)", "=cmd|' /C calc'!A0"]


def run(*args, check=True, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "tabsyn", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"tabsyn {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def _default_signals():
    # A job started in the background (`cmd &`) inherits SIGINT ignored, and tabsyn keeps a signal its
    # caller ignores; the signal tests need the foreground's default, whatever runs the suite.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "tabsyn", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)


def partial_files(folder):
    return sorted(folder.glob(".*partial"))


@pytest.fixture(scope="module")
def csv_and_model(adult_small, tmp_path_factory):
    """A tiny model of 600 Adult rows whose CSV has a header with spaces (' native country ')
    and formula-like text cells (in 'occupation'), fitted into folders that do not exist yet."""
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "adult.csv"
    table = adult_small.head(600).rename(columns={"native-country": " native country "})
    rows = table.index[table.index % 6 == 0]
    table.loc[rows, "occupation"] = [FORMULAS[i % len(FORMULAS)] for i in range(len(rows))]
    table.to_csv(data, index=False)
    model = folder / "new" / "folders" / "model.tabsyn"
    run("fit", data, "-o", model, "--preset", "fast", "--vae-steps", "40", "--diffusion-steps", "60", "--seed", "0",
        "--quiet")
    return data, model


def test_fit_creates_the_missing_folders_of_its_output(csv_and_model):
    _, model = csv_and_model
    assert model.is_file() and not partial_files(model.parent)


def test_fit_prints_a_long_fit_s_estimate_as_one_line_with_the_options_that_make_it_quicker(
        adult_small, tmp_path, monkeypatch, capsys):
    from tabsyn.tabular import estimate

    monkeypatch.setattr(estimate, "LONG_FIT_SECONDS", 0.0)  # every fit is long
    adult_small.head(300).to_csv(tmp_path / "a.csv", index=False)
    assert main(["fit", str(tmp_path / "a.csv"), "-o", str(tmp_path / "m.tabsyn"), "--vae-steps", "5",
                 "--diffusion-steps", "5", "--quiet"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning" in line.lower()]
    assert len(lines) == 1 and lines[0].startswith("tabsyn fit: warning: this fit is estimated to take about ")
    assert "for 300 rows x 15 columns" in lines[0]
    assert lines[0].endswith("for a quicker one: --preset fast, --time-budget SECONDS, or fewer --vae-steps / "
                             "--diffusion-steps")


def test_fit_then_sample_writes_a_csv_with_the_same_header(csv_and_model, tmp_path):
    data, model = csv_and_model
    out = tmp_path / "synthetic.csv"
    proc = run("sample", model, "-n", 250, "-o", out, "--seed", "1", "--batch-size", 100)
    assert "wrote 250 synthetic rows" in proc.stdout
    synthetic, real = read_csv(str(out)), read_csv(str(data))
    assert list(synthetic.columns) == list(real.columns) and len(synthetic) == 250
    assert (synthetic.dtypes == real.dtypes).all()
    assert out.read_text().splitlines()[0] == data.read_text().splitlines()[0]  # header as written
    assert not partial_files(tmp_path)


def test_sample_is_reproducible_with_a_seed_and_independent_of_batch_size(csv_and_model, tmp_path):
    _, model = csv_and_model
    run("sample", model, "-n", 120, "-o", tmp_path / "a.csv", "--seed", "3", "--batch-size", 120)
    run("sample", model, "-n", 120, "-o", tmp_path / "b.csv", "--seed", "3", "--batch-size", 50)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


@pytest.mark.parametrize("args, message", [
    (["fit", "missing.csv", "-o", "m"], "tabsyn fit: error: no such file: missing.csv"),
    (["sample", "missing.tabsyn", "-n", "5", "-o", "x.csv"],
     "tabsyn sample: error: no such model file: missing.tabsyn"),
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


def test_sample_guards_privacy_by_default_and_says_what_it_replaced(csv_and_model, tmp_path):
    data, model = csv_and_model
    proc = run("sample", model, "-n", 200, "-o", tmp_path / "g.csv", "--seed", "1")
    assert "privacy guard: replaced " in proc.stdout and "of 200 rows" in proc.stdout
    real, synthetic = read_csv(str(data)), read_csv(str(tmp_path / "g.csv"))
    assert synthetic.merge(real.drop_duplicates(), how="inner").empty  # no row copies a training row
    proc = run("sample", model, "-n", 50, "-o", tmp_path / "n.csv", "--no-privacy-guard", "--seed", "1")
    assert "privacy guard" not in proc.stdout


def test_sample_with_conditions_and_known_rows(csv_and_model, tmp_path):
    data, model = csv_and_model
    run("sample", model, "-n", 60, "-o", tmp_path / "c.csv", "--condition", "sex=Female",
        "--condition", "age=40", "--condition", "income=>50K", "--seed", "2")
    out = read_csv(str(tmp_path / "c.csv"))
    assert (out["sex"] == "Female").all() and (out["age"] == 40).all() and (out["income"] == ">50K").all()
    known = read_csv(str(data))[["age", "sex"]].head(30)
    known.to_csv(tmp_path / "known.csv", index=False)
    run("sample", model, "--known", tmp_path / "known.csv", "-o", tmp_path / "k.csv", "--seed", "2")
    out = read_csv(str(tmp_path / "k.csv"))
    assert len(out) == 30 and out[["age", "sex"]].equals(known)


def test_impute_fills_the_empty_cells_of_a_csv(csv_and_model, tmp_path):
    data, model = csv_and_model
    real = read_csv(str(data)).head(80)
    holes = real.astype({"age": "Int64"})
    holes.loc[real.index % 5 == 0, "age"] = pd.NA
    holes.loc[real.index % 7 == 0, "sex"] = None
    holes.to_csv(tmp_path / "holes.csv", index=False)
    proc = run("impute", model, tmp_path / "holes.csv", "-o", tmp_path / "filled.csv", "--draws", "3", "--seed", "0")
    assert "filled" in proc.stdout
    filled = read_csv(str(tmp_path / "filled.csv"))
    assert filled["age"].notna().all() and filled["sex"].notna().all() and len(filled) == 80
    keep = holes["age"].notna()
    assert (filled.loc[keep, "age"] == real.loc[keep, "age"]).all()


def test_evaluate_writes_a_report_and_scores(csv_and_model, tmp_path):
    import json

    data, model = csv_and_model
    real = read_csv(str(data))
    real.iloc[:400].to_csv(tmp_path / "train.csv", index=False)
    real.iloc[400:].to_csv(tmp_path / "holdout.csv", index=False)
    run("sample", model, "-n", 300, "-o", tmp_path / "s.csv", "--seed", "0")
    reports = tmp_path / "not" / "yet"   # missing folders are created
    proc = run("evaluate", tmp_path / "train.csv", tmp_path / "s.csv", "--holdout", tmp_path / "holdout.csv",
               "--target", "income", "--report", reports / "r.html", "--json", reports / "r.json")
    assert "quality" in proc.stdout and "0.5 = indistinguishable" in proc.stdout  # scores with what is good
    for part in ("fidelity", "detection", "efficacy", "privacy"):  # progress on stderr, part by part
        assert f"evaluate: {part} (" in proc.stderr and f"evaluate: {part} done in " in proc.stderr
    quiet = run("evaluate", tmp_path / "train.csv", tmp_path / "s.csv", "--quiet")
    assert "evaluate:" not in quiet.stderr and "quality" in quiet.stdout
    scores = json.loads((reports / "r.json").read_text())
    assert 0 < scores["fidelity"]["quality_score"] <= 1 and "dcr_share" in scores["privacy"]
    assert (reports / "r.html").read_text().lstrip().lower().startswith("<!doctype html>")
    assert not partial_files(reports)


@pytest.mark.parametrize("args, message", [
    (["--condition", "sexx=1"], "tabsyn sample: error: --condition 'sexx=1': no column named 'sexx'; the columns are"),
    (["--condition", "sex=F"],
     "tabsyn sample: error: column 'sex': 'F' never seen in training; accepted: 'Female', 'Male'"),
    (["--condition", "age=old"],
     "tabsyn sample: error: --condition 'age=old': column 'age' is numerical; 'old' is not a number"),
    (["--condition", "sex"], "tabsyn sample: error: --condition takes COLUMN=VALUE; got 'sex'"),
    (["--privacy-quantile", "1.5"],
     "tabsyn sample: error: privacy_guard must be False, True (quantile 0.01) or a quantile"),
])
def test_sample_errors_are_one_line(csv_and_model, tmp_path, args, message):
    _, model = csv_and_model
    proc = run("sample", model, "-n", 5, "-o", tmp_path / "x.csv", *args, check=False)
    assert proc.returncode == 2 and proc.stderr.startswith(message), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.csv").exists()


def test_sample_needs_n_or_known_and_impute_needs_every_column(csv_and_model, tmp_path):
    data, model = csv_and_model
    proc = run("sample", model, "-o", tmp_path / "x.csv", check=False)
    assert proc.returncode == 2 and "give either -n N (rows to sample) or --known known.csv" in proc.stderr
    read_csv(str(data)).drop(columns="income").head(5).to_csv(tmp_path / "partial.csv", index=False)
    proc = run("impute", model, tmp_path / "partial.csv", "-o", tmp_path / "f.csv", check=False)
    assert proc.returncode == 2 and "df: columns ['income'] are missing; pass every column" in proc.stderr


# -- item 1: concurrent writers ---------------------------------------------------------
def test_two_samplers_writing_one_output_each_write_a_whole_file(csv_and_model, tmp_path):
    data, model = csv_and_model
    out = tmp_path / "conc" / "out.csv"
    procs = [start("sample", model, "-n", 3000, "--batch-size", 100, "--seed", seed, "--no-privacy-guard", "-o", out)
             for seed in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    with open(out, newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert header == next(csv.reader(open(data, newline="")))
    assert len(rows) == 3000 and {len(row) for row in rows} == {len(header)}
    assert len(read_csv(str(out))) == 3000
    assert not partial_files(out.parent)


# -- item 2: outputs checked before the work ----------------------------------------------
def _one_line_error(proc, command):
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"tabsyn {command}: error: cannot write ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_an_output_under_a_file_is_refused_before_any_work(csv_and_model, tmp_path):
    data, model = csv_and_model
    blocker = tmp_path / "somefile"
    blocker.write_text("not a folder")
    read_csv(str(data)).head(20).to_csv(tmp_path / "holes.csv", index=False)
    huge = 10**8   # steps or rows that would run for hours: the check must come first
    commands = {
        "fit": ["fit", data, "-o", blocker / "x.tabsyn", "--vae-steps", huge, "--diffusion-steps", huge, "--quiet"],
        "sample": ["sample", model, "-n", huge, "-o", blocker / "sub" / "x.csv"],
        "impute": ["impute", model, tmp_path / "holes.csv", "-o", blocker / "x.csv", "--draws", huge],
        "evaluate": ["evaluate", data, data, "--json", tmp_path / "ok.json", "--report", blocker / "r.html"],
    }
    for command, args in commands.items():
        proc = run(*args, check=False, timeout=300)
        _one_line_error(proc, command)
        assert f"{blocker} is a file, not a folder" in proc.stderr
        assert proc.stdout == ""
    assert blocker.read_text() == "not a folder" and not (tmp_path / "ok.json").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_output_in_a_read_only_folder_is_refused_before_fitting(csv_and_model, tmp_path):
    data, _ = csv_and_model
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        proc = run("fit", data, "-o", locked / "m.tabsyn", "--vae-steps", 10**8, "--quiet", check=False, timeout=300)
        _one_line_error(proc, "fit")
        assert f"the folder {locked} is not writable" in proc.stderr
        proc = run("fit", data, "-o", locked / "sub" / "m.tabsyn", "--quiet", check=False, timeout=300)
        _one_line_error(proc, "fit")
        assert "cannot create the folder" in proc.stderr
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_a_folder_as_output_is_refused(csv_and_model, tmp_path):
    _, model = csv_and_model
    proc = run("sample", model, "-n", 5, "-o", tmp_path, check=False)
    _one_line_error(proc, "sample")
    assert "it is a folder; give a file name inside it" in proc.stderr


# -- item 5: headers as written -------------------------------------------------------
def test_read_csv_refuses_duplicate_headers_and_names_them(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,a,b,c,b\n1,2,3,4,5\n")
    with pytest.raises(CLIError, match=r"duplicate column names in the header: 'a' in columns \[1, 2\]; "
                                       r"'b' in columns \[3, 5\]; give every column its own name"):
        read_csv(str(path))


def test_read_csv_keeps_headers_exactly_as_written(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text('\ufeff id, two words ,,"quoted, comma"\n1,x,2,3\n2,y,3,4\n')
    df = read_csv(str(path))
    assert list(df.columns) == [" id", " two words ", "", "quoted, comma"]   # BOM dropped, nothing else
    assert df[" two words "].tolist() == ["x", "y"] and df[""].tolist() == [2, 3]


def test_read_csv_refuses_rows_longer_than_the_header(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b\n1,2,3\n4,5,6\n")   # pandas would silently make column 'a' the index
    with pytest.raises(CLIError, match="cannot read .* as CSV: .*Expected 2 fields in line 2, saw 3"):
        read_csv(str(path))


def test_fit_refuses_a_duplicate_header_in_one_line(tmp_path):
    (tmp_path / "d.csv").write_text("x,x,y\n" + "1,2,3\n" * 30)
    proc = run("fit", tmp_path / "d.csv", "-o", tmp_path / "m.tabsyn", check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "duplicate column names in the header: 'x' in columns [1, 2]" in proc.stderr
    assert not (tmp_path / "m.tabsyn").exists()


# -- item 6: formula cells --------------------------------------------------------------
def test_write_csv_escapes_formula_text_but_never_numbers(tmp_path):
    frame = pd.DataFrame({
        "text": ["=1+1", "ok", "-3", None, "@SUM(A1)", "\tx"],
        "number": [-1.5, 2, 3, 4, 5, -6],
        "cat": pd.Categorical(["+a", "b", "b", "b", "\rz", "b"]),
    })
    counts = Counter()
    write_csv_atomic([frame], str(tmp_path / "e.csv"), escape_formulas=True, counts=counts)
    assert counts == {"text": 4, "cat": 2}
    back = pd.read_csv(tmp_path / "e.csv", keep_default_na=False)
    assert back["text"].tolist() == ["'=1+1", "ok", "'-3", "", "'@SUM(A1)", "'\tx"]
    assert back["number"].tolist() == [-1.5, 2, 3, 4, 5, -6]
    assert back["cat"].tolist() == ["'+a", "b", "b", "b", "'\rz", "b"]
    counts = Counter()
    write_csv_atomic([frame], str(tmp_path / "raw.csv"), counts=counts)
    assert counts == {"text": 4, "cat": 2}
    raw = read_csv(str(tmp_path / "raw.csv"))
    assert raw["text"][0] == "=1+1" and raw["cat"].tolist() == ["+a", "b", "b", "b", "\rz", "b"]  # a CR is quoted


def test_sample_warns_about_formula_cells_and_escapes_them_when_asked(csv_and_model, tmp_path):
    _, model = csv_and_model
    proc = run("sample", model, "-n", 300, "-o", tmp_path / "raw.csv", "--seed", "1", "--no-privacy-guard")
    raw = read_csv(str(tmp_path / "raw.csv"))
    formula = raw["occupation"].str.startswith(("=", "+", "-", "@"), na=False)
    assert formula.sum() > 0
    warning = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert warning == [f"tabsyn sample: warning: {formula.sum()} cells of {tmp_path / 'raw.csv'} in columns "
                       f"['occupation'] start with =, +, -, @, tab or CR and may run as formulas in a spreadsheet; "
                       f"--escape-formulas writes them with a leading '"]
    proc = run("sample", model, "-n", 300, "-o", tmp_path / "esc.csv", "--seed", "1", "--no-privacy-guard",
               "--escape-formulas")
    assert "warning" not in proc.stderr
    assert f"escaped {formula.sum()} formula-like cells in columns ['occupation']" in proc.stdout
    escaped = read_csv(str(tmp_path / "esc.csv"))
    assert (escaped.loc[formula, "occupation"] == "'" + raw.loc[formula, "occupation"]).all()
    assert escaped.drop(columns="occupation").equals(raw.drop(columns="occupation"))


def test_impute_escapes_formula_cells_too(csv_and_model, tmp_path):
    data, model = csv_and_model
    holes = read_csv(str(data)).head(40)
    holes.loc[::4, "age"] = None
    holes.to_csv(tmp_path / "holes.csv", index=False)
    proc = run("impute", model, tmp_path / "holes.csv", "-o", tmp_path / "f.csv", "--draws", 1, "--escape-formulas")
    filled = read_csv(str(tmp_path / "f.csv"))
    assert "formula-like cells in columns ['occupation']" in proc.stdout
    assert not filled["occupation"].str.startswith(("=", "+", "-", "@"), na=False).any()


# -- item 7: signals ----------------------------------------------------------------------
@pytest.mark.parametrize("signum, code, name",
                         [(signal.SIGINT, 130, "SIGINT (Ctrl-C)"), (signal.SIGTERM, 143, "SIGTERM")])
@pytest.mark.parametrize("existing", [False, True])
def test_a_signal_mid_write_leaves_no_partial_file_and_the_output_untouched(csv_and_model, tmp_path, signum, code,
                                                                            name, existing):
    _, model = csv_and_model
    out = tmp_path / "out.csv"
    if existing:
        out.write_text("an earlier output\n")
    proc = start("sample", model, "-n", 10**7, "--batch-size", 50, "--no-privacy-guard", "-o", out)
    deadline = time.monotonic() + 300
    while not any(p.stat().st_size > 0 for p in partial_files(tmp_path)):   # rows are being written
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.05)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert stderr == f"tabsyn sample: stopped by {name}; nothing written to {out}\n"
    assert not partial_files(tmp_path)
    assert (out.read_text() == "an earlier output\n") if existing else not out.exists()


def test_help_says_what_happens_to_files(capsys):
    for command in ("sample", "fit"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "Missing folders in an output path are created" in text and "SIGKILL" in text
        assert ".NAME.XXXXXXXX.partial" in text


# -- item 13: schema messages speak CSV on the command line ---------------------------------
def test_an_empty_column_gets_csv_advice_not_pandas_advice(csv_and_model, tmp_path):
    data, _ = csv_and_model
    table = read_csv(str(data)).head(50)
    table["empty"] = None
    table.to_csv(tmp_path / "e.csv", index=False)
    proc = run("fit", tmp_path / "e.csv", "-o", tmp_path / "m.tabsyn", "--quiet", check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "column 'empty' has no values (all 50 are missing): remove that column from the CSV" in proc.stderr
    assert "df" not in proc.stderr and "Traceback" not in proc.stderr
