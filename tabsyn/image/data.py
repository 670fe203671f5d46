"""Images and labels in and out of ImageDDPM: validation, scaling and layout.

``fit`` accepts (N, H, W) or (N, C, H, W) arrays of uint8 0..255 (or another
integer type within that range) or floats in [0, 1]; the model works on
(N, C, H, W) float tensors in [-1, 1]; ``sample`` hands images back in the
layout and dtype ``fit`` saw. Errors name the argument, what was received
and what is accepted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def check_images(X: Any) -> tuple[np.ndarray, int, str]:
    """X -> float32 (N, C, H, W) in [0, 1], plus the input's ndim and dtype string."""
    X = np.asarray(X)
    if X.ndim not in (3, 4) or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty array of shape (N, H, W) or (N, C, H, W); got shape {X.shape}")
    if X.ndim == 4 and X.shape[1] > 4 and X.shape[-1] in (1, 3, 4):
        raise ValueError(
            f"X must be channels-first (N, C, H, W); got shape {X.shape}, which looks channels-last: "
            f"pass X.transpose(0, 3, 1, 2)"
        )
    if min(X.shape[-2:]) < 2:
        raise ValueError(f"X images must be at least 2x2 pixels; got shape {X.shape}")
    if X.dtype.kind in "ui":
        lo, hi = X.min(), X.max()
        if lo < 0 or hi > 255:
            raise ValueError(f"X holds integers, which must lie in 0..255; got values from {lo} to {hi}")
        x01 = X.astype(np.float32) / 255.0
    elif X.dtype.kind == "f":
        if not np.isfinite(X).all():
            raise ValueError("X holds NaN or infinite values; images must be finite floats in [0, 1]")
        lo, hi = X.min(), X.max()
        if lo < 0 or hi > 1:
            raise ValueError(
                f"X holds floats, which must lie in [0, 1]; got values from {lo:g} to {hi:g} "
                f"(divide by the maximum, e.g. X / 255 or digits.images / 16)"
            )
        x01 = X.astype(np.float32)
    else:
        raise TypeError(f"X must hold uint8 0..255 or floats in [0, 1]; got dtype {X.dtype}")
    if X.ndim == 3:
        x01 = x01[:, None]
    return x01, X.ndim, X.dtype.str


def _integral(y: np.ndarray) -> bool:
    """Integer dtype, or floats that are all whole numbers."""
    if y.dtype.kind in "ui":
        return True
    return y.dtype.kind == "f" and bool(np.all(np.isfinite(y) & (y == np.round(y))))


def check_labels(y: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Training labels -> (sorted classes, each image's class index); shape and sign problems reported together."""
    y = np.asarray(y)
    problems = []
    if y.ndim != 1 or len(y) != n:
        problems.append(f"y must be a 1-d array with one label per image ({n}); got shape {y.shape}")
    if not _integral(y):
        raise TypeError("; ".join([f"y must hold integer class labels; got dtype {y.dtype}"] + problems))
    if y.size and y.min() < 0:
        problems.append(f"y must hold non-negative class labels; got {sorted(set(y[y < 0].astype(int).tolist()))[:5]}")
    if problems:
        raise ValueError("; ".join(problems))
    y = y.astype(np.int64)
    classes = np.unique(y)
    return classes, np.searchsorted(classes, y)


def encode_labels(y: Any, n: int, classes: np.ndarray) -> np.ndarray:
    """Sampling labels (one int for all n, or n ints) -> class indices, refusing classes fit never saw."""
    y_arr = np.asarray(y)
    if y_arr.ndim == 0:
        y_arr = np.full(n, y_arr)
    if y_arr.shape != (n,):
        raise ValueError(f"y must be one label or n={n} labels; got shape {y_arr.shape}")
    if not _integral(y_arr):
        raise TypeError(f"y must hold integer class labels; got dtype {y_arr.dtype}")
    y_arr = y_arr.astype(np.int64)
    unseen = sorted(set(y_arr.tolist()) - set(classes.tolist()))
    if unseen:
        raise ValueError(
            f"y holds class labels never seen in fit: {unseen[:10]}; the known classes are {classes.tolist()}"
        )
    return np.searchsorted(classes, y_arr)


def to_layout(x: torch.Tensor, ndim: int, dtype: str) -> np.ndarray:
    """Model-space images, (N, C, H, W) in [-1, 1] -> the training input's ndim, dtype and value range."""
    x01 = ((x.double() + 1.0) / 2.0).clamp(0.0, 1.0).numpy()
    dtype = np.dtype(dtype)
    out = np.round(x01 * 255.0).astype(dtype) if dtype.kind in "ui" else x01.astype(dtype)
    return out[:, 0] if ndim == 3 else out
