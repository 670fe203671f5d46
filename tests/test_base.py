import numpy as np
import pytest
import torch

from tabsyn.base import check_n, check_random_state, resolve_device


def test_auto_device_is_cuda_only_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_says_so():
    with pytest.raises(ValueError, match="device='cuda' was asked for but CUDA is not available"):
        resolve_device("cuda")


def test_unknown_device_lists_the_accepted_values():
    with pytest.raises(ValueError, match=r"device must be one of \('auto', 'cpu', 'cuda', 'cuda:N', 'mps'\); got 'gpu'"):
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
