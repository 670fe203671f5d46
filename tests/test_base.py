import re

import numpy as np
import pytest
import torch

from tabsyn import persistence
from tabsyn.base import (
    SampleStream,
    position_seeds,
    batches,
    check_bool,
    check_guidance_scale,
    check_n,
    check_non_negative,
    check_random_state,
    load_device,
    resolve_device,
    seeded_torch,
)


def test_auto_device_is_cuda_only_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_says_so():
    with pytest.raises(ValueError, match="device='cuda' was asked for but CUDA is not available"):
        resolve_device("cuda")


def test_unknown_device_lists_the_accepted_values():
    with pytest.raises(ValueError,
                       match=r"device must be one of \('auto', 'cpu', 'cuda', 'cuda:N', 'mps'\); got 'gpu'"):
        resolve_device("gpu")


def test_random_state_forms():
    assert check_random_state(3).integers(1000) == np.random.default_rng(3).integers(1000)
    g = np.random.default_rng(0)
    assert check_random_state(g) is g
    with pytest.raises(ValueError, match="non-negative integer; got -1"):
        check_random_state(-1)
    with pytest.raises(TypeError, match="got 1.5"):
        check_random_state(1.5)


def test_check_n_accepts_whole_floats_only():
    assert check_n(3.0) == 3
    with pytest.raises(TypeError, match="got True"):
        check_n(True)


# -- argument checks shared by both estimators ---------------------------------------------------
def test_check_bool_accepts_true_false_and_numpy_bools_only():
    assert check_bool(True, "verbose") is True and check_bool(np.bool_(False), "verbose") is False
    for bad in (1, 0, "yes", None):
        with pytest.raises(TypeError, match=rf"verbose must be True or False; got {bad!r}"):
            check_bool(bad, "verbose")


@pytest.mark.parametrize("value", [0, 1, 2.5, np.float32(1.5), np.int64(3)])
def test_check_guidance_scale_accepts_finite_numbers_from_zero(value):
    out = check_guidance_scale(value)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [-1, -0.1, float("nan"), float("inf"), True, "2", None])
def test_check_guidance_scale_names_argument_value_and_accepted_range(value):
    with pytest.raises(ValueError, match=rf"^cfg must be a number >= 0 \(1 = the plain conditional, default 1.5\); "
                                         rf"got {re.escape(repr(value))}$"):
        check_guidance_scale(value, "cfg", default=1.5)
    with pytest.raises(ValueError, match=r"^guidance_scale must be a number >= 0 \(1 = the plain conditional\); got"):
        check_guidance_scale(value)


def test_check_non_negative_for_numbers_and_integers():
    assert check_non_negative(0, "eta") == 0 and check_non_negative(0.5, "eta") == 0.5
    assert check_non_negative(None, "warmup_steps", integer=True, allow_none=True) is None
    with pytest.raises(ValueError, match="eta must be a number >= 0; got -0.5"):
        check_non_negative(-0.5, "eta")
    with pytest.raises(ValueError, match="warmup_steps must be a non-negative integer or None; got 2.0"):
        check_non_negative(2.0, "warmup_steps", integer=True, allow_none=True)
    with pytest.raises(ValueError, match="eta must be a number >= 0; got False"):
        check_non_negative(False, "eta")


# -- devices -----------------------------------------------------------------------------------------
def test_load_device_keeps_a_device_this_machine_has():
    assert load_device("cpu") == torch.device("cpu")
    assert load_device(torch.device("cpu")) == torch.device("cpu")
    assert load_device("auto") == resolve_device("auto")


@pytest.mark.parametrize("stored", ["cuda", "cuda:3", "mps"])
def test_load_device_falls_back_to_the_cpu_without_an_error(stored, monkeypatch):
    # As if the model was fitted on a GPU and loaded on a machine without one.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="not available"):
        resolve_device(stored)
    assert load_device(stored) == torch.device("cpu")


def test_load_device_still_refuses_what_is_no_device():
    with pytest.raises(ValueError, match=r"device must be one of .*; got 'tpu'"):
        load_device("tpu")
    with pytest.raises(TypeError, match="device must be a string"):
        load_device(3)


def test_seeded_torch_is_reproducible_and_restores_the_callers_state():
    torch.manual_seed(123)
    expected_after = torch.rand(3)
    torch.manual_seed(123)
    with seeded_torch(np.random.default_rng(0), torch.device("cpu")):
        a = torch.rand(3)
    assert torch.equal(torch.rand(3), expected_after)  # the block did not move the caller's stream
    with seeded_torch(np.random.default_rng(0), torch.device("cpu")):
        assert torch.equal(torch.rand(3), a)


# -- sampling stream and batches ------------------------------------------------------------------
def test_sample_stream_advances_by_the_rows_taken():
    stream = SampleStream(seed=5)
    assert stream.take(10) == (5, 0) and stream.position == 10
    assert stream.take(3) == (5, 10) and stream.position == 13


def test_sample_stream_with_a_seed_leaves_the_stream_alone():
    stream = SampleStream(seed=5, position=7)
    seed, base = stream.take(4, random_state=3)
    assert base == 0 and seed == SampleStream(0).take(1, random_state=3)[0] != 5
    assert stream.position == 7 and stream.seed == 5
    with pytest.raises(ValueError, match="random_state must be a non-negative integer; got -1"):
        stream.take(4, random_state=-1)


def test_sample_stream_round_trips_through_plain_data():
    stream = SampleStream.seeded_from(np.random.default_rng(0))
    stream.take(6)
    state = stream.to_state()
    assert set(state) == {"stream_seed", "stream_position"} and state["stream_position"] == 6
    copy = SampleStream.from_state(persistence.decode(persistence.encode({**state, "other": 1})))
    assert (copy.seed, copy.position) == (stream.seed, 6) and copy.take(2) == (stream.seed, 6)


def test_seeded_from_depends_on_the_fit_generator_only():
    a = SampleStream.seeded_from(np.random.default_rng(1)).seed
    assert a == SampleStream.seeded_from(np.random.default_rng(1)).seed
    assert a != SampleStream.seeded_from(np.random.default_rng(2)).seed


def test_position_seeds_depend_on_the_seed_and_position_alone():
    positions = np.arange(1300)
    whole = position_seeds(3, positions)
    parts = np.concatenate([position_seeds(3, positions[i:i + 77]) for i in range(0, 1300, 77)])
    np.testing.assert_array_equal(parts, whole)
    np.testing.assert_array_equal(position_seeds(3, positions[[1299, 4, 600]]), whole[[1299, 4, 600]])
    assert len(np.unique(whole)) == 1300 and whole.min() >= 0
    assert not np.array_equal(position_seeds(4, positions), whole)
    assert position_seeds(3, np.zeros(0, np.int64)).shape == (0,)


@pytest.mark.parametrize("n, size, expected", [
    (10, 4, [(0, 4), (4, 4), (8, 2)]),
    (8, 4, [(0, 4), (4, 4)]),
    (3, 100, [(0, 3)]),
    (1, 1, [(0, 1)]),
    (0, 5, []),
])
def test_batches_cover_the_range_once_in_order(n, size, expected):
    assert list(batches(n, size)) == expected
