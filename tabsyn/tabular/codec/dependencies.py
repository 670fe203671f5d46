"""Code columns that are functions of another: found in the training codes, enforced on decode.

Real tables often hold a column twice, in two spellings: Adult's ``education``
and ``education-num`` are one fact (each level of one has exactly one level of
the other). A learned joint distribution, however close, breaks such an
identity now and then (the default model on Adult wrote an unseen
(education, education-num) pair in 6.9% of its rows), and a classifier tells
those rows from real ones at once. So the table codec finds, in the training
codes, every ``x_cat`` column B that is a function of another column A (each
code of A seen with one code of B), and decode writes B from A's code.

Both columns stay in the model (so either can be a known condition); only the
decoded B is replaced. A dependency counts only when A has at least
``MIN_ROWS_PER_CODE`` training rows per code on average, so a near-unique column
(every column is a function of an ID) derives nothing, and when at least as many
rows differ from B's most frequent code, so a column that is one value but in a
row or two derives nothing either. Of a set of columns that
are functions of each other, the first stays free and the rest follow it.
This module never imports torch or pandas.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_ROWS_PER_CODE = 10  # average training rows per code of the column a dependency starts from


class Derived(NamedTuple):
    """``x_cat`` column ``target`` is ``lookup[code of column source]``."""

    target: int
    source: int
    lookup: np.ndarray  # (codes of source,) int64: the target's code for each source code


def determines(a: np.ndarray, b: np.ndarray, size_a: int, size_b: int) -> np.ndarray | None:
    """The code of ``b`` for each code of ``a`` when ``b`` is a function of ``a`` on these rows, else None.

    Codes of ``a`` never seen map to ``b``'s most frequent code.

    Examples
    --------
    >>> determines(np.array([0, 0, 1, 2]), np.array([1, 1, 0, 1]), 3, 2)
    array([1, 0, 1])
    >>> determines(np.array([0, 0, 1]), np.array([1, 0, 0]), 2, 2) is None
    True
    """
    pairs = np.unique(a.astype(np.int64) * size_b + b)
    seen_a = pairs // size_b
    if len(np.unique(seen_a)) != len(seen_a):
        return None
    lookup = np.full(size_a, np.bincount(b, minlength=size_b).argmax(), dtype=np.int64)
    lookup[seen_a] = pairs % size_b
    return lookup


def find_derived(x_cat: np.ndarray, sizes: list[int], *,
                 min_rows_per_code: int = MIN_ROWS_PER_CODE) -> list[Derived]:
    """Every column of ``x_cat`` (codes, ``sizes`` of them per column) that follows from another, with the
    free column it follows from (see the module docstring).

    One sort of the rows per candidate source column A tests every other column at once: B follows A
    when B never changes between neighbouring rows of the same code of A.
    """
    n, k = x_cat.shape
    # A column takes part only when at least min_rows_per_code rows differ from its most frequent code:
    # one row that differs (a column missing everywhere but once) is no evidence of a dependency.
    varies = [n - np.bincount(x_cat[:, j]).max() >= min_rows_per_code if n else False for j in range(k)]
    sources = [j for j in range(k) if varies[j] and n >= min_rows_per_code * sizes[j]]
    maps: dict[tuple[int, int], np.ndarray] = {}
    for a in sources:
        ordered = x_cat[np.argsort(x_cat[:, a], kind="stable")]
        same_a = ordered[1:, a] == ordered[:-1, a]
        follows = ~((ordered[1:] != ordered[:-1]) & same_a[:, None]).any(axis=0)
        for b in np.flatnonzero(follows):
            if b != a and varies[b]:
                maps[a, int(b)] = determines(x_cat[:, a], x_cat[:, b], sizes[a], sizes[b])
    # B follows some A; of columns that follow each other, the first stays free.
    derived = {b for (a, b) in maps if not ((b, a) in maps and b < a)}
    while True:  # a derived column needs a free column to follow from
        found = {b: next((a for a in sources if a not in derived and (a, b) in maps), None) for b in derived}
        orphans = {b for b, a in found.items() if a is None}
        if not orphans:
            break
        derived -= orphans
    return [Derived(b, found[b], maps[found[b], b]) for b in sorted(derived)]


def apply_derived(x_cat: np.ndarray, derived: list[Derived]) -> np.ndarray:
    """``x_cat`` with every derived column written from its source's codes (a copy when anything changes)."""
    if not derived:
        return x_cat
    out = np.array(x_cat, dtype=np.int64, copy=True)
    for d in derived:
        out[:, d.target] = d.lookup[np.clip(out[:, d.source], 0, len(d.lookup) - 1)]
    return out
