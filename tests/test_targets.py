"""Golden values: heatmap targets, weights and crop affines against the paper's definitions.

The expected values are computed here from the definitions (dense formulas, not the
codec's windowed copy), on joints inside, near and beyond the borders, and on flipped and
rotated crops.
"""

import math

import numpy as np
import pytest

from simplepose.core.codec import HeatmapCodec
from simplepose.core.transforms import crop_matrix


def expected_target(keypoints, visible, input_size, heatmap_size, sigma):
    """The paper's definition: peak 1 at int(x / stride + 0.5), window |d| <= 3 sigma.

    Weight 0 for an unlabelled joint or when the official bounds test fails:
    ul = mu - 3 sigma >= size, or br = mu + 3 sigma + 1 < 0 (so, as in the paper's code, a
    window ending exactly one pixel left of/above the map keeps weight 1 with an empty map).
    """
    w, h = heatmap_size
    stride = (input_size[0] / w, input_size[1] / h)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    maps = np.zeros((len(keypoints), h, w))
    weights = np.zeros(len(keypoints))
    r = 3 * sigma
    for j, ((x, y), v) in enumerate(zip(keypoints, visible)):
        mu_x, mu_y = int(x / stride[0] + 0.5), int(y / stride[1] + 0.5)  # int() truncates toward 0
        off = mu_x - r >= w or mu_y - r >= h or mu_x + r + 1 < 0 or mu_y + r + 1 < 0
        if v <= 0 or off:
            continue
        weights[j] = 1.0
        inside = (np.abs(xs - mu_x) <= r) & (np.abs(ys - mu_y) <= r)
        maps[j] = np.exp(-((xs - mu_x) ** 2 + (ys - mu_y) ** 2) / (2 * sigma**2)) * inside
    return maps, weights


CASES = [
    # (x, y) in 192x256 input pixels, visibility
    ((96.0, 128.0), 2),  # centre
    ((97.9, 129.9), 1),  # rounds up to the next heatmap pixel (24.475 -> 24, 32.475 -> 32)
    ((98.0, 130.0), 1),  # 24.5 -> 25
    ((0.0, 0.0), 2),  # corner
    ((-1.9, -1.9), 2),  # -0.475 + 0.5 -> 0 (truncation, not floor)
    ((-2.1, 5.0), 2),  # -0.525 + 0.5 = -0.025 -> int() -> 0: still pixel 0
    ((-20.0, 40.0), 2),  # -4.5 -> mu -4 (window reaches pixel 2): partial Gaussian
    ((-28.0, 40.0), 2),  # -6.5 -> mu -6: the window's last column is pixel 0
    ((-30.0, 40.0), 2),  # mu -7: window -13..-1 wholly off, but the paper keeps weight 1
    ((-34.0, 40.0), 2),  # mu -8: br = -1 < 0 -> weight 0
    ((191.0, 255.0), 2),  # last input pixel
    ((210.0, 100.0), 2),  # beyond the right border, window still overlaps
    ((216.0, 100.0), 2),  # mu 54 -> ul 48 >= 48 -> weight 0
    ((100.0, 280.0), 2),  # mu_y 70 -> ul 64 >= 64 -> weight 0
    ((100.0, 100.0), 0),  # unlabelled
]


@pytest.mark.parametrize("input_size,heatmap_size,sigma", [((192, 256), (48, 64), 2.0), ((288, 384), (72, 96), 3.0)])
def test_encode_matches_definition(input_size, heatmap_size, sigma):
    scale = input_size[0] / 192
    kps = np.array([c[0] for c in CASES]) * scale
    vis = np.array([c[1] for c in CASES])
    codec = HeatmapCodec(input_size, heatmap_size, sigma)
    maps, weights = codec.encode(kps, vis)
    exp_maps, exp_w = expected_target(kps, vis, input_size, heatmap_size, sigma)
    assert maps.shape == (len(CASES), heatmap_size[1], heatmap_size[0]) and maps.dtype == np.float32
    np.testing.assert_array_equal(weights, exp_w)
    np.testing.assert_allclose(maps, exp_maps, atol=1e-6)


def test_encode_fixture_numbers():
    """A few literal numbers of the 64x48, sigma 2 target (independent of any formula code)."""
    codec = HeatmapCodec((192, 256), (48, 64), 2.0)
    maps, w = codec.encode(
        np.array([[97.9, 129.9], [-30.0, 40.0], [-34.0, 40.0], [-20.0, 40.0]]), np.array([1, 1, 1, 1])
    )
    assert w.tolist() == [1.0, 1.0, 0.0, 1.0]
    assert maps[0, 32, 24] == 1.0
    assert maps[0, 32, 25] == pytest.approx(0.8824969, abs=1e-6)  # exp(-1/8)
    assert maps[0, 34, 26] == pytest.approx(0.3678794, abs=1e-6)  # exp(-8/8)
    assert maps[0, 32, 31] == 0.0 and maps[0, 32, 30] == pytest.approx(0.011108996, abs=1e-7)  # exp(-36/8)
    assert maps[1].max() == 0.0 and maps[2].max() == 0.0
    # mu = (-4, 10): pixel (0, 10) is 4 away, pixel (2, 10) 6 away (the window's edge)
    assert maps[3, 10, 0] == pytest.approx(math.exp(-16 / 8), abs=1e-7)
    assert maps[3, 10, 2] == pytest.approx(math.exp(-36 / 8), abs=1e-7) and maps[3, 10, 3] == 0.0


def expected_matrix(center, scale_w, rot_deg, out_size, flip_width=0.0):
    """Image -> crop as a similarity: q = k R(-rot) (p' - c') + out_centre, p' the mirrored point."""
    k = out_size[0] / scale_w
    t = math.radians(rot_deg)
    rot = k * np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    mirror = np.eye(3)
    c = np.asarray(center, dtype=np.float64)
    if flip_width:
        mirror = np.array([[-1.0, 0, flip_width - 1], [0, 1, 0], [0, 0, 1]])
        c = np.array([flip_width - 1 - c[0], c[1]])
    out_c = np.array(out_size, dtype=np.float64) / 2
    crop = np.eye(3)
    crop[:2, :2], crop[:2, 2] = rot, out_c - rot @ c
    return (crop @ mirror)[:2]


@pytest.mark.parametrize("rot", [0.0, 30.0, -80.0])
@pytest.mark.parametrize("flip_width", [0.0, 640.0])
def test_crop_matrix_matches_definition(rot, flip_width):
    center, scale, out = (300.0, 200.0), (150.0, 200.0), (192, 256)
    m = crop_matrix(center, scale, rot, out, flip_width=flip_width)
    np.testing.assert_allclose(m, expected_matrix(center, scale[0], rot, out, flip_width), atol=1e-4)
    # the crop centre is the box centre (after the mirror), whatever the rotation
    np.testing.assert_allclose(m @ np.array([center[0], center[1], 1.0]), np.array(out) / 2, atol=1e-4)


def test_rotation_turns_person_counter_clockwise():
    """+90 degrees: a point above the centre goes to the left of the crop centre."""
    m = crop_matrix((100.0, 100.0), (96.0, 128.0), 90.0, (192, 256))
    above = m @ np.array([100.0, 80.0, 1.0])
    np.testing.assert_allclose(above, [96 - 40, 128], atol=1e-4)
