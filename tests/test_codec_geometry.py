import numpy as np
import pytest

from simplepose.core.codec import HeatmapCodec
from simplepose.core.geometry import (
    box_to_center_scale,
    boxes_to_center_scale,
    crop_affine,
    warp_points,
    widen_to_aspect,
)


def test_affine_round_trip_and_centre():
    center, scale = np.array([320.0, 240.0]), np.array([150.0, 200.0])
    fwd = crop_affine(center, scale, 30.0, (192, 256))
    inv = crop_affine(center, scale, 30.0, (192, 256), inverse=True)
    np.testing.assert_allclose(warp_points(center, fwd), [96.0, 128.0], atol=1e-4)
    pts = np.random.default_rng(0).uniform(0, 500, (20, 2))
    np.testing.assert_allclose(warp_points(warp_points(pts, fwd), inv), pts, atol=1e-3)


def test_box_to_center_scale_widens_and_pads():
    c, s = box_to_center_scale([10, 20, 30, 100], 0.75)
    np.testing.assert_allclose(c, [25, 70])
    np.testing.assert_allclose(s, [75 * 1.25, 100 * 1.25])


def _widen_reference(w, h, aspect):
    """The paper's scalar if/elif (`_box2cs`), which the three former copies each wrote out."""
    if w > aspect * h:
        h = w / aspect
    elif w < aspect * h:
        w = h * aspect
    return w, h


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("aspect", [0.75, 1.0, 192 / 256, 288 / 384, 64 / 96, 1.3])
def test_widen_to_aspect_is_bit_identical_to_the_scalar_formula(dtype, aspect):
    rng = np.random.default_rng(7)
    w = rng.uniform(0, 400, 300).astype(dtype)
    h = rng.uniform(0, 400, 300).astype(dtype)
    # Exact ties (w == aspect * h in the array's own arithmetic): neither side may move.
    w[:50] = (aspect * h[:50]).astype(dtype)
    w[50:55] = 0.0  # degenerate boxes: a zero width is widened to h * aspect
    h[55:60] = 0.0
    assert (w[:50] == aspect * h[:50]).all()
    ww, hh = widen_to_aspect(w, h, aspect)
    ref = np.array([_widen_reference(a, b, aspect) for a, b in zip(w, h)])
    assert ww.dtype == dtype and hh.dtype == dtype
    assert np.array_equal(ww, ref[:, 0]) and np.array_equal(hh, ref[:, 1])  # bitwise, no tolerance
    np.testing.assert_array_equal(ww[:50], w[:50])
    np.testing.assert_array_equal(hh[:50], h[:50])
    assert np.all(ww >= w) and np.all(hh >= h)  # the crop only grows
    ok = (ww > 0) & (hh > 0)
    np.testing.assert_allclose(ww[ok] / hh[ok], aspect, rtol=1e-5 if dtype == np.float32 else 1e-12)
    # Scalars (the half-body crop's extents) go through the same code.
    a, b = widen_to_aspect(w[60], h[60], aspect)
    assert (a, b) == _widen_reference(w[60], h[60], aspect)


def test_box_to_center_scale_equals_the_vectorised_version_and_the_paper_formula():
    rng = np.random.default_rng(3)
    boxes = np.c_[rng.uniform(-50, 500, (200, 2)), rng.uniform(0, 300, (200, 2))]
    boxes[:20, 2] = 0.75 * boxes[:20, 3]  # exact ties
    centers, scales = boxes_to_center_scale(boxes, 0.75)
    for box, c, s in zip(boxes, centers, scales):
        c1, s1 = box_to_center_scale(box, 0.75)
        assert np.array_equal(c1, c) and np.array_equal(s1, s)
        x, y, w, h = (float(v) for v in box)
        assert c1.tolist() == [x + w * 0.5, y + h * 0.5]
        w, h = _widen_reference(w, h, 0.75)
        assert s1.tolist() == [w * 1.25, h * 1.25]


@pytest.mark.parametrize("x,y", [(50.0, 90.0), (100.3, 20.7), (12.0, 250.0)])
def test_encode_decode_round_trip(x, y):
    codec = HeatmapCodec((192, 256), (48, 64), 2.0)
    hm, w = codec.encode(np.array([[x, y]]), np.array([2]))
    assert w[0] == 1 and hm.max() == pytest.approx(1.0)
    kp, score = codec.decode(hm[None])
    # The peak sits on the nearest heatmap pixel; decoding lands within half a heatmap pixel.
    assert np.abs(kp[0, 0] - np.array([x, y]) / 4).max() <= 0.5
    assert score[0, 0] == pytest.approx(1.0)


def test_encode_weight_zero_off_map_and_unlabelled():
    codec = HeatmapCodec((192, 256), (48, 64), 2.0)
    hm, w = codec.encode(np.array([[-40.0, 10.0], [50.0, 50.0], [300.0, 10.0]]), np.array([2, 0, 1]))
    assert w.tolist() == [0.0, 0.0, 0.0] and hm.max() == 0.0


def test_flipped_crop_equals_crop_of_flipped_image():
    from simplepose.core.transforms import crop_matrix, warp_crop

    img = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    c, s = np.array([30.0, 25.0]), np.array([40.0, 40.0])
    a = warp_crop(img, crop_matrix(c, s, 10.0, (32, 32), flip_width=80), (32, 32))
    flipped = np.ascontiguousarray(img[:, ::-1])
    b = warp_crop(flipped, crop_matrix([80 - 1 - c[0], c[1]], s, 10.0, (32, 32)), (32, 32))
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_udp_refuses_a_one_pixel_side_the_paper_codec_takes():
    """UDP maps sizes as (size - 1): a one-pixel heatmap side is one clear error, not a division by zero."""
    from simplepose.core.codec import HeatmapCodec

    for encoding, decoder in (("udp", "paper"), ("paper", "udp"), ("paper", "udp-dark")):
        with pytest.raises(ValueError, match=r"UDP .* needs input and heatmap sides of 2 or more"):
            HeatmapCodec((4, 8), (1, 2), encoding=encoding, decoder=decoder)
    with pytest.raises(ValueError, match="must be positive"):
        HeatmapCodec((4, 8), (0, 2))
    codec = HeatmapCodec((4, 8), (1, 2))  # the paper's stride in / hm is defined
    assert codec.stride.tolist() == [4.0, 4.0]
