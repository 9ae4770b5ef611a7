"""Rescoring, OKS, OKS-NMS and soft OKS-NMS on hand-made cases."""

import math

import numpy as np
import pytest

from simplepose.core.poses import Poses
from simplepose.inference.postprocess import oks_iou, oks_nms, postprocess, rescore, soft_oks_nms


def test_rescore_means_confident_joints_only():
    kp = np.zeros((3, 3, 3))
    kp[0, :, 2] = [0.1, 0.5, 0.9]
    kp[1, :, 2] = [0.1, 0.2, 0.15]  # none above 0.2 (0.2 itself does not count)
    kp[2, :, 2] = [1.0, 1.0, 0.3]
    s = rescore(kp, np.array([0.8, 0.9, 0.5]), 0.2)
    np.testing.assert_allclose(s, [0.8 * 0.7, 0.0, 0.5 * (2.3 / 3)])


def test_oks_iou_hand_value():
    sig = np.array([0.1, 0.1])
    g = np.array([[0.0, 0.0, 1.0], [10.0, 0.0, 1.0]])
    d = g.copy()
    d[:, 0] += 1.0  # one pixel off on each joint
    # e = 1 / (2 sigma)^2 / ((100 + 100) / 2) / 2 = 0.125 per joint
    assert oks_iou(g, d[None], 100.0, np.array([100.0]), sig)[0] == pytest.approx(math.exp(-0.125))
    # Areas are averaged: (100 + 300) / 2 = 200 -> e = 0.0625
    assert oks_iou(g, d[None], 100.0, np.array([300.0]), sig)[0] == pytest.approx(math.exp(-0.0625))
    # Only joints confident in both count with in_vis_thre.
    d2 = d.copy()
    d2[1, :2] += 100
    d2[1, 2] = 0.0
    assert oks_iou(g, d2[None], 100.0, np.array([100.0]), sig, in_vis_thre=0.5)[0] == pytest.approx(math.exp(-0.125))


def three_people():
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(100, 200, (17, 2)), np.ones((17, 1))], axis=1)
    b = a.copy()
    b[:, :2] += 0.5  # a near duplicate of a
    c = a.copy()
    c[:, :2] += 300  # someone else
    return np.stack([a, b, c]), np.array([10000.0, 10000.0, 10000.0])


def test_oks_nms_drops_the_weaker_duplicate():
    kp, areas = three_people()
    assert oks_nms(kp, np.array([0.9, 0.8, 0.7]), areas, 0.9).tolist() == [0, 2]
    assert oks_nms(kp, np.array([0.8, 0.9, 0.95]), areas, 0.9).tolist() == [2, 1]
    # A threshold above the duplicate's OKS keeps everyone.
    assert sorted(oks_nms(kp, np.array([0.9, 0.8, 0.7]), areas, 0.9999).tolist()) == [0, 1, 2]


def test_soft_oks_nms_decays_duplicates_below_others():
    kp, areas = three_people()
    scores = np.array([0.9, 0.8, 0.5])
    keep = soft_oks_nms(kp, scores, areas, 0.9)
    # b's score decays to 0.8 * exp(-oks^2 / 0.9) < 0.5, so c comes before it.
    oks_ab = oks_iou(kp[0], kp[1][None], areas[0], areas[1:2])[0]
    assert 0.8 * math.exp(-(oks_ab**2) / 0.9) < 0.5
    assert keep.tolist() == [0, 2, 1]
    assert soft_oks_nms(kp, scores, areas, 0.9, max_dets=1).tolist() == [0]


def test_postprocess_rescores_then_suppresses():
    kp, areas = three_people()
    kp[:, :, 2] = 0.5
    kp[1, :, 2] = 0.9  # the duplicate is more confident: it wins after rescoring
    poses = Poses(kp, np.zeros((3, 4)), np.array([0.9, 0.8, 0.6]))
    out = postprocess(poses, areas)
    np.testing.assert_allclose(out.scores, [0.72, 0.3])
    np.testing.assert_allclose(out.keypoints[0], kp[1])
