"""PoseTrack evaluation on toy sequences whose AP and MOTA are worked out by hand.

Every toy person has two annotated joints, the nose and the left wrist; the GT head box is
30 x 40 (diagonal 50), so the head size is 0.6 x 50 = 30 px and a joint matches within 15 px.
"""

import json

import numpy as np
import pytest

from simplepose.core.skeleton import COCO, POSETRACK
from simplepose.evaluation.clear_mot import MotAccumulator, min_cost_assignment
from simplepose.evaluation.polygon import points_in_polygon
from simplepose.evaluation.posetrack import evaluate_dirs, evaluate_posetrack
from simplepose.formats.posetrack import PoseTrackFrame, PoseTrackPerson, PoseTrackVideo, write_posetrack

NOSE, WRIST = "nose", "left_wrist"


def person(skel, track_id, nose, wrist, score=(1.0, 1.0), gt=True):
    k = np.zeros((skel.num_joints, 3))
    k[skel.index(NOSE)] = (*nose, 1)
    k[skel.index(WRIST)] = (*wrist, 1)
    s = np.zeros(skel.num_joints)
    s[skel.index(NOSE)], s[skel.index(WRIST)] = score
    x, y = nose
    return PoseTrackPerson(track_id, k, None if gt else s, head_box=np.array([x, y, x + 30, y + 40]) if gt else None)


def video(skel, frames, regions=None):
    regions = regions or {}
    return PoseTrackVideo(
        "toy",
        skel,
        [
            PoseTrackFrame(t, f"{t:06d}.jpg", True, people, regions.get(t, []), {"id": t})
            for t, people in enumerate(frames)
        ],
    )


A, B = ((100, 100), (100, 140)), ((400, 100), (400, 140))


def test_id_switch_default_and_compat():
    gt = video(POSETRACK, [[person(POSETRACK, 1, *A), person(POSETRACK, 2, *B)]] * 3)

    def p(tid, pos):
        return person(POSETRACK, tid, *pos, gt=False)

    pr = video(POSETRACK, [[p(10, A), p(20, B)], [p(10, A), p(20, B)], [p(10, B), p(20, A)]])
    m = evaluate_posetrack([(gt, pr)])
    # 6 objects per joint, both GT people switch ids on the third frame: MOTA = 1 - 2/6.
    assert m["joints"][NOSE]["switches"] == 2
    assert m["MOTA"] == pytest.approx(100 * (1 - 2 / 6))
    assert m["mAP"] == pytest.approx(100.0)
    assert m["MOTP"] == pytest.approx(100.0) and m["precision"] == pytest.approx(100.0)
    # Only the annotated joints are scored (PoseTrack's other joints have no GT here).
    assert np.isnan(m["joints"]["right_ankle"]["AP"])
    # The official tool skips the last frame of the sequence, which is where the switch is.
    c = evaluate_posetrack([(gt, pr)], compat=True)
    assert c["joints"][NOSE]["MOTA"] == pytest.approx(100.0)


def _toy2(pred_skel=POSETRACK):
    s = POSETRACK
    gt = video(s, [[person(s, 1, *A)]] * 4, regions={1: [np.array([[450, 450], [550, 450], [550, 550], [450, 550.0]])]})

    def q(tid, nose, wrist, sc):
        return person(pred_skel, tid, nose, wrist, sc, gt=False)

    pr = video(
        pred_skel,
        [
            [q(5, (103, 100), A[1], (0.9, 0.9))],  # nose 3 px off: distance 0.1 head sizes
            [
                q(5, *A, (0.8, 0.8)),
                q(6, (300, 300), (300, 340), (0.95, 0.95)),  # a false positive
                q(7, (500, 500), (520, 520), (0.99, 0.99)),
            ],  # inside the ignore region: not counted
            [],  # no predictions: the GT person is missed
            [q(5, A[0], (150, 140), (0.7, 0.7))],  # wrist 50 px off: a miss and a false positive
        ],
    )
    return gt, pr


def test_miss_false_positive_ignore_region_empty_frame():
    m = evaluate_posetrack([_toy2()])
    nose, wrist = m["joints"][NOSE], m["joints"][WRIST]
    # nose: 4 objects, 3 matches, 1 miss (empty frame), 1 FP -> MOTA 50, precision 3/4, recall 3/4
    assert (nose["objects"], nose["misses"], nose["false_positives"], nose["switches"]) == (4, 1, 1, 0)
    assert nose["MOTA"] == pytest.approx(50.0)
    assert nose["precision"] == pytest.approx(75.0) and nose["recall"] == pytest.approx(75.0)
    assert nose["MOTP"] == pytest.approx(100 * (1 - 0.1 / 3))
    # wrist: 2 matches, 2 misses, 2 FPs -> MOTA 0
    assert wrist["MOTA"] == pytest.approx(0.0)
    # AP, nose: scores .95 F, .9 T, .8 T, .7 T of 4 GT -> envelope 3/4 over recall 0.75 = 0.5625
    assert nose["AP"] == pytest.approx(56.25)
    # AP, wrist: .95 F, .9 T, .8 T, .7 F -> envelope 2/3 over recall 0.5 = 0.3333
    assert wrist["AP"] == pytest.approx(100 / 3)
    assert m["mAP"] == pytest.approx((56.25 + 100 / 3) / 2)
    assert m["MOTA"] == pytest.approx(25.0)


def test_ignore_region_removes_the_person_inside():
    gt, pr = _toy2()
    gt.frames[1].ignore_regions = []
    m = evaluate_posetrack([(gt, pr)])
    assert m["joints"][NOSE]["false_positives"] == 2  # person 7 now counts


def test_compat_dummy_for_empty_frame_and_last_frame_skipped():
    c = evaluate_posetrack([_toy2()], compat=True)
    nose = c["joints"][NOSE]
    # Frames 0-2 (3 is skipped): match; match + FP; empty -> one dummy object missed + one dummy FP.
    assert (nose["objects"], nose["misses"], nose["false_positives"]) == (3, 1, 2)
    assert nose["MOTA"] == pytest.approx(0.0)
    assert nose["AP"] == pytest.approx(56.25)  # AP uses every frame in both modes


def test_coco_joint_predictions_scored_by_name():
    by_name = evaluate_posetrack([_toy2(pred_skel=COCO)])
    same = evaluate_posetrack([_toy2()])
    # COCO lacks head_top/head_bottom; the joints both have (nose, wrist) score the same.
    assert set(by_name["joints"]) == set(POSETRACK.joints) & set(COCO.joints)
    for key in ("mAP", "MOTA", "MOTP"):
        assert by_name[key] == pytest.approx(same[key])
    with pytest.raises(ValueError, match="15 PoseTrack joints"):
        evaluate_posetrack([_toy2(pred_skel=COCO)], compat=True)


def test_evaluate_dirs_round_trip(tmp_path):
    gt, pr = _toy2()
    write_posetrack(gt, tmp_path / "gt" / "toy.json")
    write_posetrack(pr, tmp_path / "pr" / "toy.json")
    m = evaluate_dirs(tmp_path / "gt", tmp_path / "pr")
    assert m["MOTA"] == pytest.approx(25.0)
    json.dumps(m)  # serialisable
    (tmp_path / "pr" / "toy.json").unlink()
    with pytest.raises(FileNotFoundError, match="toy.json"):
        evaluate_dirs(tmp_path / "gt", tmp_path / "pr")


def test_min_cost_assignment_prefers_more_pairs_then_less_distance():
    nan = np.nan
    # Greedy on the smallest distance (0.1) would leave row 1 unmatched.
    cost = np.array([[0.1, 0.3], [0.2, nan]])
    assert min_cost_assignment(cost) == [(0, 1), (1, 0)]
    assert min_cost_assignment(np.array([[0.4, 0.1, 0.3]])) == [(0, 1)]
    assert min_cost_assignment(np.array([[nan], [0.2], [0.1]])) == [(2, 0)]
    rng = np.random.default_rng(0)
    for _ in range(20):  # against brute force on small matrices
        c = rng.random((3, 3))
        best = min(sum(c[i, p[i]] for i in range(3)) for p in __import__("itertools").permutations(range(3)))
        assert sum(c[i, j] for i, j in min_cost_assignment(c)) == pytest.approx(best)


def test_accumulator_keeps_previous_pairs():
    acc = MotAccumulator()
    acc.update([1, 2], [10, 20], [[0.1, 0.2], [0.2, 0.1]])
    # Swapping the distances does not switch: earlier pairs are kept while still possible.
    acc.update([1, 2], [10, 20], [[0.3, 0.1], [0.1, 0.3]])
    assert (acc.matches, acc.switches) == (4, 0)
    acc.update([1], [20], [[0.1]])  # object 1 now with hypothesis 20: a switch
    assert acc.switches == 1


def test_points_in_polygon():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10.0]])
    pts = np.array([[5, 5], [15, 5], [-1, 5], [9.9, 0.1]])
    assert points_in_polygon(pts, square).tolist() == [True, False, False, True]
    concave = np.array([[0, 0], [10, 0], [10, 10], [5, 2], [0, 10.0]])  # a notch from the top
    assert points_in_polygon(np.array([[5, 8], [5, 1]]), concave).tolist() == [False, True]
