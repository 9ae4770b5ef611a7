"""One OKS kernel, three callers: each caller's area rule and joint mask, pinned.

The callers agree where their rules agree (same area, all joints counted) and differ exactly
where the rules say they should.
"""

import math

import numpy as np
import pytest

from simplepose.core.oks import greedy_nms, joint_similarity, masked_mean
from simplepose.core.skeleton import COCO
from simplepose.evaluation.cocoeval import compute_oks
from simplepose.inference.postprocess import oks_iou, oks_nms
from simplepose.tracking.similarity import box_nms, oks
from simplepose.tracking.similarity import oks_nms as track_oks_nms

SIG = np.asarray(COCO.sigmas, dtype=np.float64)


def _pair(seed: int = 0):
    rng = np.random.default_rng(seed)
    g = np.concatenate([rng.uniform(0, 100, (17, 2)), np.full((17, 1), 2.0)], axis=1)
    d = g.copy()
    d[:, :2] += rng.normal(0, 3, (17, 2))
    d[:, 2] = rng.uniform(0, 1, 17)
    return g, d


def _expected(g, d, area, joints):
    k2 = (2 * SIG[joints]) ** 2
    d2 = ((d[joints, :2] - g[joints, :2]) ** 2).sum(axis=1)
    return float(np.mean(np.exp(-d2 / (2 * area * k2))))


def test_the_three_callers_agree_with_equal_areas_and_all_joints():
    g, d = _pair()
    area = 900.0
    box = np.array([[0.0, 0.0, 30.0, 30.0]])  # area 900, as the tracker measures it
    want = _expected(g, d, area, np.arange(17))
    coco = compute_oks(d[None], g[None], np.array([[0, 0, 30, 30.0]]), np.array([area]), SIG)[0]
    nms = oks_iou(g, d[None], area, np.array([area]), SIG)[0]
    track = oks(d[None], np.concatenate([g[:, :2], np.ones((17, 1))], axis=1)[None], box, SIG, 0.5)[0, 0]
    assert coco == pytest.approx(want, rel=1e-12)
    assert nms == pytest.approx(want, rel=1e-12)
    assert track == pytest.approx(want, rel=1e-12)


def test_each_callers_rule():
    g, d = _pair(1)
    g[:5, 2] = 0  # five joints unlabelled in the ground truth / unconfident in the reference
    # COCO evaluation: the ground truth's area, only its labelled joints.
    assert compute_oks(d[None], g[None], np.array([[0, 0, 10, 10.0]]), np.array([400.0]), SIG)[0] == pytest.approx(
        _expected(g, d, 400.0, np.arange(5, 17)), rel=1e-12
    )
    # The paper's OKS-NMS: the mean of the two areas, every joint (no threshold) ...
    assert oks_iou(g, d[None], 400.0, np.array([1600.0]), SIG)[0] == pytest.approx(
        _expected(g, d, 1000.0, np.arange(17)), rel=1e-12
    )
    # ... or, with a threshold, the joints confident in both poses.
    both = np.flatnonzero((g[:, 2] > 0.3) & (d[:, 2] > 0.3))
    assert oks_iou(g, d[None], 400.0, np.array([1600.0]), SIG, in_vis_thre=0.3)[0] == pytest.approx(
        _expected(g, d, 1000.0, both), rel=1e-12
    )
    # The tracker: the reference's box area, the reference's joints scored >= thresh.
    ref = g.copy()
    ref[:, 2] = np.where(g[:, 2] > 0, 0.9, 0.1)
    box = np.array([[5.0, 5.0, 25.0, 45.0]])  # area 800
    assert oks(d[None], ref[None], box, SIG, 0.5)[0, 0] == pytest.approx(
        _expected(g, d, 800.0, np.arange(5, 17)), rel=1e-12
    )


def test_no_counted_joint_gives_zero_and_unlabelled_gt_uses_its_box():
    g, d = _pair(2)
    ref = g.copy()
    ref[:, 2] = 0.0
    assert oks(d[None], ref[None], np.array([[0, 0, 10, 10.0]]), SIG, 0.5)[0, 0] == 0.0
    # A COCO ground truth without labelled joints: the distance to its box enlarged by its own
    # size on each side, over all K joints (inside it: distance 0, OKS 1).
    gt = np.zeros((1, 17, 3))
    inside = np.full((1, 17, 3), 10.0)
    assert compute_oks(inside, gt, np.array([[5, 5, 10, 10.0]]), np.array([100.0]), SIG)[0] == pytest.approx(1.0)


def test_masked_mean_sums_like_pycocotools():
    rng = np.random.default_rng(3)
    v = rng.uniform(0, 1, (200, 17))
    m = rng.uniform(0, 1, (200, 17)) > 0.4
    got = masked_mean(v, m)
    for row in range(200):
        sel = v[row][m[row]]
        assert got[row] == (sel.sum() / len(sel) if len(sel) else 0.0)  # bit-equal
    assert np.array_equal(masked_mean(v), v.sum(axis=1) / 17)


def test_joint_similarity_shapes_and_range():
    dx = np.zeros((3, 4, 17))
    assert joint_similarity(dx, dx, np.ones((3, 4)), SIG).shape == (3, 4, 17)
    far = joint_similarity(np.full(17, 1e4), np.zeros(17), np.array(1.0), SIG)
    assert np.all((far >= 0) & (far < 1e-6))


def test_one_greedy_nms_serves_poses_and_boxes():
    # Identical poses: only the best survives; a distant one stays.
    base = np.concatenate([np.random.default_rng(4).uniform(0, 50, (17, 2)), np.ones((17, 1))], axis=1)
    kp = np.stack([base, base + [1, 1, 0], base + [500, 500, 0]])
    boxes = np.array([[0, 0, 50, 50], [1, 1, 51, 51], [500, 500, 550, 550]], dtype=float)
    assert oks_nms(kp, np.array([0.8, 0.9, 0.5]), np.full(3, 2500.0), 0.9).tolist() == [1, 2]
    assert track_oks_nms(kp, boxes, np.array([0.8, 0.9, 0.5]), SIG, 0.5, 0.9).tolist() == [1, 2]
    assert box_nms(boxes, np.array([0.8, 0.9, 0.5]), 0.5).tolist() == [1, 2]
    # Ties: the paper's order takes the later index first, the tracker's the earlier one.
    assert oks_nms(kp[:2], np.array([0.7, 0.7]), np.full(2, 2500.0), 0.9).tolist() == [1]
    assert track_oks_nms(kp[:2], boxes[:2], np.array([0.7, 0.7]), SIG, 0.5, 0.9).tolist() == [0]
    # greedy_nms itself: a chain a-b-c where only neighbours overlap keeps a and c.
    sim = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=float)
    assert greedy_nms(np.arange(3), lambda i, rest: sim[i, rest], 0.5).tolist() == [0, 2]
    assert greedy_nms(np.zeros(0, dtype=int), lambda i, rest: sim[i, rest], 0.5).tolist() == []


def test_oks_kernel_matches_the_formula_on_one_joint():
    # exp(-d^2 / (2 s (2 sigma)^2)) with d = 3, s = 100, sigma = 0.1: exp(-9 / 8).
    v = joint_similarity(np.array([3.0]), np.array([0.0]), np.array(100.0), np.array([0.1]))
    assert v[0] == pytest.approx(math.exp(-9 / 8), rel=1e-12)
