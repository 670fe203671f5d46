"""The privacy guard on the command line: a fallback is printed, --strict-guard fails instead."""

import os
import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run([sys.executable, "-m", "tabsyn", *map(str, args)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def three_categories(adult, tmp_path_factory):
    """Adult's race column alone, cut to its three commonest values: every possible row is a training row."""
    folder = tmp_path_factory.mktemp("guard")
    race = adult["race"]
    race[race.isin(race.value_counts().index[:3])].head(600).to_frame().to_csv(folder / "race.csv", index=False)
    proc = run("fit", folder / "race.csv", "-o", folder / "m.tabsyn", "--preset", "fast",
               "--vae-steps", "9", "--diffusion-steps", "15")
    assert proc.returncode == 0, proc.stderr
    return folder


def test_a_table_of_few_distinct_rows_is_sampled_and_the_fallback_printed(three_categories):
    proc = run("sample", three_categories / "m.tabsyn", "-n", "50", "-o", three_categories / "out.csv", "--seed", "0")
    assert proc.returncode == 0, proc.stderr
    assert "nothing" in proc.stdout and "privacy guard" in proc.stdout  # the fallback, on the command line
    assert len((three_categories / "out.csv").read_text().splitlines()) == 51


def test_strict_guard_fails_in_one_line_and_writes_nothing(three_categories):
    out = three_categories / "strict.csv"
    proc = run("sample", three_categories / "m.tabsyn", "-n", "50", "-o", out, "--seed", "0", "--strict-guard")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not out.exists()
