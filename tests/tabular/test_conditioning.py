"""Condition vectors for the denoiser and the random masks it is trained with."""

import torch

from tabsyn.diffusion.denoiser import MLPDenoiser
from tabsyn.diffusion.edm import EDMLoss, EDMPrecond
from tabsyn.tabular.conditioning import ConditionLayout


def test_vector_holds_known_values_one_hot_codes_and_known_flags():
    layout = ConditionLayout(2, [3, 2])
    x_num = torch.tensor([[0.5, -1.0], [2.0, 3.0]])
    x_cat = torch.tensor([[2, 1], [0, 0]])
    num_known = torch.tensor([[True, False], [False, False]])
    cat_known = torch.tensor([[True, False], [False, True]])
    v = layout.vector(x_num, x_cat, num_known, cat_known)
    assert layout.dim == v.shape[1] == 2 + 5 + 2 + 2
    assert v[0].tolist() == [0.5, 0.0, 0, 0, 1, 0, 0, 1, 0, 1, 0]
    assert v[1].tolist() == [0.0, 0.0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    nothing = torch.zeros(2, 2, dtype=torch.bool)
    assert not layout.vector(x_num, x_cat, nothing, nothing).any()  # nothing known: the zero vector


def test_random_masks_leave_the_unconditioned_share_empty_and_vary_the_rest():
    torch.manual_seed(0)
    layout = ConditionLayout(3, [4, 4, 2])
    num_known, cat_known = layout.random_known(20_000, 0.5, torch.device("cpu"))
    known = torch.cat([num_known, cat_known], dim=1)
    per_row = known.sum(1)
    assert 0.5 < (per_row == 0).float().mean() < 0.6  # the unconditioned half, plus rows that drew nothing
    assert (per_row == 6).any() and ((per_row > 0) & (per_row < 6)).any()
    assert abs(known[per_row > 0].float().mean() - 0.55) < 0.05  # about half the cells of a conditioned row


def test_a_denoiser_without_condition_is_the_one_given_the_zero_vector():
    torch.manual_seed(0)
    net = EDMPrecond(MLPDenoiser(8, 32, d_cond=5))
    x, sigma = torch.randn(6, 8), torch.rand(6) + 0.1
    assert torch.allclose(net(x, sigma), net(x, sigma, torch.zeros(6, 5)))
    assert not torch.allclose(net(x, sigma), net(x, sigma, torch.ones(6, 5)))
    loss = EDMLoss()(net, x, cond=torch.ones(6, 5)).mean()
    loss.backward()
    assert net.net.cond_proj.weight.grad.abs().sum() > 0  # the condition is trained
