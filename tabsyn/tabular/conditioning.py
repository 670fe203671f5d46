"""Conditions for the latent denoiser: which cells of a row are known, and their values.

The denoiser learns the latent of a row given any subset of its cells: during
``fit`` each training row shows it a random subset of its own cells (none, for
a share of the rows), so ``sample`` can fix any columns (conditions, completing
rows, imputation) by conditioning, without rejection and without the encoder.

A row's condition vector lives in the model's column space (numerical columns,
then categorical ones, "is missing" flags included)::

    [value x known per numerical column | one-hot code x known per categorical column
     | known per numerical column | known per categorical column]

A row with nothing known is the zero vector: the unconditional model.
"""

from __future__ import annotations

import torch


def category_offsets(cat_sizes: list[int]) -> torch.Tensor:
    """Where each categorical column's codes start when all columns' codes share one range."""
    return torch.tensor([0, *cat_sizes[:-1]], dtype=torch.long).cumsum(0)[: len(cat_sizes)]


class ConditionLayout:
    """Builds condition vectors for a table with ``n_num`` numerical and ``cat_sizes`` categorical columns."""

    def __init__(self, n_num: int, cat_sizes: list[int]):
        self.n_num, self.cat_sizes = n_num, list(cat_sizes)
        self.offsets = category_offsets(self.cat_sizes)

    @property
    def dim(self) -> int:
        return 2 * self.n_num + sum(self.cat_sizes) + len(self.cat_sizes)

    def vector(self, x_num: torch.Tensor, x_cat: torch.Tensor, num_known: torch.Tensor,
               cat_known: torch.Tensor) -> torch.Tensor:
        """(rows, dim) condition vectors from model arrays and which of their cells are known."""
        n = len(x_num) if x_num.shape[1] or not x_cat.shape[1] else len(x_cat)
        num_known, cat_known = num_known.to(x_num.dtype), cat_known.to(x_num.dtype)
        one_hot = torch.zeros(n, sum(self.cat_sizes), dtype=x_num.dtype, device=x_num.device)
        if self.cat_sizes:
            one_hot.scatter_(1, x_cat + self.offsets.to(x_cat.device), cat_known)
        return torch.cat([x_num * num_known, one_hot, num_known, cat_known], dim=1)

    def random_known(self, n: int, rate: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Training masks: a share ``rate`` of the rows know a random subset of their cells.

        Each such row keeps every cell with its own probability, drawn uniformly,
        so one known cell and nearly all of them are both seen in training.
        """
        columns = self.n_num + len(self.cat_sizes)
        conditioned = torch.rand(n, 1, device=device) < rate
        keep = torch.rand(n, 1, device=device)
        known = (torch.rand(n, columns, device=device) < keep) & conditioned
        return known[:, : self.n_num], known[:, self.n_num:]
