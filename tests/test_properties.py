"""Property tests (hypothesis) of the pairs that must undo each other and of OKS.

Geometry: xywh <-> xyxy, box -> (center, scale) -> box, crop affine after its inverse, flips
twice. Codec: encode -> decode within what each decoder can promise. OKS: a similarity in
[0, 1], 1 for identical poses, symmetric where its definition is.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simplepose.core.codec import DECODERS, HeatmapCodec, flip_heatmaps_back
from simplepose.core.geometry import (
    box_to_center_scale,
    boxes_to_center_scale,
    compose,
    crop_affine,
    crop_affine_udp,
    hflip_affine,
    warp_points,
    xywh_to_xyxy,
    xyxy_to_xywh,
)
from simplepose.core.skeleton import COCO
from simplepose.evaluation.cocoeval import compute_oks
from simplepose.inference.postprocess import oks_iou

FEW = settings(max_examples=50, deadline=None)
K = COCO.num_joints

coord = st.floats(-2000.0, 4000.0, allow_nan=False)
side = st.floats(1.0, 2000.0, allow_nan=False)
aspect = st.floats(0.25, 4.0, allow_nan=False)
seed = st.integers(0, 2**32 - 1)


def points(rng: np.random.Generator, n: int, lo: float = -2000.0, hi: float = 4000.0) -> np.ndarray:
    return rng.uniform(lo, hi, (n, 2))


# ---------------------------------------------------------------- geometry
@FEW
@given(st.lists(st.tuples(coord, coord, side, side), min_size=1, max_size=8))
def test_xywh_xyxy_round_trip(boxes):
    b = np.array(boxes)
    back = xyxy_to_xywh(xywh_to_xyxy(b))
    np.testing.assert_allclose(back, b, rtol=1e-12, atol=1e-9)
    assert (xywh_to_xyxy(b)[:, 2:] >= xywh_to_xyxy(b)[:, :2]).all()


@FEW
@given(coord, coord, side, side)
def test_box_to_center_scale_and_back_is_the_box(x, y, w, h):
    """With the box's own aspect ratio and no padding, center +- scale / 2 is the box again."""
    center, scale = box_to_center_scale([x, y, w, h], w / h, padding=1.0)
    np.testing.assert_allclose(np.concatenate([center - scale / 2, scale]), [x, y, w, h], rtol=1e-9, atol=1e-9)


@FEW
@given(coord, coord, side, side, aspect, st.floats(1.0, 2.0))
def test_center_scale_has_the_aspect_ratio_and_holds_the_padded_box(x, y, w, h, ratio, padding):
    center, scale = box_to_center_scale([x, y, w, h], ratio, padding)
    np.testing.assert_allclose(center, [x + w / 2, y + h / 2], rtol=1e-12, atol=1e-9)
    assert scale[0] / scale[1] == pytest.approx(ratio, rel=1e-9)
    assert (scale >= padding * np.array([w, h]) * (1 - 1e-12)).all()
    # it grows one side only: the other stays the padded box's
    assert min(scale[0] / (padding * w), scale[1] / (padding * h)) == pytest.approx(1.0, rel=1e-9)
    vc, vs = boxes_to_center_scale(np.array([[x, y, w, h]]), ratio, padding)
    np.testing.assert_allclose(vc[0], center, rtol=1e-12)
    np.testing.assert_allclose(vs[0], scale, rtol=1e-12)


@FEW
@given(
    coord, coord, side, aspect, st.floats(-180.0, 180.0), st.integers(8, 512), st.integers(8, 512), st.booleans(), seed
)
def test_crop_affine_after_its_inverse_is_the_identity(cx, cy, w, ratio, rot, out_w, out_h, udp, s):
    affine = crop_affine_udp if udp else crop_affine
    center, scale = (cx, cy), (w, w / ratio)
    fwd = affine(center, scale, rot, (out_w, out_h))
    inv = affine(center, scale, rot, (out_w, out_h), inverse=True)
    pts = points(np.random.default_rng(s), 16)
    tol = 1e-7 * (np.abs(pts).max() + abs(cx) + abs(cy) + w)
    np.testing.assert_allclose(warp_points(warp_points(pts, fwd), inv), pts, atol=tol)
    np.testing.assert_allclose(warp_points(pts, compose(fwd, inv)), pts, atol=tol * out_w / w + 1e-6)
    centre_px = ((out_w - 1) / 2, (out_h - 1) / 2) if udp else (out_w / 2, out_h / 2)
    # the paper's affine is solved from float32 points (as the official code): a centre is
    # rounded by up to half a float32 step, magnified by the crop's pixels per image pixel
    f32 = 1.2e-7 * (abs(cx) + abs(cy) + w) * max(out_w, out_h) / min(scale)
    np.testing.assert_allclose(warp_points(np.array(center), fwd), centre_px, atol=f32 + 1e-9)


@FEW
@given(st.floats(1.0, 5000.0), seed)
def test_flips_are_involutions(width, s):
    rng = np.random.default_rng(s)
    kp, vis = points(rng, K, 0.0, width), rng.integers(0, 3, K)
    # The image mirror applied twice, and the left/right joint swap applied twice, change nothing.
    flipped = warp_points(warp_points(kp, hflip_affine(width)), hflip_affine(width))
    np.testing.assert_allclose(flipped, kp, atol=1e-9 * width)
    index = np.asarray(COCO.flip_index)
    assert (vis[index][index] == vis).all()
    np.testing.assert_allclose(compose(hflip_affine(width), hflip_affine(width)), np.eye(3)[:2], atol=1e-12)
    hm = rng.random((2, K, 6, 5)).astype(np.float32)
    twice = flip_heatmaps_back(flip_heatmaps_back(hm, COCO.flip_index, shift=False), COCO.flip_index, shift=False)
    assert (twice == hm).all()


# ---------------------------------------------------------------- codec
#: decoder -> (encoding it pairs with, worst error in heatmap pixels for a joint away from the
#: border). Paper targets put the peak on the nearest pixel: decoding can only promise half a
#: pixel, with the quarter step or DARK alike (a centred peak has no slope to follow; DARK adds
#: ~1e-3 where the 6 sigma + 1 window has an even size, sigma 1.5, and so is not symmetric).
#: UDP targets keep the sub-pixel position: the quarter step gets within a quarter pixel, DARK's
#: Taylor step within a few hundredths (the Gaussian window and the blur truncate its tails;
#: measured <= 0.009 for sigma >= 1).
PRECISION: dict[str, tuple[str, float]] = {
    "paper": ("paper", 0.5),
    "mmpose": ("paper", 0.5),
    "dark": ("paper", 0.51),
    "udp": ("udp", 0.25),
    "udp-dark": ("udp", 0.02),
}


def test_every_decoder_has_a_stated_precision():
    assert set(PRECISION) == set(DECODERS)


codec_case = st.tuples(
    st.sampled_from(sorted(PRECISION)),
    st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    st.sampled_from([2, 4]),
    st.integers(0, 60),
    st.integers(0, 60),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
)


def make_codec(decoder: str, sigma: float, stride: int, extra_w: int, extra_h: int) -> HeatmapCodec:
    """A codec whose heatmap leaves room for a full Gaussian window away from every border."""
    room = int(2 * (3 * sigma + 2)) + 2
    hm = (room + extra_w, room + extra_h)
    return HeatmapCodec((hm[0] * stride, hm[1] * stride), hm, sigma, encoding=PRECISION[decoder][0], decoder=decoder)


def inner_point(codec: HeatmapCodec, u: float, v: float) -> np.ndarray:
    """A heatmap position at least 3 sigma + 2 pixels from every border, (2,)."""
    margin = 3 * codec.sigma + 2
    size = np.array(codec.heatmap_size, dtype=float) - 1 - 2 * margin
    return margin + np.array([u, v]) * size


@settings(max_examples=80, deadline=None)
@given(codec_case)
def test_encode_then_decode_lands_within_the_decoders_precision(case):
    decoder, sigma, stride, ew, eh, u, v = case
    codec = make_codec(decoder, sigma, stride, ew, eh)
    joint = inner_point(codec, u, v) * codec.stride  # input-crop pixels
    heatmaps, weights = codec.encode(joint[None], np.ones(1))
    assert weights[0] == 1
    decoded, scores = codec.decode(heatmaps[None])
    error = np.abs(decoded[0, 0] * codec.stride - joint)  # back in input pixels
    assert (error <= (PRECISION[decoder][1] + 1e-6) * codec.stride).all(), (decoder, error / codec.stride)
    assert 0.75 <= scores[0, 0] <= 1.0  # the peak sample of a unit Gaussian (UDP: off its centre)


@FEW
@given(codec_case, coord, coord, side, st.floats(0.5, 2.0))
def test_image_point_through_crop_encode_decode_comes_back(case, x, y, w, h_over_w):
    """Image -> crop (the crop affine of the codec's kind) -> targets -> decode(centers, scales) -> image."""
    decoder, sigma, stride, ew, eh, u, v = case
    codec = make_codec(decoder, sigma, stride, ew, eh)
    center, scale = box_to_center_scale([x, y, w, w * h_over_w], codec.input_size[0] / codec.input_size[1])
    affine = crop_affine_udp if codec.udp else crop_affine
    joint_in = inner_point(codec, u, v) * codec.stride
    joint_img = warp_points(joint_in, affine(center, scale, 0.0, codec.input_size, inverse=True))
    heatmaps, _ = codec.encode(warp_points(joint_img, affine(center, scale, 0.0, codec.input_size))[None], np.ones(1))
    decoded, _ = codec.decode(heatmaps[None], center[None], scale[None])
    hm = np.array(codec.heatmap_size, dtype=float)
    image_px_per_hm_px = scale / (hm - 1 if codec.udp else hm)
    bound = (PRECISION[decoder][1] + 1e-5) * image_px_per_hm_px + 1e-6 * (abs(x) + abs(y) + w)
    assert (np.abs(decoded[0, 0] - joint_img) <= bound).all()


# ---------------------------------------------------------------- OKS
def pose(rng: np.random.Generator, spread: float = 200.0) -> np.ndarray:
    """(K, 3): x, y and a confidence / visibility in [0, 2]."""
    return np.concatenate([rng.uniform(0, spread, (K, 2)), rng.uniform(0, 2, (K, 1))], axis=1)


area = st.floats(1.0, 1e5)


@FEW
@given(seed, area, area, st.one_of(st.none(), st.floats(0.0, 1.0)), st.floats(0.0, 100.0))
def test_oks_iou_is_a_symmetric_similarity(s, area_a, area_b, thresh, noise):
    rng = np.random.default_rng(s)
    a = pose(rng)
    b = a + np.concatenate([rng.normal(0, noise + 1e-9, (K, 2)), np.zeros((K, 1))], axis=1)
    ab = oks_iou(a, b[None], area_a, np.array([area_b]), in_vis_thre=thresh)
    ba = oks_iou(b, a[None], area_b, np.array([area_a]), in_vis_thre=thresh)
    assert ab.shape == (1,) and 0.0 <= ab[0] <= 1.0
    assert ab[0] == pytest.approx(ba[0], rel=1e-12, abs=1e-15)
    same = oks_iou(a, a[None], area_a, np.array([area_b]), in_vis_thre=thresh)[0]
    confident = thresh is None or (a[:, 2] > thresh).any()
    assert same == pytest.approx(1.0 if confident else 0.0)


@FEW
@given(seed, area, st.floats(0.0, 100.0), st.integers(0, K))
def test_compute_oks_is_in_0_1_and_1_for_the_ground_truth_itself(s, gt_area, noise, hidden):
    rng = np.random.default_rng(s)
    gt = pose(rng)
    gt[:, 2] = 2.0
    gt[rng.permutation(K)[:hidden], 2] = 0.0  # some joints unlabelled (all of them when hidden = K)
    box = np.array([[gt[:, 0].min(), gt[:, 1].min(), np.ptp(gt[:, 0]) + 1, np.ptp(gt[:, 1]) + 1]])
    dt = gt.copy()
    dt[:, :2] += rng.normal(0, noise + 1e-9, (K, 2))
    pair = compute_oks(
        np.stack([dt, gt]), np.stack([gt, gt]), np.repeat(box, 2, 0), np.full(2, gt_area), COCO.sigmas_array
    )
    assert ((pair >= 0.0) & (pair <= 1.0)).all()
    assert pair[1] == pytest.approx(1.0)  # the ground truth itself; inside its box when unlabelled


@FEW
@given(seed, area, st.floats(0.0, 100.0))
def test_compute_oks_is_symmetric_between_fully_labelled_poses(s, gt_area, noise):
    rng = np.random.default_rng(s)
    a = pose(rng)
    a[:, 2] = 2.0
    b = a.copy()
    b[:, :2] += rng.normal(0, noise + 1e-9, (K, 2))
    box, areas = np.array([[0.0, 0.0, 200.0, 200.0]]), np.array([gt_area])
    ab = compute_oks(a[None], b[None], box, areas, COCO.sigmas_array)
    ba = compute_oks(b[None], a[None], box, areas, COCO.sigmas_array)
    assert ab[0] == pytest.approx(ba[0], rel=1e-12, abs=1e-15)
    # a larger object tolerates the same pixel error better
    assert compute_oks(a[None], b[None], box, areas * 4, COCO.sigmas_array)[0] >= ab[0]
