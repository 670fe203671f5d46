"""The PNG writer (decoded back by hand here), sample grids and denoising strips."""

import struct
import zlib

import numpy as np
import pytest

from tabsyn.image.plots import save_denoising_strip, save_grid, write_png


def read_png(path) -> np.ndarray:
    """Decode the 8-bit, filter-0 PNGs write_png produces, checking every chunk's CRC."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and b"IEND" in chunks
    channels = {0: 1, 2: 3}[color]
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, 1 + width * channels)
    assert np.all(raw[:, 0] == 0)  # filter type "none" on every row
    pixels = raw[:, 1:].reshape(height, width, channels)
    return pixels[..., 0] if channels == 1 else pixels


@pytest.mark.parametrize("shape", [(5, 7), (4, 6, 3)])
def test_png_round_trip(tmp_path, shape):
    pixels = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    write_png(pixels, tmp_path / "x.png")
    assert np.array_equal(read_png(tmp_path / "x.png"), pixels)


def test_grid_puts_each_class_on_its_own_row(tmp_path):
    # 3 classes with 2, 1, 3 images of value 10 * class, 4x4 pixels, pad 1, no upscaling.
    labels = np.array([2, 0, 2, 1, 2, 0])
    images = (np.ones((6, 4, 4)) * labels[:, None, None] * 10).astype(np.uint8)
    canvas = save_grid(images, tmp_path / "g.png", labels=labels, pad=1, scale=1)
    assert np.array_equal(read_png(tmp_path / "g.png"), canvas)
    assert canvas.shape == (1 + 3 * 5, 1 + 3 * 5)
    for row, cls in enumerate([0, 1, 2]):
        top = 1 + row * 5
        n_cells = (labels == cls).sum()
        for col in range(3):
            cell = canvas[top : top + 4, 1 + col * 5 : 1 + col * 5 + 4]
            expected = 10 * cls if col < n_cells else 128  # empty cells stay grey
            assert np.all(cell == expected)


def test_grid_accepts_floats_channels_and_upscales(tmp_path):
    images = np.random.default_rng(1).random((5, 3, 8, 8))
    canvas = save_grid(images, tmp_path / "rgb.png", ncols=5, pad=0)
    assert canvas.shape == (8 * 4, 5 * 8 * 4, 3)  # 8x8 cells are upscaled 4x to 32 px
    assert np.array_equal(canvas[:4, :4], np.broadcast_to(np.round(images[0, :, 0, 0] * 255), (4, 4, 3)))


def test_denoising_strip_has_one_row_per_image_and_one_column_per_frame(tmp_path):
    frames = np.random.default_rng(2).random((6, 3, 10, 10))
    canvas = save_denoising_strip(frames, tmp_path / "s.png", pad=1, scale=1)
    assert canvas.shape == (1 + 3 * 11, 1 + 6 * 11)
    assert np.array_equal(read_png(tmp_path / "s.png"), canvas)


def test_bad_shapes_raise(tmp_path):
    with pytest.raises(ValueError, match=r"images must have shape \(N, H, W\) or \(N, C, H, W\); got \(4, 4\)"):
        save_grid(np.zeros((4, 4)), tmp_path / "x.png")
    with pytest.raises(ValueError, match="1 or 3 channels"):
        save_grid(np.zeros((2, 2, 4, 4)), tmp_path / "x.png")
    with pytest.raises(ValueError, match="labels must have one entry per image"):
        save_grid(np.zeros((3, 4, 4)), tmp_path / "x.png", labels=[0, 1])
