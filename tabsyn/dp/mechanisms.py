"""Differentially private statistics of one column, with the noise each one's sensitivity calls for.

Neighbouring tables differ by one row (added or removed). A row adds 1 to one
bin of a histogram, so a histogram's L1 sensitivity is 1 and Laplace noise of
scale ``1 / epsilon`` per bin makes it ``epsilon``-DP (Dwork et al. 2006); a
vector of ``k`` such counts that one row may all change has sensitivity ``k``.
Everything after the noise is post-processing and spends nothing.

- :func:`noisy_counts`: Laplace counts of a histogram (pure epsilon).
- :func:`private_categories`: the levels of a column whose set of values is not
  known in advance: a level is released only when its noisy count clears
  ``1 + ln(1 / (2 delta)) / epsilon``, so a level held by one row shows with
  probability at most delta ((epsilon, delta)-DP, the stability-based histogram
  of Korolova et al. 2009 / Bun-Nissim-Stemmer).
- :func:`private_range` and :func:`private_quantile_bins`: numbers without
  known bounds: a noisy histogram over a fixed grid of signed powers of two
  (the grid depends on nothing in the data) gives the range; a second noisy
  histogram over that range, 32 bins an octave plus an exact-zero bin, gives
  the distribution the codec learns quantiles from.

This module imports NumPy only.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

BINS_PER_OCTAVE = 32   # resolution of the quantile histogram: 2.2% of a value's magnitude ...
LINEAR_BINS = 256      # ... and 1/256 of the released range (years, datetimes: narrow far from zero)
LOWEST_EXPONENT = -40  # magnitudes below 2**-40 (9e-13) count as the zero bin
HIGHEST_EXPONENT = 1024  # float64's largest finite magnitude is below 2**1024


def laplace_scale(sensitivity: float, epsilon: float) -> float:
    """The Laplace scale b that makes a query of L1 ``sensitivity`` epsilon-DP."""
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon must be a positive finite number; got {epsilon!r}")
    return float(sensitivity) / float(epsilon)


def noisy_counts(counts: np.ndarray, epsilon: float, rng: np.random.Generator, *,
                 sensitivity: float = 1.0) -> np.ndarray:
    """``counts`` plus Laplace(sensitivity / epsilon) noise each (float64, may be negative)."""
    counts = np.asarray(counts, dtype=np.float64)
    return counts + rng.laplace(0.0, laplace_scale(sensitivity, epsilon), size=counts.shape)


def category_threshold(epsilon: float, delta: float) -> float:
    """Noisy count a level needs to be released: a level of one row passes with probability <= delta."""
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1); got {delta!r}")
    # P(1 + Lap(1/eps) > t) = exp(-(t - 1) eps) / 2 <= delta.
    return 1.0 + math.log(1.0 / (2.0 * delta)) / epsilon


def private_categories(values: np.ndarray, epsilon: float, delta: float,
                       rng: np.random.Generator) -> tuple[list, np.ndarray]:
    """The levels of ``values`` (no missing ones) whose noisy counts clear the threshold, and those counts.

    Levels are returned in a data-independent order (sorted by their string form),
    so the order reveals nothing but the released set.
    """
    levels, counts = np.unique(np.asarray(values, dtype=object).astype(str), return_counts=True) \
        if len(values) else (np.array([], dtype=object), np.array([], dtype=np.int64))
    originals = {}
    for v in values:
        originals.setdefault(str(v), v)
    noisy = noisy_counts(counts, epsilon, rng)
    keep = noisy > category_threshold(epsilon, delta)
    return [originals[s] for s in levels[keep]], noisy[keep]


def octave_edges() -> np.ndarray:
    """The fixed grid of :func:`private_range`: -2**1024 ... -2**-40, 0, 2**-40 ... 2**1024 (bin edges)."""
    exponents = np.arange(LOWEST_EXPONENT, HIGHEST_EXPONENT + 1, dtype=np.float64)
    positive = np.ldexp(1.0, exponents.astype(np.int64)[:-1])  # 2**1024 overflows: the last edge is inf
    positive = np.append(positive, np.inf)
    return np.concatenate([-positive[::-1], [0.0], positive])


def _octave_bin(x: np.ndarray) -> np.ndarray:
    """Bin of every value on :func:`octave_edges` (|x| < 2**-40 and 0 in the bins next to zero)."""
    per_side = HIGHEST_EXPONENT - LOWEST_EXPONENT + 1  # [0, 2**-40), then one bin per octave
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.abs(x)))
    j = np.where(np.isfinite(exponent) & (exponent >= LOWEST_EXPONENT), exponent - LOWEST_EXPONENT + 1, 0)
    j = np.minimum(j, per_side - 1).astype(np.int64)
    return np.where(x < 0, per_side - 1 - j, per_side + j)


class NumberRange(NamedTuple):
    """Where a column's numbers lie: [low, high], and the smallest magnitude on each side of zero."""

    low: float
    high: float
    smallest_positive: float   # lower edge of the lowest positive octave released (or 2**-40)
    smallest_negative: float   # the same for negative values, as a magnitude


def private_range(x: np.ndarray, epsilon: float, rng: np.random.Generator) -> NumberRange:
    """Bounds of the finite numbers ``x`` from a noisy histogram on the octave grid (epsilon-DP).

    The octaves whose noisy count clears ``ln(n_bins / 0.05) / epsilon`` (an empty
    octave passes with probability 5% over the whole grid) are released; the lowest
    and highest bound the range, the ones nearest zero its smallest magnitudes.
    With none, [0, 1].
    """
    edges = octave_edges()
    counts = np.bincount(_octave_bin(np.asarray(x, dtype=np.float64)), minlength=len(edges) - 1)
    noisy = noisy_counts(counts, epsilon, rng)
    passed = np.flatnonzero(noisy > math.log(len(counts) / 0.05) / epsilon)
    tiny = 2.0 ** LOWEST_EXPONENT
    if len(passed) == 0:
        return NumberRange(0.0, 1.0, tiny, tiny)
    big = float(np.finfo(np.float64).max)
    low, high = float(max(edges[passed[0]], -big)), float(min(edges[passed[-1] + 1], big))
    lows, highs = edges[passed], edges[passed + 1]
    pos, neg = lows[lows > 0], highs[highs < 0]
    return NumberRange(low, high, float(pos.min()) if len(pos) else tiny, float(-neg.max()) if len(neg) else tiny)


def _geometric(a: float, b: float) -> np.ndarray:
    """Edges from a to b (0 < a < b), ``BINS_PER_OCTAVE`` an octave, at least one bin, exact ends."""
    n = max(1, int(math.ceil((math.log2(b) - math.log2(a)) * BINS_PER_OCTAVE)))
    e = np.exp2(np.linspace(math.log2(a), math.log2(b), n + 1))
    e[0], e[-1] = a, b
    return e


def quantile_edges(r: NumberRange) -> np.ndarray:
    """Bin edges over [r.low, r.high]: ``BINS_PER_OCTAVE`` per octave of magnitude from the smallest
    released magnitudes up and ``LINEAR_BINS`` even steps over the range, merged, plus a zero-width bin
    at 0 (exact zeros, a point mass) when 0 lies in the range."""
    edges = _octave_edges(r)
    linear = np.linspace(r.low, r.high, LINEAR_BINS + 1)
    zero = np.flatnonzero(np.diff(edges) == 0)
    merged = np.union1d(edges, linear)
    if len(zero):  # union1d drops the repeated 0 of the point-mass bin: put it back
        merged = np.insert(merged, np.searchsorted(merged, 0.0), 0.0)
    return merged


def _octave_edges(r: NumberRange) -> np.ndarray:
    low, high = r.low, r.high
    if low > 0:
        return _geometric(low, high)
    if high < 0:
        return -_geometric(-high, -low)[::-1]
    pos = np.concatenate([[0.0], _geometric(min(r.smallest_positive, high / 2), high)]) if high > 0 else [0.0]
    neg = np.concatenate([-_geometric(min(r.smallest_negative, -low / 2), -low)[::-1], [0.0]]) if low < 0 else [0.0]
    return np.concatenate([neg, pos])  # ..., 0] + [0, ...: the zero-width bin between them


def private_quantile_bins(x: np.ndarray, r: NumberRange, epsilon: float,
                          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges, noisy non-negative bin masses) of ``x`` clipped to ``r`` (epsilon-DP).

    The mass of the zero-width bin at 0 is a point mass: values drawn from it are exactly 0.
    """
    edges = quantile_edges(r)
    x = np.clip(np.asarray(x, dtype=np.float64), r.low, r.high)
    zero_width = np.flatnonzero(np.diff(edges) == 0)
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    if len(zero_width):  # exact zeros go to the point-mass bin, not the one above it
        idx = np.where(x == edges[zero_width[0]], zero_width[0], idx)
    counts = np.bincount(idx, minlength=len(edges) - 1)
    noisy = noisy_counts(counts, epsilon, rng)
    # Post-processing: masses within two noise scales of zero are mostly noise (empty bins); drop them.
    return edges, np.where(noisy > 2.0 * laplace_scale(1.0, epsilon), noisy, 0.0)


def draw_from_bins(edges: np.ndarray, masses: np.ndarray, n: int) -> np.ndarray:
    """``n`` values at evenly spaced quantiles of the piecewise-uniform distribution of the bins.

    Deterministic (no new randomness, no data): a surrogate column whose
    empirical quantiles are those of the noisy histogram.
    """
    total = masses.sum()
    if total <= 0:
        masses, total = np.ones_like(masses), float(len(masses))
    cdf = np.concatenate([[0.0], np.cumsum(masses) / total])
    u = (np.arange(n) + 0.5) / n
    b = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, len(masses) - 1)
    width = cdf[b + 1] - cdf[b]
    frac = np.where(width > 0, (u - cdf[b]) / np.where(width > 0, width, 1.0), 0.5)
    return edges[b] + frac * (edges[b + 1] - edges[b])
