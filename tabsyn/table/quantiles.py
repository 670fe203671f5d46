"""Empirical quantiles of a column, and where values fall among them.

One place for the two steps every quantile map here takes: the model's
:class:`~tabsyn.tabular.codec.numeric.QuantileNormalizer` (values to a standard
normal) and the distance space of :mod:`tabsyn.table.rows` (values to [0, 1]).
This module works on NumPy only.
"""

from __future__ import annotations

import numpy as np


def quantile_grid(x: np.ndarray, n_quantiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced references in [0, 1] and the quantiles of ``x`` at them.

    ``min(n_quantiles, len(x))`` references; the quantiles are made
    non-decreasing (rounding in ``np.quantile`` can step back by an ulp).

    Returns
    -------
    references, quantiles : ndarray of float64
    """
    references = np.linspace(0.0, 1.0, int(min(n_quantiles, len(x))))
    return references, np.maximum.accumulate(np.quantile(x, references))


def quantile_position(x: np.ndarray, quantiles: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Where ``x`` falls among ``quantiles``, as the matching value of ``references``.

    Interpolates from both ends and averages, so a run of equal quantiles (a
    mass of ties, e.g. exact zeros) maps to the middle of its reference
    interval rather than to one end of it.
    """
    return 0.5 * (np.interp(x, quantiles, references)
                  - np.interp(-x, -quantiles[::-1], -references[::-1]))
