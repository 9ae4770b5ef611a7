"""The heatmap encoder, vectorised over joints (no per-joint Python loop in the data hot
path), against the dense UDP definition; the paper's targets have golden tests in
test_targets.py."""

import numpy as np

from simplepose.core.codec import HeatmapCodec


def udp_definition(keypoints, input_size, heatmap_size, sigma):
    """Dense UDP targets: a Gaussian at the exact joint (stride (in - 1) / (hm - 1)), inside
    the 6 sigma + 1 window around the rounded pixel."""
    w, h = heatmap_size
    stride = (np.array(input_size) - 1.0) / (np.array(heatmap_size) - 1.0)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    maps = np.zeros((len(keypoints), h, w))
    r = 3 * sigma
    for j, k in enumerate(keypoints):
        exact = k / stride
        mu = np.trunc(exact + 0.5)
        inside = (np.abs(xs - mu[0]) <= r) & (np.abs(ys - mu[1]) <= r)
        maps[j] = np.exp(-((xs - exact[0]) ** 2 + (ys - exact[1]) ** 2) / (2 * sigma**2)) * inside
    return maps


def test_vectorised_udp_encoding_matches_the_definition():
    rng = np.random.default_rng(0)
    kps = rng.uniform(-10, 74, size=(40, 2)) * [1, 1.5]
    codec = HeatmapCodec((64, 96), (16, 24), 2.0, encoding="udp")
    maps, weights = codec.encode(kps, np.full(len(kps), 2))
    want = udp_definition(kps, (64, 96), (16, 24), 2.0)
    np.testing.assert_allclose(maps, want * weights[:, None, None], atol=1e-6)
    assert weights.sum() > 30  # most joints land on the map
