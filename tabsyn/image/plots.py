"""Sample grids and progressive-denoising strips, written as PNG without an imaging library.

PNG is a signature and a list of chunks (length, type, data, CRC-32); the
pixels go zlib-compressed into IDAT, one filter byte (0 = none) per row. That
is all :func:`write_png` does, for 8-bit grey or RGB.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from typing import Sequence

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(pixels: np.ndarray, path: str | os.PathLike) -> None:
    """Write an 8-bit image, shape (H, W) grey or (H, W, 3) RGB, uint8, to ``path``."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        color_type = 0
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        color_type = 2
    else:
        raise ValueError(f"pixels must have shape (H, W) or (H, W, 3); got {pixels.shape}")
    height, width = pixels.shape[:2]
    # Prefix every row with filter type 0, then deflate the whole image.
    rows = pixels.reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    with open(os.fspath(path), "wb") as f:
        f.write(_PNG_SIGNATURE)
        f.write(_chunk(b"IHDR", header))
        f.write(_chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(_chunk(b"IEND", b""))


def _to_uint8_hwc(images: np.ndarray) -> np.ndarray:
    """Any of (N,H,W) / (N,C,H,W), uint8 0..255 or float 0..1 -> uint8 (N, H, W, C) with C in {1, 3}."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W) or (N, C, H, W); got {images.shape}")
    if images.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels to be drawn; got {images.shape[1]}")
    if images.dtype == np.uint8:
        out = images
    elif np.issubdtype(images.dtype, np.integer):
        out = np.clip(images, 0, 255).astype(np.uint8)
    else:
        out = np.round(np.clip(np.nan_to_num(images.astype(np.float64)), 0.0, 1.0) * 255).astype(np.uint8)
    return out.transpose(0, 2, 3, 1)


def _tile(cells: list[list[np.ndarray | None]], pad: int, scale: int) -> np.ndarray:
    """Lay out rows of (H, W, C) cells on a mid-grey canvas with ``pad`` pixels between them."""
    h, w, c = next(cell for row in cells for cell in row if cell is not None).shape
    n_rows, n_cols = len(cells), max(len(row) for row in cells)
    canvas = np.full((pad + n_rows * (h + pad), pad + n_cols * (w + pad), c), 128, np.uint8)
    for r, row in enumerate(cells):
        for col, cell in enumerate(row):
            if cell is not None:
                top, left = pad + r * (h + pad), pad + col * (w + pad)
                canvas[top : top + h, left : left + w] = cell
    # Nearest-neighbour upscaling so tiny images (8x8 digits) stay visible.
    canvas = canvas.repeat(scale, axis=0).repeat(scale, axis=1)
    return canvas[..., 0] if c == 1 else canvas


def _auto_scale(height: int, scale: int | None) -> int:
    return max(1, 32 // height) if scale is None else int(scale)


def save_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    labels: Sequence[int] | np.ndarray | None = None,
    *,
    ncols: int | None = None,
    pad: int = 2,
    scale: int | None = None,
) -> np.ndarray:
    """Write ``images`` as one PNG grid; with ``labels``, one row per class (in sorted order).

    Parameters
    ----------
    images : ndarray of shape (N, H, W) or (N, C, H, W)
        uint8 in 0..255 or float in 0..1 (C = 1 or 3), as ImageDDPM.sample returns them.
    path : str or path-like
        Where the PNG goes.
    labels : sequence of int of length N, optional
        Class of each image; each class gets its own row, in sorted label order.
    ncols : int, optional
        Images per row without labels (default: a near-square grid).
    pad : int
        Pixels of grey between cells.
    scale : int, optional
        Integer upscaling factor (default: enough to make each cell >= 32 px).

    Returns
    -------
    ndarray
        The canvas that was written, (H, W) or (H, W, 3) uint8.
    """
    cells = _to_uint8_hwc(images)
    if labels is None:
        ncols = ncols or math.ceil(math.sqrt(len(cells)))
        rows = [list(cells[i : i + ncols]) for i in range(0, len(cells), ncols)]
    else:
        labels = np.asarray(labels)
        if labels.shape != (len(cells),):
            raise ValueError(f"labels must have one entry per image ({len(cells)}); got shape {labels.shape}")
        rows = [list(cells[labels == c]) for c in np.unique(labels)]
    canvas = _tile(rows, pad, _auto_scale(cells.shape[1], scale))
    write_png(canvas, path)
    return canvas


def save_denoising_strip(
    frames: np.ndarray | Sequence[np.ndarray],
    path: str | os.PathLike,
    *,
    pad: int = 2,
    scale: int | None = None,
) -> np.ndarray:
    """Write the progressive denoising of a few images: one row per image, noise -> result left to right.

    ``frames`` has shape (F, N, ...) with the layout of ``save_grid``'s images,
    as ``ImageDDPM.sample(..., return_intermediates=True)`` returns them.
    """
    frames = [_to_uint8_hwc(f) for f in frames]
    rows = [[frame[i] for frame in frames] for i in range(len(frames[0]))]
    canvas = _tile(rows, pad, _auto_scale(frames[0].shape[1], scale))
    write_png(canvas, path)
    return canvas
