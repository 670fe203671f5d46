"""The sampling machinery: fixed-shape row blocks, noise streams, combining draws."""

import numpy as np
import pytest
import torch

from tabsyn.base import STREAM_BLOCK as NOISE_BLOCK
from tabsyn.base import position_noise
from tabsyn.tabular.sampling import RowBlocks, most_frequent, redraw_noise


@pytest.fixture()
def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(12, 300), torch.nn.SiLU(), torch.nn.Linear(300, 7)).eval()


@pytest.mark.parametrize("threads", [1, 2])
def test_a_row_comes_out_bit_identical_whatever_rows_it_is_computed_with(net, threads):
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.randn(600, 12)
        positions = np.arange(600) + 37
        with torch.no_grad():
            whole = RowBlocks(positions, size=256)(net, x)
            for step in (1, 7, 300):
                parts = torch.cat([RowBlocks(positions[i:i + step], size=256)(net, x[i:i + step])
                                   for i in range(0, 600, step)])
                assert torch.equal(parts, whole), step
            scattered = np.random.default_rng(0).permutation(600)[:40]
            assert torch.equal(RowBlocks(positions[scattered], size=256)(net, x[scattered]), whole[scattered])
            np.testing.assert_allclose(whole.numpy(), net(x).numpy(), rtol=1e-5, atol=1e-6)
    finally:
        torch.set_num_threads(previous)


def test_row_blocks_pad_with_the_given_values_and_keep_gradients():
    calls = []

    def fn(x, s):
        calls.append((x.shape, s[x[:, 0] == 0]))
        return x * s.reshape(-1, 1)

    x = torch.ones(5, 2, requires_grad=True)
    out = RowBlocks(np.array([0, 1, 2, 8, 9]), size=8)(fn, x, torch.full((5,), 3.0), fill=(0.0, 1.0))
    assert [c[0] for c in calls] == [(8, 2), (8, 2)]  # slots 0 and 1 are taken twice: two calls
    assert all((c[1] == 1.0).all() for c in calls)  # padding rows got the fill values
    out.sum().backward()
    assert torch.equal(x.grad, torch.full((5, 2), 3.0))


def test_position_noise_is_a_function_of_the_seed_and_position_alone():
    positions = np.arange(3 * NOISE_BLOCK + 17) + 5
    whole = position_noise(7, positions, 4)
    for step in (1, 100, NOISE_BLOCK + 3):
        parts = np.concatenate([position_noise(7, positions[i:i + step], 4) for i in range(0, len(positions), step)])
        np.testing.assert_array_equal(parts, whole)
    scattered = np.random.default_rng(0).permutation(len(positions))[:50]
    np.testing.assert_array_equal(position_noise(7, positions[scattered], 4), whole[scattered])
    assert not np.array_equal(position_noise(8, positions, 4), whole)  # another seed, other noise
    assert abs(whole.mean()) < 0.05 and abs(whole.std() - 1) < 0.05
    # Rows of one block are not copies of rows of another.
    assert abs(np.corrcoef(whole[:NOISE_BLOCK].ravel(), whole[NOISE_BLOCK:2 * NOISE_BLOCK].ravel())[0, 1]) < 0.1


def test_redrawn_noise_is_fresh_normal_and_a_function_of_the_row():
    noise = np.random.default_rng(0).standard_normal((2000, 6))
    a, b = redraw_noise(noise, 1), redraw_noise(noise[::-1], 1)[::-1]
    np.testing.assert_array_equal(a, b)  # row order does not matter
    assert not np.array_equal(redraw_noise(noise, 2), a)
    assert abs(a.mean()) < 0.05 and abs(a.std() - 1) < 0.05
    assert abs(np.corrcoef(a.ravel(), noise.ravel())[0, 1]) < 0.05


def test_most_frequent_takes_the_mode_per_row_and_the_smallest_code_on_ties():
    codes = np.array([[[2], [2], [1]], [[0], [3], [3]], [[4], [1], [9]]])
    np.testing.assert_array_equal(most_frequent(codes), [[2], [3], [1]])
