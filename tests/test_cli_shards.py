"""`tabsyn sample --shard K/N` and torchrun ranks: the shards in order are one process's sample, to the bit."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from tabsyn.cli import CLIError, main, parse_shard, read_csv, shard_path, shard_rows

N_ROWS, SHARDS = 100, 3   # 100 is not divisible by 3: shards of 33, 33 and 34 rows


def run(*args, env=None, module=("-m", "tabsyn")):
    proc = subprocess.run([sys.executable, *module, *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def model(adult_small, tiny_settings, tmp_path_factory):
    """A tiny model of 300 Adult rows, saved as a model file."""
    from tabsyn import TabSynthesizer

    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(adult_small.head(300))
    path = tmp_path_factory.mktemp("shards") / "model.tabsyn"
    synth.save(path)
    return synth, path


def body(path):
    """A CSV's bytes after its header line."""
    return path.read_bytes().split(b"\n", 1)[1]


def test_shards_in_order_are_the_single_process_sample_bit_for_bit(model, tmp_path):
    _, path = model
    whole = tmp_path / "whole.csv"
    run("sample", path, "-n", N_ROWS, "-o", whole, "--seed", 5, "--batch-size", 40)
    for k in range(SHARDS):   # another batch size: rows depend on the seed and their position only
        proc = run("sample", path, "-n", N_ROWS, "-o", f"{tmp_path}/parts/", "--shard", f"{k}/{SHARDS}",
                   "--seed", 5, "--batch-size", 16)
        first, last = shard_rows(N_ROWS, k, SHARDS)
        assert f"wrote {last - first} synthetic rows (rows {first}..{last - 1} of {N_ROWS}, shard {k}/3)" in proc.stdout
    parts = [tmp_path / "parts" / f"part-0000{k}.csv" for k in range(SHARDS)]
    assert sorted((tmp_path / "parts").iterdir()) == parts   # no partial files, nothing else
    assert [len(read_csv(str(p))) for p in parts] == [33, 33, 34]
    assert all(p.read_text().splitlines()[0] == whole.read_text().splitlines()[0] for p in parts)
    assert b"".join(body(p) for p in parts) == body(whole)
    union = pd.concat([read_csv(str(p)) for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(union, read_csv(str(whole)))


def test_the_api_samples_a_range_of_stream_positions(model):
    synth, _ = model
    whole = synth.sample(N_ROWS, random_state=5, batch_size=40, privacy_guard=True)
    parts = [synth.sample(last - first, random_state=5, start=first, batch_size=16, privacy_guard=True)
             for first, last in (shard_rows(N_ROWS, k, SHARDS) for k in range(SHARDS))]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    batches = list(synth.sample_batches(34, random_state=5, start=66, batch_size=10))
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole.iloc[66:].reset_index(drop=True))
    with pytest.raises(ValueError, match="start=3 needs random_state"):
        synth.sample(5, start=3)
    with pytest.raises(ValueError, match="start must be a non-negative integer; got -1"):
        synth.sample(5, random_state=5, start=-1)


def test_under_torchrun_each_rank_writes_its_own_shard(model, tmp_path):
    _, path = model
    run("-m", "tabsyn", "sample", path, "-n", 11, "-o", f"{tmp_path}/ranks/", "--format", "parquet", "--seed", 5,
        module=("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"))
    run("sample", path, "-n", 11, "-o", tmp_path / "whole.parquet", "--seed", 5)
    parts = sorted((tmp_path / "ranks").iterdir())
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    union = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(union, pd.read_parquet(tmp_path / "whole.parquet"))


def test_a_file_name_gets_one_name_per_shard_and_an_empty_shard_keeps_the_columns(model, tmp_path):
    _, path = model
    run("sample", path, "-n", 2, "-o", tmp_path / "s.parquet", "--seed", 5, env={"RANK": "2", "WORLD_SIZE": "4"})
    empty = pd.read_parquet(tmp_path / "s.part-00002-of-00004.parquet")   # rows [1, 1): none
    assert len(empty) == 0 and not (tmp_path / "s.parquet").exists()
    run("sample", path, "-n", 2, "-o", tmp_path / "t.parquet", "--seed", 5)
    assert (empty.dtypes == pd.read_parquet(tmp_path / "t.parquet").dtypes).all()


def test_shard_names_rows_and_parsing():
    assert [shard_rows(10, k, 3) for k in range(3)] == [(0, 3), (3, 6), (6, 10)]
    for n in (1, 2, 7, 10**8 + 1):
        spans = [shard_rows(n, k, 7) for k in range(7)]
        assert spans[0][0] == 0 and spans[-1][1] == n and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert shard_path("out/", "csv", 3, 12) == os.path.join("out", "part-00003.csv")
    assert shard_path("out.csv", "csv", 3, 12) == "out.part-00003-of-00012.csv"
    assert shard_path("d/out.parquet", "parquet", 0, 1) == "d/out.parquet"
    assert shard_path("out/", "parquet", 7, 200_000) == os.path.join("out", "part-000007.parquet")
    assert parse_shard("1/3") == (1, 3, "--shard 1/3")
    assert parse_shard(None, {"RANK": "1", "WORLD_SIZE": "2"})[:2] == (1, 2)
    assert parse_shard(None, {})[:2] == (0, 1)
    assert parse_shard("0/2", {"RANK": "1", "WORLD_SIZE": "2"})[:2] == (0, 2)   # --shard wins
    for bad in ("3/3", "-1/3", "1/0", "1", "a/b", "1/3/4"):
        with pytest.raises(CLIError, match=f"--shard takes K/N, shard K of N counted from 0 .*got '{bad}'"):
            parse_shard(bad)
    with pytest.raises(CLIError, match="RANK='2' and WORLD_SIZE='2' \\(set by torchrun\\)"):
        parse_shard(None, {"RANK": "2", "WORLD_SIZE": "2"})


@pytest.mark.parametrize("args, message", [
    (["--shard", "1/3"], "--shard 1/3 needs --seed: every shard must draw from the same stream"),
    (["--shard", "3/3", "--seed", "1"], "--shard takes K/N, shard K of N counted from 0 (0 <= K < N"),
    (["--known", "k.csv", "--shard", "0/2"], "--known completes the rows of one file in one process"),
    (["--format", "parquet"], "--format parquet does not match -o OUT.csv; name it OUT.parquet"),
])
def test_shard_errors_are_one_line_before_any_work(args, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    known = [] if "--known" in args else ["-n", "10"]
    assert main(["sample", "no-model.tabsyn", *known, "-o", "OUT.csv", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tabsyn sample: error: {message}") and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_torchrun_without_a_seed_and_a_folder_without_a_slash_are_refused(model, capsys, monkeypatch, tmp_path):
    _, path = model
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["sample", str(path), "-n", "10", "-o", str(tmp_path / "x.csv")]) == 2
    assert "torchrun's RANK=0 of WORLD_SIZE=2 needs --seed" in capsys.readouterr().err
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert main(["sample", str(path), "-n", "10", "-o", str(tmp_path)]) == 2
    assert "it is a folder; give a file name inside it, or end it with / to write part-00000.csv files" \
        in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
