"""Decoding golden values on hand-made heatmaps, flip-back, inverse affine, DARK / UDP."""

import numpy as np
import pytest

from simplepose.core.codec import HeatmapCodec, flip_heatmaps_back
from simplepose.core.skeleton import COCO

W, H = 48, 64


def one_peak(x, y, right=0.0, left=0.0, down=0.0, up=0.0, peak=1.0):
    hm = np.zeros((1, 1, H, W), np.float32)
    hm[0, 0, y, x] = peak
    if x + 1 < W:
        hm[0, 0, y, x + 1] = right
    if x - 1 >= 0:
        hm[0, 0, y, x - 1] = left
    if y + 1 < H:
        hm[0, 0, y + 1, x] = down
    if y - 1 >= 0:
        hm[0, 0, y - 1, x] = up
    return hm


@pytest.mark.parametrize(
    "neigh,expected",
    [
        (dict(right=0.5, left=0.2, down=0.1, up=0.3), (10.25, 19.75)),
        (dict(right=0.2, left=0.5, down=0.3, up=0.1), (9.75, 20.25)),
        (dict(right=0.4, left=0.4, down=0.4, up=0.4), (10.0, 20.0)),  # equal neighbours: no step
    ],
)
def test_quarter_offset_direction(neigh, expected):
    kp, score = HeatmapCodec((192, 256), (W, H)).decode(one_peak(10, 20, **neigh, peak=0.8))
    assert kp[0, 0].tolist() == list(expected)
    assert score[0, 0] == pytest.approx(0.8)


@pytest.mark.parametrize(
    "x,y,stepped",
    [
        (1, 20, False),
        (2, 20, True),
        (W - 1, 20, False),
        (W - 2, 20, True),
        (10, 1, False),
        (10, H - 1, False),
        (0, 0, False),
    ],
)
def test_quarter_offset_only_inside_official_bounds(x, y, stepped):
    # The official test is 1 < px < w - 1 and 1 < py < h - 1: a peak on column 1 gets no step.
    kp, _ = HeatmapCodec((192, 256), (W, H)).decode(one_peak(x, y, right=0.5, down=0.5))
    step = 0.25 if stepped else 0.0
    assert kp[0, 0].tolist() == [x + step, y + step]


def test_non_positive_peak_gives_origin_and_its_score():
    hm = np.full((1, 1, H, W), -0.5, np.float32)
    hm[0, 0, 30, 30] = -0.1
    kp, score = HeatmapCodec((192, 256), (W, H)).decode(hm)
    assert kp[0, 0].tolist() == [0.0, 0.0] and score[0, 0] == pytest.approx(-0.1)


def test_centers_without_scales_is_refused():
    # Image coordinates need both; one alone used to fail deep inside the affine.
    with pytest.raises(ValueError, match="centers given without scales"):
        HeatmapCodec((192, 256), (W, H)).decode(one_peak(10, 20, peak=0.8), centers=np.zeros((1, 2)))


def test_flip_back_mirrors_swaps_and_shifts():
    hm = np.zeros((1, 3, 1, 4), np.float32)
    hm[0, 0, 0] = [1, 2, 3, 4]
    hm[0, 1, 0] = [5, 6, 7, 8]
    hm[0, 2, 0] = [9, 10, 11, 12]
    out = flip_heatmaps_back(hm, [0, 2, 1], shift=True)
    # mirror [1,2,3,4] -> [4,3,2,1], shift right with column 0 kept -> [4,4,3,2]
    assert out[0, 0, 0].tolist() == [4, 4, 3, 2]
    assert out[0, 1, 0].tolist() == [12, 12, 11, 10]  # channel 1 now holds joint 2's map
    assert out[0, 2, 0].tolist() == [8, 8, 7, 6]
    assert flip_heatmaps_back(hm, [0, 2, 1], shift=False)[0, 0, 0].tolist() == [4, 3, 2, 1]


def test_inverse_affine_maps_heatmap_centre_to_box_centre():
    center, scale = np.array([[321.5, 207.25]]), np.array([[150.0, 200.0]])
    codec = HeatmapCodec((192, 256), (W, H))
    img = codec.to_image(np.array([[[W / 2, H / 2]]]), center, scale)
    np.testing.assert_allclose(img[0, 0], center[0], atol=1e-6)
    # A pixel step in the heatmap is scale / heatmap size in the image.
    img2 = codec.to_image(np.array([[[W / 2 + 1, H / 2 + 2]]]), center, scale)
    np.testing.assert_allclose(img2[0, 0] - center[0], [150.0 / W, 2 * 200.0 / H], atol=1e-6)
    # Through decode: a symmetric peak on the centre pixel comes back to the box centre.
    kp, _ = codec.decode(one_peak(W // 2, H // 2, 0.5, 0.5, 0.5, 0.5), center, scale)
    np.testing.assert_allclose(kp[0, 0], center[0], atol=1e-6)


def test_udp_inverse_affine_maps_centre_pixel_and_ranges():
    center, scale = np.array([[100.0, 80.0]]), np.array([[60.0, 80.0]])
    codec = HeatmapCodec((192, 256), (W, H), decoder="udp")
    img = codec.to_image(np.array([[[(W - 1) / 2, (H - 1) / 2], [0.0, 0.0], [W - 1.0, H - 1.0]]]), center, scale)
    np.testing.assert_allclose(img[0], [[100, 80], [70, 40], [130, 120]], atol=1e-6)


@pytest.mark.parametrize("x,y", [(50.3, 90.7), (100.1, 20.45), (140.9, 200.2)])
def test_udp_dark_round_trip_is_sub_pixel(x, y):
    enc = HeatmapCodec((192, 256), (W, H), 2.0, encoding="udp", decoder="udp-dark")
    hm, w = enc.encode(np.array([[x, y]]), np.array([2]))
    kp, _ = enc.decode(hm[None])
    exact = np.array([x, y]) / enc.stride
    assert np.abs(kp[0, 0] - exact).max() < 0.05  # DARK recovers the sub-pixel centre
    quarter, _ = HeatmapCodec((192, 256), (W, H), 2.0, encoding="udp", decoder="udp").decode(hm[None])
    assert np.abs(quarter[0, 0] - exact).max() <= 0.5 + 1e-9
    assert np.abs(kp[0, 0] - exact).max() < np.abs(quarter[0, 0] - exact).max() + 1e-9


def test_dark_finds_the_centre_of_a_paper_target():
    codec = HeatmapCodec((192, 256), (W, H), 2.0, decoder="dark")
    hm, _ = codec.encode(np.array([[81.0, 121.0]]), np.array([2]))  # peak on pixel (20, 30)
    kp, score = codec.decode(hm[None])
    np.testing.assert_allclose(kp[0, 0], [20.0, 30.0], atol=1e-6)
    assert score[0, 0] == pytest.approx(1.0)


def test_udp_flip_is_exact_without_shift():
    # A mirrored UDP crop (x -> in_w - 1 - x) gives the flipped-back targets of the original.
    codec = HeatmapCodec((192, 256), (W, H), 2.0, encoding="udp")
    rng = np.random.default_rng(0)
    kp = rng.uniform([20, 20], [170, 230], (17, 2))
    mirrored = kp.copy()
    mirrored[:, 0] = 192 - 1 - kp[:, 0]
    mirrored = mirrored[COCO.flip_index]
    a, _ = codec.encode(kp, np.full(17, 2))
    b, _ = codec.encode(mirrored, np.full(17, 2))
    np.testing.assert_allclose(flip_heatmaps_back(b[None], COCO.flip_index, shift=False)[0], a, atol=1e-6)


def test_paper_flip_back_with_shift_lands_within_a_quarter_pixel():
    # Paper crop: mirrored input x -> W_in - 1 - x sits 0.75 heatmap px left of the mirrored
    # heatmap; the one-pixel shift leaves 0.25 px the other way.
    codec = HeatmapCodec((192, 256), (W, H), 2.0)
    x = np.array([[80.0, 120.0]])  # heatmap (20, 30)
    hm, _ = codec.encode(x, np.array([2]))
    flipped, _ = codec.encode(np.array([[192 - 1 - 80.0, 120.0]]), np.array([2]))  # -> 27.75 rounds to 28
    back = flip_heatmaps_back(flipped[None], [0], shift=True)
    kp_a, _ = codec.decode(hm[None])
    kp_b, _ = codec.decode(back)
    assert kp_a[0, 0].tolist() == [20.0, 30.0]
    assert kp_b[0, 0].tolist() == [20.0, 30.0]


@pytest.mark.parametrize("decoder,udp", [("paper", False), ("dark", False), ("udp", True), ("udp-dark", True)])
def test_the_udp_flag_comes_from_the_codec_and_steers_the_predictor(decoder, udp):
    import torch

    from simplepose.inference.predictor import TopDownPredictor

    assert HeatmapCodec((192, 256), (W, H), decoder=decoder).udp is udp
    predictor = TopDownPredictor(torch.nn.Identity(), decoder=decoder, shift_heatmap=True)
    # UDP crops and decodes with the (size - 1) mapping, so the flip test needs no shift.
    assert predictor.udp is udp and predictor.shift_heatmap is (not udp)
