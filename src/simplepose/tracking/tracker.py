"""The flow-based pose tracker (the paper's Algorithm 1), online, one frame at a time.

Per frame t:
1. `advance(frame)`: every tracked pose of the recent frames is moved from t-1 into t by
   optical flow (one flow computation serves them all).
2. Boxes: the detector's boxes (score >= threshold) plus the boxes of the joints of the people
   tracked in t-1, propagated and enlarged by 15%, unified by box NMS; so a person the
   detector misses in t is still estimated.
3. Poses are estimated in all unified boxes by the shared predictor (`estimate`).
4. `assign(poses)`: similarity between the current poses and the tracks, greedy matching,
   highest similarity first, down to a minimum; unmatched poses start new ids.

`step(frame, boxes, scores)` runs 1-4. `update(poses, frame)` runs 1 and 4 only, for poses
estimated elsewhere (no box propagation then, since the boxes were already chosen).

Similarity (`TrackConfig.similarity`): "box_iou" and "pose_oks" compare with the tracks'
poses of frame t-1 as they were; "flow_oks" with those poses moved into t by flow;
"multi_flow_oks" with each track's poses of the last L_Q frames, each moved into t, so a
person hidden for a few frames gets its id back.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..config import TrackConfig
from ..core.poses import Poses
from ..core.skeleton import Skeleton
from .flow import box_from_joints, build_flow, propagate_keypoints, to_gray
from .similarity import box_iou, box_nms, multi_frame_similarity, oks, oks_nms

#: `estimate(image_bgr, boxes (N, 4) xyxy, scores (N,)) -> Poses`, e.g. a TopDownPredictor.
Estimator = Callable[[np.ndarray, np.ndarray, np.ndarray], Poses]


@dataclass
class _View:
    """A track's pose of frame `frame`, moved by flow into the tracker's current frame."""

    keypoints: np.ndarray  # (K, 3)
    box: np.ndarray  # (4,) the pose's box in its own frame (object scale for OKS)
    frame: int


@dataclass
class _Track:
    track_id: int
    pose: np.ndarray  # (K, 3) as estimated in frame `last_seen`
    box: np.ndarray  # (4,)
    last_seen: int
    views: deque[_View] = field(default_factory=deque)


def _box_iou(poses: Poses, tracks: list[_Track], sigmas: np.ndarray | None, cfg: TrackConfig) -> np.ndarray:
    return box_iou(poses.boxes, np.array([tr.box for tr in tracks]).reshape(-1, 4))


def _pose_oks(poses: Poses, tracks: list[_Track], sigmas: np.ndarray | None, cfg: TrackConfig) -> np.ndarray:
    assert sigmas is not None  # PoseTracker refuses an OKS similarity for a skeleton without sigmas
    return oks(
        poses.keypoints,
        np.array([tr.pose for tr in tracks]),
        np.array([tr.box for tr in tracks]),
        sigmas,
        cfg.keypoint_thresh,
    )


def _flow_oks(poses: Poses, tracks: list[_Track], sigmas: np.ndarray | None, cfg: TrackConfig) -> np.ndarray:
    assert sigmas is not None  # PoseTracker refuses an OKS similarity for a skeleton without sigmas
    last = [tr.views[-1] for tr in tracks]
    return oks(
        poses.keypoints,
        np.array([v.keypoints for v in last]),
        np.array([v.box for v in last]),
        sigmas,
        cfg.keypoint_thresh,
    )


def _multi_flow_oks(poses: Poses, tracks: list[_Track], sigmas: np.ndarray | None, cfg: TrackConfig) -> np.ndarray:
    assert sigmas is not None  # PoseTracker refuses an OKS similarity for a skeleton without sigmas
    views = [np.array([v.keypoints for v in tr.views]) for tr in tracks]
    view_boxes = [np.array([v.box for v in tr.views]) for tr in tracks]
    return multi_frame_similarity(
        poses.keypoints, views, view_boxes, sigmas, cfg.keypoint_thresh, cfg.multi_frame_combine
    )


@dataclass(frozen=True)
class SimilarityKind:
    """One way to compare the current poses (N) with candidate tracks (T): an (N, T) matrix.

    uses_oks: needs the skeleton's OKS sigmas. uses_flow: compares with poses moved by flow.
    multi_frame: each track keeps its views of the last `queue_len` frames, and a track
    unseen for up to that many frames is still a candidate (so a hidden person gets its id back).
    """

    measure: Callable[[Poses, list[_Track], np.ndarray | None, TrackConfig], np.ndarray]
    uses_oks: bool
    uses_flow: bool
    multi_frame: bool = False


#: `TrackConfig.similarity` -> its kind. A new similarity is one entry and its function.
SIMILARITIES: dict[str, SimilarityKind] = {
    "box_iou": SimilarityKind(_box_iou, uses_oks=False, uses_flow=False),
    "pose_oks": SimilarityKind(_pose_oks, uses_oks=True, uses_flow=False),
    "flow_oks": SimilarityKind(_flow_oks, uses_oks=True, uses_flow=True),
    "multi_flow_oks": SimilarityKind(_multi_flow_oks, uses_oks=True, uses_flow=True, multi_frame=True),
}


def greedy_match(sim: np.ndarray, min_similarity: float) -> list[tuple[int, int]]:
    """(row, col) pairs taken highest similarity first, each row and column once, down to the minimum."""
    pairs: list[tuple[int, int]] = []
    if sim.size == 0:
        return pairs
    used_r, used_c = set(), set()
    order = np.argsort(-sim, axis=None, kind="stable")
    for flat in order:
        r, c = divmod(int(flat), sim.shape[1])
        if sim[r, c] < min_similarity:
            break
        if r not in used_r and c not in used_c:
            pairs.append((r, c))
            used_r.add(r)
            used_c.add(c)
    return pairs


class PoseTracker:
    """Online multi-person pose tracker.

    Args:
        skeleton: the estimator's joints (OKS sigmas come from it).
        estimate: the pose estimator for `step` (may be None when only `update` is used).
        settings: the tracker's values (`config.TrackConfig`; its comments give the reasons).
        flow: a point propagator `(prev_gray, cur_gray, points (M, 2)) -> (M, 2)`; by default
            the one `settings.flow` names.
    """

    def __init__(
        self,
        skeleton: Skeleton,
        estimate: Estimator | None = None,
        settings: TrackConfig = TrackConfig(),
        flow=None,
    ) -> None:
        if settings.similarity not in SIMILARITIES:
            raise ValueError(f"unknown track similarity {settings.similarity!r}; known: {sorted(SIMILARITIES)}")
        self.kind = SIMILARITIES[settings.similarity]
        if self.kind.uses_oks and skeleton.sigmas is None:
            raise ValueError(
                f"track similarity {settings.similarity!r} needs OKS sigmas; skeleton "
                f"{skeleton.name!r} has none (use similarity box_iou)"
            )
        self.skeleton = skeleton
        self.estimate = estimate
        self.cfg = settings
        self.sigmas = None if skeleton.sigmas is None else skeleton.sigmas_array
        self.flow = flow if flow is not None else build_flow(settings.flow, settings.dis_preset, settings.flow_max_side)
        self.uses_flow = settings.propagate or self.kind.uses_flow
        self.tracks: list[_Track] = []
        self.frame_index = -1
        self.next_id = 0
        self._prev_gray: np.ndarray | None = None
        self._shape: tuple[int, int] = (0, 0)

    # -- 1. flow ---------------------------------------------------------------------------
    def advance(self, frame: np.ndarray) -> None:
        """Enter the next frame: forget stale tracks, move the rest into it by flow."""
        self.frame_index += 1
        t = self.frame_index
        self._shape = frame.shape[:2]
        horizon = self.cfg.queue_len if self.kind.multi_frame else 1
        self.tracks = [tr for tr in self.tracks if t - tr.last_seen <= horizon]
        for tr in self.tracks:
            while tr.views and t - tr.views[0].frame > horizon:
                tr.views.popleft()
        gray = to_gray(frame) if self.uses_flow else None
        views = [v for tr in self.tracks for v in tr.views]
        if gray is not None and self._prev_gray is not None and views:  # gray: when self.uses_flow
            moved = propagate_keypoints(self.flow, self._prev_gray, gray, np.stack([v.keypoints for v in views]))
            for v, kp in zip(views, moved):
                v.keypoints = kp
        self._prev_gray = gray

    # -- 2. boxes --------------------------------------------------------------------------
    def propagated_boxes(self) -> np.ndarray:
        """(M, 4) xyxy boxes of the joints of the people seen in the previous frame, moved by flow."""
        boxes = []
        h, w = self._shape
        for tr in self.tracks:
            if tr.last_seen != self.frame_index - 1 or not tr.views:
                continue
            b = box_from_joints(tr.views[-1].keypoints, self.cfg.keypoint_thresh, self.cfg.box_enlarge)
            if b is None:
                continue
            b = np.clip(b, 0, [w - 1, h - 1, w - 1, h - 1])
            if b[2] - b[0] >= 2 and b[3] - b[1] >= 2:
                boxes.append(b)
        return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)

    def unify_boxes(self, boxes: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Detector boxes above the threshold plus propagated boxes, after box NMS."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        keep = scores >= self.cfg.det_score_thresh
        boxes, scores = boxes[keep], scores[keep]
        if self.cfg.propagate:
            prop = self.propagated_boxes()
            boxes = np.concatenate([boxes, prop])
            scores = np.concatenate([scores, np.full(len(prop), self.cfg.propagated_score)])
        if len(boxes) == 0:
            return boxes, scores
        keep = box_nms(boxes, scores, self.cfg.nms_thresh)
        return boxes[keep], scores[keep]

    # -- 3 + 4 -----------------------------------------------------------------------------
    def step(self, frame: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> Poses:
        """One frame of Algorithm 1: detector boxes (N, 4) xyxy and scores (N,) -> tracked Poses."""
        if self.estimate is None:
            raise ValueError("PoseTracker.step needs an `estimate` callable (a TopDownPredictor)")
        self.advance(frame)
        boxes, scores = self.unify_boxes(boxes, scores)
        poses = self.estimate(frame, boxes, scores) if len(boxes) else Poses.empty(self.skeleton.num_joints)
        return self.assign(poses)

    def update(self, poses: Poses, frame: np.ndarray) -> Poses:
        """Track poses estimated elsewhere in `frame`: advance + assign."""
        self.advance(frame)
        return self.assign(poses)

    def _filter(self, poses: Poses) -> Poses:
        if len(poses) == 0:
            return poses
        keep = np.nonzero(poses.keypoints[:, :, 2].mean(axis=1) >= self.cfg.min_pose_score)[0]
        poses = poses.select(keep)
        if len(poses) > 1 and self.sigmas is not None:
            poses = poses.select(
                oks_nms(
                    poses.keypoints,
                    poses.boxes,
                    poses.scores,
                    self.sigmas,
                    self.cfg.keypoint_thresh,
                    self.cfg.pose_nms_thresh,
                )
            )
        return poses

    def similarity(self, poses: Poses, tracks: list[_Track]) -> np.ndarray:
        """(N, T) similarity of the current poses to the candidate tracks."""
        return self.kind.measure(poses, tracks, self.sigmas, self.cfg)

    def assign(self, poses: Poses) -> Poses:
        """Give the poses of the current frame track ids (dropping background and duplicate poses)."""
        t = self.frame_index
        poses = self._filter(poses)
        if self.kind.multi_frame:
            candidates = [tr for tr in self.tracks if tr.views]
        else:
            candidates = [tr for tr in self.tracks if tr.last_seen == t - 1]
        ids = np.full(len(poses), -1, dtype=np.int64)
        if len(poses) and candidates:
            for r, c in greedy_match(self.similarity(poses, candidates), self.cfg.min_similarity):
                ids[r] = candidates[c].track_id
                self._see(candidates[c], poses, r)
        for r in np.flatnonzero(ids < 0).tolist():
            tr = _Track(self.next_id, poses.keypoints[r], poses.boxes[r], t)
            self.next_id += 1
            self._see(tr, poses, r)
            self.tracks.append(tr)
            ids[r] = tr.track_id
        return poses.with_track_ids(ids)

    def _see(self, tr: _Track, poses: Poses, r: int) -> None:
        tr.pose = poses.keypoints[r].copy()
        tr.box = poses.boxes[r].copy()
        tr.last_seen = self.frame_index
        tr.views.append(_View(poses.keypoints[r].copy(), poses.boxes[r].copy(), self.frame_index))
