"""Numerical columns that often hold the same value as another: found in training, kept on decode.

Real tables repeat a number across columns when one fact is recorded twice: in
the Taiwan credit table (Default) a client who pays a bill in full pays exactly
its amount, so ``PAY_AMT1 == BILL_AMT2`` in 13% of the rows, and in 13-15% for
each of the five month pairs. A learned joint distribution of the two columns'
normals, however close, almost never lands both on the same number (the default
model wrote such a pair in under 0.1% of its rows), and it smears the mass that
sits on the diagonal over a wide band, which a classifier sees.

So the table codec finds, in the training values, each numerical column T that
equals another column S of the same dtype in at least ``MIN_TIE_SHARE`` of the
rows, far more often than chance would (``MIN_LIFT`` times the rate two
independent columns with these marginals would share a value). Ties at T's most
frequent value do not count: a mass at zero in both columns is a mass each
column's own codec reproduces. For each such (T, S) the codec adds a two-level
"T equals S" column to the codes the model learns (jointly with every other
column, like the "is missing" flags), and decode writes S's value into T where
the model set it. T's own number is still learned and decoded where the flag is
not set.

Of the pairs found, the most frequent ties are taken first; a column is the
target of at most one tie, and a target is never a source, so decode copies in
one pass. This module never imports torch or pandas.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_TIE_SHARE = 0.05  # share of the training rows in which T == S (T's most frequent value aside)
MIN_LIFT = 5.0        # ... and at least this many times what independent columns would share
SCAN_ROWS = 5000      # rows the first pass over every pair of columns looks at


class Tie(NamedTuple):
    """Numerical column ``target`` is decoded as a copy of column ``source`` where its flag is set
    (both are positions in the table; ``mode`` is the target's most frequent training value, whose
    ties do not count)."""

    target: int
    source: int
    mode: float | int


def tied(target: np.ndarray, t_missing: np.ndarray, source: np.ndarray, s_missing: np.ndarray,
         mode: float | int) -> np.ndarray:
    """The rows where ``target`` holds ``source``'s value (both present, not at the target's ``mode``).

    Examples
    --------
    >>> no = np.zeros(4, bool)
    >>> tied(np.array([0, 5, 7, 2]), no, np.array([0, 5, 3, 2]), no, 0.0)
    array([False,  True, False,  True])
    """
    return (target == source) & ~t_missing & ~s_missing & (target != mode)


def _share_by_chance(target: np.ndarray, source: np.ndarray, mode: float | int) -> float:
    """The share of rows two independent columns with these values' marginals would tie in."""
    values_t, counts_t = np.unique(target, return_counts=True)
    values_s, counts_s = np.unique(source, return_counts=True)
    common, it, is_ = np.intersect1d(values_t, values_s, assume_unique=True, return_indices=True)
    keep = common != mode
    return float((counts_t[it][keep] / len(target) * counts_s[is_][keep] / len(source)).sum())


def _mode(values: np.ndarray) -> float | int:
    """The most frequent value (the smallest of equals), as a Python number of the values' kind."""
    uniques, counts = np.unique(values, return_counts=True)
    return uniques[counts.argmax()].item() if len(uniques) else 0


def find_ties(numbers: list[np.ndarray], missing: list[np.ndarray], groups: list[object], positions: list[int], *,
              min_share: float = MIN_TIE_SHARE, min_lift: float = MIN_LIFT, scan_rows: int = SCAN_ROWS) -> list[Tie]:
    """The ties among the numerical columns ``numbers`` (their values; ``missing`` per row) at table
    ``positions``; only columns of one ``group`` (their dtype) are compared. See the module docstring.

    A first pass compares every pair of columns on at most ``scan_rows`` evenly spaced rows (one
    vectorised comparison per column); the pairs that tie in at least half of ``min_share`` there are
    counted on every row.
    """
    k = len(numbers)
    if k < 2 or not len(numbers[0]):
        return []
    n = len(numbers[0])
    scan = np.unique(np.linspace(0, n - 1, min(n, scan_rows)).astype(np.int64))
    modes = [_mode(x[~m]) for x, m in zip(numbers, missing)]
    found = []
    for group in dict.fromkeys(groups):
        members = [j for j in range(k) if groups[j] == group]
        if len(members) < 2:
            continue
        block = np.stack([np.where(missing[j], np.nan, numbers[j].astype(np.float64)) for j in members], 1)[scan]
        for a_idx, a in enumerate(members[:-1]):
            share = (block[:, a_idx:a_idx + 1] == block[:, a_idx + 1:]).mean(0)  # NaN never equals
            for b in (members[a_idx + 1 + i] for i in np.flatnonzero(share >= min_share / 2)):
                # Either column could copy the other; the later one is the target when they tie alike.
                for t, s in ((b, a), (a, b)):
                    rows = tied(numbers[t], missing[t], numbers[s], missing[s], modes[t])
                    count = int(rows.sum())
                    chance = _share_by_chance(numbers[t][~missing[t]], numbers[s][~missing[s]], modes[t])
                    if count >= min_share * n and count >= min_lift * chance * n:
                        found.append((count, t, s))
    targets, sources, ties = set(), set(), []
    for count, t, s in sorted(found, key=lambda f: (-f[0], -f[1], f[2])):
        if t in targets or t in sources or s in targets:
            continue
        targets.add(t)
        sources.add(s)
        ties.append(Tie(positions[t], positions[s], modes[t]))
    return sorted(ties)
