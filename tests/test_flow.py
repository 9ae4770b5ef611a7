"""Optical-flow propagation: a synthetic translation moves joints by the true shift."""

import cv2
import numpy as np
import pytest

from simplepose.tracking.flow import DenseFlow, SparseFlow, box_from_joints, propagate_keypoints, sample_flow


def _textured(h=240, w=320, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur((rng.random((h, w)) * 255).astype(np.uint8), (0, 0), 2)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


@pytest.mark.parametrize(
    "flow",
    [DenseFlow("medium"), DenseFlow("fast"), DenseFlow("medium", max_side=160), SparseFlow()],
    ids=["dis-medium", "dis-fast", "dis-downscaled", "lk"],
)
@pytest.mark.parametrize("shift", [(3.4, -2.3), (-6.0, 4.5)])
def test_translation_moves_joints_by_the_shift(flow, shift):
    prev = _textured()
    dx, dy = shift
    cur = cv2.warpAffine(prev, np.float32([[1, 0, dx], [0, 1, dy]]), prev.shape[::-1], borderMode=cv2.BORDER_REFLECT)
    rng = np.random.default_rng(1)
    kp = np.concatenate([rng.uniform([40, 40], [280, 200], (2, 17, 2)), rng.random((2, 17, 1))], axis=2)
    moved = propagate_keypoints(flow, prev, cur, kp)
    err = moved[..., :2] - kp[..., :2] - np.array([dx, dy])
    assert np.abs(err).max() < 1.0  # within a pixel
    np.testing.assert_array_equal(moved[..., 2], kp[..., 2])  # scores carried


def test_sample_flow_is_bilinear():
    flow = np.zeros((4, 5, 2), np.float32)
    flow[..., 0] = np.arange(5)[None, :]  # u = x
    flow[..., 1] = 10 * np.arange(4)[:, None]  # v = 10 y
    d = sample_flow(flow, np.array([[1.25, 2.5], [-3, 0], [4, 3]]))
    np.testing.assert_allclose(d, [[1.25, 25], [0, 0], [4, 30]])


def test_box_from_joints_enlarges_by_15_percent():
    kp = np.array([[10, 20, 0.9], [110, 220, 0.8], [500, 500, 0.1]])
    b = box_from_joints(kp, thresh=0.4, enlarge=0.15)
    np.testing.assert_allclose(b, [60 - 57.5, 120 - 115, 60 + 57.5, 120 + 115])
    assert box_from_joints(kp[:1], thresh=0.4) is None
