"""Shared test helpers."""

import torch


def randomise(net: torch.nn.Module, seed: int = 0, std: float = 0.1) -> torch.nn.Module:
    """Give the zero-initialised layers (last convs, attention projections) random weights.

    A fresh U-Net ignores time and class because every residual branch ends in a
    zero conv; tests of conditioning need those branches alive.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() > 1 and not p.any():
                p.copy_(torch.randn(p.shape, generator=gen) * std)
    return net
