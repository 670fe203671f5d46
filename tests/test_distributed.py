"""Data-parallel fit under torchrun (2 gloo processes on the CPU): identical weights, one writer, a sampling model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tabsyn

HERE = Path(__file__).resolve().parent


def torchrun(*args, nproc=2):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def table(adult_small, tmp_path_factory):
    path = tmp_path_factory.mktemp("ddp") / "adult.csv"
    adult_small.head(800).to_csv(path, index=False)
    return path


def test_both_ranks_end_with_identical_weights(table, tmp_path):
    torchrun(HERE / "_ddp_fit.py", table, tmp_path)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["weights"] == ranks[1]["weights"]  # DDP kept every weight in step, to the bit
    assert ranks[0]["val_loss"] == ranks[1]["val_loss"] and ranks[0]["steps"] == ranks[1]["steps"]


def test_tabsyn_fit_under_torchrun_writes_one_model_from_rank_0(table, tmp_path):
    model = tmp_path / "out" / "m.tabsyn"
    proc = torchrun("-m", "tabsyn", "fit", table, "-o", model, "--preset", "fast", "--vae-steps", "30",
                    "--diffusion-steps", "40", "--seed", "0", "--device", "cpu", "--quiet")
    assert proc.stdout.count("model written to") == 1 and "on 2 ranks" in proc.stdout
    assert sorted(p.name for p in model.parent.iterdir()) == ["m.tabsyn"]  # no second writer, no leftovers
    synth = tabsyn.load(model)
    out = synth.sample(50, random_state=0)
    assert out.shape == (50, 15)


def test_one_process_without_torchrun_is_unchanged(table, tmp_path):
    """The same script without torchrun: one rank, the whole batch."""
    proc = subprocess.run([sys.executable, HERE / "_ddp_fit.py", table, tmp_path], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "rank0.json").read_text())
    assert record["world"] == 1
