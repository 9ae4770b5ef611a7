"""Person records: what every reader produces and every dataset consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ImageInfo:
    """One image of an annotation file: id, absolute-or-relative path, size in pixels."""

    id: int
    path: str
    width: int
    height: int


@dataclass
class PersonRecord:
    """One annotated (or detected) person.

    Attributes:
        image_path: path of the image file.
        image_id: the image's id in its annotation file.
        box: (4,) person box xywh in image pixels.
        keypoints: (K, 2) joint positions in image pixels (0-based pixel coordinates).
        visible: (K,) 0 unlabelled, 1 labelled but hidden, 2 labelled and visible.
        score: detector (or ground-truth 1.0) score of the box.
        area: object area (segment area for COCO; used by OKS).
        track_id: person identity in a video, -1 when unknown.
        head_box: (4,) head box xywh (PoseTrack / MPII head size), or None.
        ann_id: the annotation's id in its file, -1 when none.
    """

    image_path: str
    image_id: int
    box: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    score: float = 1.0
    area: float = 0.0
    track_id: int = -1
    head_box: np.ndarray | None = None
    ann_id: int = -1

    @property
    def num_joints(self) -> int:
        return int(self.keypoints.shape[0])
