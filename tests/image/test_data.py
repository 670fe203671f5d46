"""Image and label conversion in and out of ImageDDPM."""

import numpy as np
import pytest
import torch

from tabsyn.image.data import check_images, check_labels, encode_labels, to_layout


def test_images_are_scaled_to_unit_range_with_a_channel_axis():
    x01, ndim, dtype = check_images(np.array([[[0, 255], [51, 102]]], dtype=np.uint8))
    assert x01.shape == (1, 1, 2, 2) and x01.dtype == np.float32 and (ndim, dtype) == (3, "|u1")
    np.testing.assert_allclose(x01.ravel(), [0, 1, 0.2, 0.4])
    x01, ndim, _ = check_images(np.full((2, 3, 4, 4), 0.5))
    assert x01.shape == (2, 3, 4, 4) and ndim == 4


def test_to_layout_inverts_the_scaling_in_the_input_dtype():
    x = torch.tensor([-1.0, -0.2, 0.0, 1.0, 3.0]).view(1, 1, 1, 5)
    assert to_layout(x, 3, "|u1").tolist() == [[[0, 102, 128, 255, 255]]]
    out = to_layout(x, 4, np.dtype(np.int16).str)
    assert out.dtype == np.int16 and out.shape == (1, 1, 1, 5)
    np.testing.assert_allclose(to_layout(x, 3, "<f8")[0, 0], [0, 0.4, 0.5, 1, 1])


def test_labels_need_not_be_contiguous():
    classes, idx = check_labels(np.array([7, 3, 7, 10.0]), 4)
    assert classes.tolist() == [3, 7, 10] and idx.tolist() == [1, 0, 1, 2]
    assert encode_labels(10, 2, classes).tolist() == [2, 2]
    assert encode_labels([3, 7], 2, classes).tolist() == [0, 1]


def test_label_problems_are_reported_together():
    with pytest.raises(ValueError, match=r"one label per image \(3\); got shape \(4,\); y must hold non-negative"):
        check_labels(np.array([0, -1, 2, 3]), 3)
    with pytest.raises(TypeError, match=r"y must hold integer class labels; got dtype float64"):
        encode_labels([0.5], 1, np.array([0, 1]))
