"""The sampling machinery: fixed-shape row blocks, noise streams, combining draws."""

import numpy as np
import pytest
import torch

from tabsyn.tabular.sampling import NoiseCursor, RowBlocks, _most_frequent, _redraw_noise


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


def test_noise_cursor_gives_each_row_its_own_stream_rows():
    whole = np.random.default_rng(3).standard_normal((10 * 2, 4))
    cursor = NoiseCursor(np.random.default_rng(3), draws=2, dim=4)
    got = np.concatenate([cursor.rows(np.array([1, 4])), cursor.rows(np.array([5, 9]))])
    expected = np.concatenate([whole[2 * r:2 * r + 2] for r in (1, 4, 5, 9)])
    np.testing.assert_array_equal(got, expected)


def test_redrawn_noise_is_fresh_normal_and_a_function_of_the_row():
    noise = np.random.default_rng(0).standard_normal((2000, 6))
    a, b = _redraw_noise(noise, 1), _redraw_noise(noise[::-1], 1)[::-1]
    np.testing.assert_array_equal(a, b)  # row order does not matter
    assert not np.array_equal(_redraw_noise(noise, 2), a)
    assert abs(a.mean()) < 0.05 and abs(a.std() - 1) < 0.05
    assert abs(np.corrcoef(a.ravel(), noise.ravel())[0, 1]) < 0.05


def test_most_frequent_takes_the_mode_per_row_and_the_smallest_code_on_ties():
    codes = np.array([[[2], [2], [1]], [[0], [3], [3]], [[4], [1], [9]]])
    np.testing.assert_array_equal(_most_frequent(codes), [[2], [3], [1]])
