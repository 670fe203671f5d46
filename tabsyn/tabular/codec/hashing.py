"""Scattered 64-bit values from a row's position in the sample stream (and its codes).

Every draw made while decoding (a pooled category's level, a free-format key)
is a function of these, so a row never depends on how sampling was batched.
"""

from __future__ import annotations

import numpy as np


def mix64(h: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on uint64 that scatters neighbouring inputs."""
    with np.errstate(over="ignore"):
        h = h + np.uint64(0x9E3779B97F4A7C15)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def row_hashes(positions: np.ndarray, salt: int) -> np.ndarray:
    """A scattered 64-bit value per stream position (``salt`` tells columns apart)."""
    rows = np.asarray(positions, dtype=np.int64).astype(np.uint64)
    return mix64(rows ^ np.uint64(salt % 2**64))


def row_uniforms(positions: np.ndarray, row_codes: np.ndarray, salt: int) -> np.ndarray:
    """A uniform in [0, 1) per row, from its stream position and every one of its codes."""
    h = row_hashes(positions, salt)
    for j in range(row_codes.shape[1]):
        h = mix64(h ^ row_codes[:, j].astype(np.uint64))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53
