"""`Poses`: the one result type of prediction, evaluation and tracking."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass
class Poses:
    """People found in one image.

    Attributes:
        keypoints: (N, K, 3) x, y in image pixels and a confidence per joint.
        boxes: (N, 4) person boxes xyxy in image pixels (the boxes the crops came from).
        scores: (N,) person scores.
        track_ids: (N,) int64 track ids, or None before tracking.
    """

    keypoints: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.keypoints)
        if self.keypoints.ndim != 3 or self.keypoints.shape[2] != 3:
            raise ValueError(f"keypoints must be (N, K, 3), got {self.keypoints.shape}")
        if self.boxes.shape != (n, 4) or self.scores.shape != (n,):
            raise ValueError(f"boxes {self.boxes.shape} / scores {self.scores.shape} do not match {n} people")
        if self.track_ids is not None and self.track_ids.shape != (n,):
            raise ValueError(f"track_ids {self.track_ids.shape} do not match {n} people")

    def __len__(self) -> int:
        return len(self.keypoints)

    @classmethod
    def empty(cls, num_joints: int) -> Poses:
        return cls(np.zeros((0, num_joints, 3)), np.zeros((0, 4)), np.zeros((0,)))

    def select(self, index: np.ndarray) -> Poses:
        """The people at `index` (indices or a boolean mask)."""
        return Poses(
            self.keypoints[index],
            self.boxes[index],
            self.scores[index],
            None if self.track_ids is None else self.track_ids[index],
        )

    def with_track_ids(self, track_ids: np.ndarray) -> Poses:
        return replace(self, track_ids=np.asarray(track_ids, dtype=np.int64))
