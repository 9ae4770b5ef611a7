import numpy as np
import pytest

from simplepose.codec import HeatmapCodec
from simplepose.geometry import box_to_center_scale, crop_affine, warp_points


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
    from simplepose.transforms import crop_matrix, warp_crop

    img = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    c, s = np.array([30.0, 25.0]), np.array([40.0, 40.0])
    a = warp_crop(img, crop_matrix(c, s, 10.0, (32, 32), flip_width=80), (32, 32))
    flipped = np.ascontiguousarray(img[:, ::-1])
    b = warp_crop(flipped, crop_matrix([80 - 1 - c[0], c[1]], s, 10.0, (32, 32)), (32, 32))
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
