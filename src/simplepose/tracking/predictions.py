"""Tracked poses -> PoseTrack prediction people and files (the format itself: `formats.posetrack`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.poses import Poses
from ..core.skeleton import Skeleton, common_joints
from ..formats.posetrack import PoseTrackFrame, PoseTrackPerson, PoseTrackVideo


def poses_to_people(
    poses: Poses, skeleton: Skeleton, out_skeleton: Skeleton, keypoint_thresh: float
) -> list[PoseTrackPerson]:
    """Tracked Poses of one frame -> prediction people in `out_skeleton`'s joint order.

    Joints are carried over by name; joints `out_skeleton` has but the model lacks, and joints
    scored below `keypoint_thresh`, are written as (0, 0, 0) with score 0, which the
    evaluation reads as "not predicted". Every person needs a track id.
    """
    track_ids = poses.track_ids
    if len(poses) and track_ids is None:
        raise ValueError("poses_to_people: poses carry no track_ids (run the tracker first)")
    pairs = common_joints(out_skeleton, skeleton)  # (output joint, model joint) by name
    out_idx = np.array([o for o, _ in pairs], dtype=np.int64)
    src_idx = np.array([m for _, m in pairs], dtype=np.int64)
    people = []
    for n in range(len(poses)):
        assert track_ids is not None  # refused above when there are people
        kpts = np.zeros((out_skeleton.num_joints, 3))
        scores = np.zeros(out_skeleton.num_joints)
        picked = poses.keypoints[n, src_idx]  # (J, 3) x, y, score
        scores[out_idx] = picked[:, 2]
        kept = picked[:, 2] >= keypoint_thresh
        kpts[out_idx[kept], :2] = picked[kept, :2]
        kpts[out_idx[kept], 2] = 1.0
        people.append(
            PoseTrackPerson(
                int(track_ids[n]),
                kpts,
                scores,
                box=np.asarray(poses.boxes[n], np.float64),
                annotation={"score": float(poses.scores[n]), "category_id": 1},
            )
        )
    return people


def prediction_video(
    name: str, frames: Sequence[PoseTrackFrame], people: Sequence[list[PoseTrackPerson]], skeleton: Skeleton
) -> PoseTrackVideo:
    """A prediction file: the given frames (same order; image records kept) with `people` on them.

    Ignore regions and ground-truth people are not copied; track ids must be unique per frame.
    """
    if len(frames) != len(people):
        raise ValueError(f"prediction_video {name}: {len(frames)} frames but {len(people)} people lists")
    out = []
    for frame, persons in zip(frames, people):
        ids = [p.track_id for p in persons]
        if len(set(ids)) != len(ids):
            raise ValueError(f"prediction_video {name}: frame {frame.image_id} has repeated track ids {ids}")
        image = {k: v for k, v in frame.image.items() if not k.startswith("ignore_regions")}
        out.append(PoseTrackFrame(frame.image_id, frame.file_name, frame.is_labeled, list(persons), [], image))
    return PoseTrackVideo(name, skeleton, out)
