"""What both training recipes share: the validation split and mini-batches counted in steps."""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch


def split_rows(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``n`` row numbers, then hold out ``fraction`` of them (at least one row when asked for).

    Without a validation split (``fraction`` 0, or too few rows) both parts are every row:
    validation then judges the training rows.
    """
    order = rng.permutation(n)
    n_val = int(round(fraction * n))
    if fraction > 0 and n_val == 0 and n >= 4:
        n_val = 1
    if n_val == 0:
        return order, order
    return order[n_val:], order[:n_val]


def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    """Batches an epoch; a last batch of a single row is dropped (as :func:`minibatches` does)."""
    size = min(batch_size, n_rows)
    full, rest = divmod(n_rows, size)
    return full + (rest >= 2)


def epochs_for(steps: int, n_rows: int, batch_size: int) -> int:
    """Whole epochs that make at least ``steps`` optimiser steps."""
    return -(-steps // steps_per_epoch(n_rows, batch_size))


def validation_schedule(eval_every_steps: int, patience_steps: int, n_rows: int, batch_size: int) -> tuple[int, int]:
    """(validate every this many epochs, patience in validations) for budgets counted in steps."""
    per_epoch = steps_per_epoch(n_rows, batch_size)
    every = max(1, round(eval_every_steps / per_epoch))
    return every, max(1, -(-patience_steps // (every * per_epoch)))


def minibatches(n_rows: int, batch_size: int) -> Callable[[], Iterator[torch.Tensor]]:
    """An epoch of shuffled mini-batches of row indices (``steps_per_epoch`` of them), from torch's RNG."""
    def epoch() -> Iterator[torch.Tensor]:
        perm = torch.randperm(n_rows)
        size = min(batch_size, n_rows)
        for i in range(0, n_rows, size):
            if n_rows - i >= 2 or i == 0:
                yield perm[i:i + size]
    return epoch
