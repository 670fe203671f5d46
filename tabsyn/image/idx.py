"""Reader for the IDX files of MNIST and Fashion-MNIST (plain or gzipped).

An IDX file starts with two zero bytes, a type code, the number of dimensions
and one big-endian uint32 per dimension; the values follow, big-endian.

Fashion-MNIST ships as the Debian package ``dataset-fashion-mnist``
(``apt-get install dataset-fashion-mnist``), which puts the four files in
``/usr/share/datasets/fashion-mnist/``. Another folder can be given as ``root``
or through the ``TABSYN_FASHION_MNIST`` environment variable.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

DEFAULT_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

# IDX type code -> numpy dtype (big-endian where it matters).
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (``.gz`` is decompressed) into an array of its stored shape."""
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path!r} is not an IDX file (bad magic number {data[:4]!r})")
    dtype, ndim = _IDX_TYPES[data[2]], data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    values = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{path!r} holds {values.size} values but its header says shape {shape}")
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def _find(root: str, stem: str) -> str:
    for name in (stem + ".gz", stem):
        candidate = os.path.join(root, name)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f"no {stem}(.gz) in {root!r}. Install Fashion-MNIST with "
        f"'apt-get install dataset-fashion-mnist' or pass root= / set TABSYN_FASHION_MNIST "
        f"to a folder holding the IDX files"
    )


def load_fashion_mnist(root: str | os.PathLike | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images (N, 28, 28) uint8 and labels (N,) int64, ``split`` "train" or "test"."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
    root = os.fspath(root or os.environ.get("TABSYN_FASHION_MNIST", DEFAULT_FASHION_MNIST_DIR))
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_find(root, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{root!r}: {len(images)} images but {len(labels)} labels")
    return images, labels
