"""The tracker on a generated video: ids kept through a crossing and a three-frame occlusion.

The video: textured rectangles ("people", each with its own texture so optical flow sees
them move) over a static noise background. The detector returns the visible people's boxes
(missing some on purpose); the estimator returns the true joints, with noise, of the visible
person its box covers best, and a near-zero-confidence pose on a box that covers nobody.
"""

import dataclasses

import cv2
import numpy as np
import pytest

from simplepose.config import TrackConfig
from simplepose.core.poses import Poses
from simplepose.core.skeleton import COCO
from simplepose.tracking.similarity import box_iou, oks
from simplepose.tracking.tracker import PoseTracker, greedy_match

W, H, PW, PH = 360, 260, 50, 120  # frame and person size
# COCO joints inside a person's box, as fractions of its width and height.
TEMPLATE = np.array(
    [
        (0.5, 0.08),
        (0.45, 0.06),
        (0.55, 0.06),
        (0.4, 0.08),
        (0.6, 0.08),
        (0.3, 0.22),
        (0.7, 0.22),
        (0.2, 0.4),
        (0.8, 0.4),
        (0.15, 0.55),
        (0.85, 0.55),
        (0.38, 0.55),
        (0.62, 0.55),
        (0.38, 0.75),
        (0.62, 0.75),
        (0.38, 0.95),
        (0.62, 0.95),
    ]
)


def make_video(num_frames=24, seed=0):
    """Frames (T, H, W, 3), per-frame dict person -> top-left corner of visible people."""
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur((rng.random((H, W, 3)) * 255).astype(np.uint8), (0, 0), 1.5)
    textures = [cv2.GaussianBlur((rng.random((PH, PW, 3)) * 255).astype(np.uint8), (0, 0), 1.0) for _ in range(3)]
    paths = {  # top-left corner at frame t
        0: lambda t: (20 + 11 * t, 20),  # A walks right ...
        1: lambda t: (290 - 11 * t, 80),  # ... B walks left: they cross around t = 12
        2: lambda t: (150 + 2 * t, 130),  # C, hidden on frames 10, 11, 12
    }
    frames, visible = [], []
    for t in range(num_frames):
        img = background.copy()
        vis = {}
        for p, path in paths.items():
            if p == 2 and 10 <= t <= 12:
                continue
            x, y = path(t)
            img[y : y + PH, x : x + PW] = textures[p]
            vis[p] = np.array([x, y], dtype=np.float64)
        frames.append(img)
        visible.append(vis)
    return frames, visible


def gt_pose(corner):
    return corner + TEMPLATE * [PW, PH]


def gt_box(corner):
    return np.array([corner[0], corner[1], corner[0] + PW, corner[1] + PH])


class FakeEstimator:
    def __init__(self, visible, seed=0):
        self.visible, self.t, self.rng = visible, -1, np.random.default_rng(seed)

    def __call__(self, frame, boxes, scores):
        people = list(self.visible[self.t].items())
        kpts = np.zeros((len(boxes), 17, 3))
        for i, box in enumerate(boxes):
            ious = [box_iou(box[None], gt_box(c)[None])[0, 0] for _, c in people]
            if people and max(ious) > 0.3:
                kpts[i, :, :2] = gt_pose(people[int(np.argmax(ious))][1]) + self.rng.normal(0, 1.0, (17, 2))
                kpts[i, :, 2] = 0.9
            else:  # background: a pose nobody should track
                kpts[i, :, :2] = (box[:2] + box[2:]) / 2
                kpts[i, :, 2] = 0.05
        return Poses(kpts, np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64))


def run(settings, missed=()):
    """Track the video; returns per frame {GT person: predicted id} and the outputs.

    The detector lists the boxes in a new random order every frame, as a real one (ordered by
    score) does: a tracker that matched by position in the list would swap ids.
    """
    frames, visible = make_video()
    est = FakeEstimator(visible)
    tracker = PoseTracker(COCO, est, settings)
    order = np.random.default_rng(1)
    ids = []
    for t, frame in enumerate(frames):
        est.t = t
        dets = [gt_box(c) + np.array([-6, -8, 6, 8]) for p, c in visible[t].items() if (t, p) not in missed]
        dets = [dets[i] for i in order.permutation(len(dets))]
        out = tracker.step(frame, np.array(dets).reshape(-1, 4), np.full(len(dets), 0.9))
        got = {}
        for p, c in visible[t].items():  # which output pose is person p
            d = np.linalg.norm(out.keypoints[:, :, :2] - gt_pose(c)[None], axis=2).mean(axis=1) if len(out) else []
            if len(out) and d.min() < 5:
                got[p] = int(out.track_ids[int(np.argmin(d))])
        assert len(set(out.track_ids.tolist())) == len(out)
        got["poses"] = len(out)
        ids.append(got)
    return ids, visible


def ids_of(ids, person):
    return {frame[person] for frame in ids if person in frame and person != "poses"}


def test_ids_kept_through_crossing_and_occlusion():
    ids, visible = run(TrackConfig())
    for t, frame in enumerate(ids):
        assert set(frame) - {"poses"} == set(visible[t])  # every visible person is found ...
        assert frame["poses"] == len(visible[t])  # ... and nothing else (no pose on background)
    assert len(ids_of(ids, 0)) == 1 and len(ids_of(ids, 1)) == 1  # crossing
    assert len(ids_of(ids, 2)) == 1  # hidden on frames 10-12, same id after
    assert len(ids_of(ids, 0) | ids_of(ids, 1) | ids_of(ids, 2)) == 3


def test_single_frame_similarity_loses_the_occluded_id():
    ids, _ = run(dataclasses.replace(TrackConfig(), similarity="flow_oks"))
    assert len(ids_of(ids, 2)) == 2  # the queue is what brings the id back
    assert len(ids_of(ids, 0)) == 1 and len(ids_of(ids, 1)) == 1


@pytest.mark.parametrize("propagate", [True, False])
def test_propagation_recovers_missed_detections(propagate):
    missed = {(5, 0), (6, 0), (14, 1)}
    ids, _ = run(dataclasses.replace(TrackConfig(), propagate=propagate), missed)
    found = [0 in ids[5], 0 in ids[6], 1 in ids[14]]  # found by the propagated boxes only
    assert found == ([True] * 3 if propagate else [False] * 3)
    if propagate:
        assert len(ids_of(ids, 0)) == 1 and len(ids_of(ids, 1)) == 1


def test_the_two_walkers_really_cross():
    # A and B swap sides, and around the crossing their boxes overlap by more than IoU 0.2
    # (a box the height of a person apart vertically would make the crossing test trivial).
    _, visible = make_video()
    assert visible[0][0][0] < visible[0][1][0] and visible[-1][0][0] > visible[-1][1][0]
    overlap = max(box_iou(gt_box(v[0])[None], gt_box(v[1])[None])[0, 0] for v in visible)
    assert overlap > 0.2


@pytest.mark.parametrize("similarity", ["box_iou", "pose_oks", "flow_oks", "multi_flow_oks"])
def test_every_similarity_keeps_ids_through_the_crossing(similarity):
    ids, visible = run(dataclasses.replace(TrackConfig(), similarity=similarity, flow="lk"))
    assert all(set(f) - {"poses"} == set(v) for f, v in zip(ids, visible))  # everybody found, every frame
    # Through the crossing each walker keeps one id, and the two never trade them: at the
    # crossing a walker's own box or pose of the previous frame, moved 11 px, still overlaps it
    # far more (box IoU ~0.7) than the other walker's does (~0.25), for every kind of similarity.
    assert len(ids_of(ids, 0)) == 1 and len(ids_of(ids, 1)) == 1 and ids_of(ids, 0) != ids_of(ids, 1)
    # The occlusion of C (frames 10-12) tells the kinds apart. Only multi_flow_oks compares with
    # a track's poses of several past frames, so only it gives C its id back; the single-frame
    # kinds compare with the last frame alone and legitimately cannot bridge a 3-frame gap, so
    # they must keep C's id stable before the gap and give it one new, stable id after.
    before = {f[2] for f in ids[:10]}
    after = {f[2] for f in ids[13:]}
    assert len(before) == 1 and len(after) == 1 and all(2 not in f for f in ids[10:13])
    if similarity == "multi_flow_oks":
        assert after == before
    else:
        assert after != before and not after & (ids_of(ids, 0) | ids_of(ids, 1))


def test_greedy_match_takes_highest_first():
    sim = np.array([[0.9, 0.8], [0.85, 0.1], [0.1, 0.15]])
    # Highest first: (0, 0) at 0.9, then row 1's best column is taken, row 2 gets column 1 (0.15).
    assert greedy_match(sim, 0.1) == [(0, 0), (2, 1)]
    assert greedy_match(sim, 0.5) == [(0, 0)]


def test_oks_of_identical_and_shifted_poses():
    kp = np.concatenate([gt_pose(np.array([0.0, 0.0])), np.full((17, 1), 0.9)], axis=1)
    box = np.array([[0, 0, PW, PH]])
    assert oks(kp[None], kp[None], box, COCO.sigmas_array, 0.4)[0, 0] == pytest.approx(1.0)
    shifted = kp.copy()
    shifted[:, 0] += 10
    # exp(-d^2 / (2 s^2 (2 sigma)^2)) averaged over the joints, s^2 = box area
    expect = np.mean(np.exp(-100 / (2 * PW * PH * (2 * COCO.sigmas_array) ** 2)))
    assert oks(shifted[None], kp[None], box, COCO.sigmas_array, 0.4)[0, 0] == pytest.approx(expect)


def test_pipeline_frames_folder_to_posetrack_file_scores_perfectly(tmp_path):
    from simplepose.core.frames import open_frames
    from simplepose.evaluation.posetrack import evaluate_posetrack
    from simplepose.formats.posetrack import PoseTrackFrame, PoseTrackPerson, PoseTrackVideo, read_posetrack
    from simplepose.tracking.pipeline import run_to_posetrack, save_run, track_frames

    frames, visible = make_video()
    for t, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"{t:06d}.png"), f)
    source = open_frames(tmp_path)
    assert len(source.names) == len(frames)
    # GT file of the generated video: every person's 17 joints, head box 20 x 20 at the nose.
    gt_frames = []
    for t, vis in enumerate(visible):
        people = []
        for p, c in vis.items():
            kp = np.concatenate([gt_pose(c), np.ones((17, 1))], axis=1)
            nose = kp[0, :2]
            people.append(PoseTrackPerson(p, kp, head_box=np.array([*nose - 10, *nose + 10])))
        gt_frames.append(PoseTrackFrame(100 + t, source.names[t], True, people, [], {"id": 100 + t}))
    gt = PoseTrackVideo("toy", COCO, gt_frames)
    est = FakeEstimator(visible)

    def detector(image, image_id):
        t = image_id - 100
        est.t = t
        boxes = np.array([gt_box(c) for c in visible[t].values()]).reshape(-1, 4)
        return boxes, np.full(len(boxes), 0.9)

    run = track_frames(
        source.frames(), [f.image_id for f in gt_frames], PoseTracker(COCO, est, TrackConfig()), detector
    )
    assert len(run.poses) == len(frames) and run.fps > 0
    path = save_run(run_to_posetrack("toy", run, COCO, 0.4, frames_like=gt), tmp_path / "out")
    pred = read_posetrack(path)
    assert [f.image_id for f in pred.frames] == [f.image_id for f in gt.frames]
    m = evaluate_posetrack([(gt, pred)])
    assert m["mAP"] == pytest.approx(100.0) and m["MOTA"] == pytest.approx(100.0)
