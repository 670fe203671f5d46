"""The IDX reader and the Fashion-MNIST loader, on files written here and on the Debian package's."""

import gzip
import os
import struct

import numpy as np
import pytest

from tabsyn.image.idx import DEFAULT_FASHION_MNIST_DIR, load_fashion_mnist, read_idx


def write_idx(path, array: np.ndarray, code: int) -> None:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + body)


@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_read_idx_round_trip(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, size=(3, 5, 4), dtype=np.uint8)
    write_idx(tmp_path / name, images, 0x08)
    assert np.array_equal(read_idx(tmp_path / name), images)
    ints = np.array([1, -70000, 3], dtype=np.int32)
    write_idx(tmp_path / ("i" + name), ints, 0x0C)
    out = read_idx(tmp_path / ("i" + name))
    assert np.array_equal(out, ints) and out.dtype == np.int32


def test_read_idx_rejects_other_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="is not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="holds 3 values but its header says shape"):
        read_idx(tmp_path / "short")


def test_load_fashion_mnist_from_a_folder(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), 0x08)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([3, 1, 4, 1], np.uint8), 0x08)
    X, y = load_fashion_mnist(tmp_path, "test")
    assert X.shape == (4, 28, 28) and X.dtype == np.uint8 and y.tolist() == [3, 1, 4, 1]
    monkeypatch.setenv("TABSYN_FASHION_MNIST", str(tmp_path))
    assert load_fashion_mnist(split="test")[0].shape == (4, 28, 28)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'; got 'val'"):
        load_fashion_mnist(tmp_path, "val")


@pytest.mark.skipif(not os.path.isdir(DEFAULT_FASHION_MNIST_DIR), reason="dataset-fashion-mnist not installed")
def test_debian_fashion_mnist_test_split():
    X, y = load_fashion_mnist(split="test")
    assert X.shape == (10_000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == [1000] * 10
