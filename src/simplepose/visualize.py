"""Drawing poses on images, and writing images and videos.

Colours (BGR): left limbs and joints orange-blue split so that a mirrored pose is visible at
a glance: left = (255, 128, 0) blue-ish, right = (0, 128, 255) orange, centre = (0, 220, 0).
A limb takes the side of its joints (centre when they differ).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np

from .poses import Poses
from .skeleton import Skeleton

SIDE_COLORS = {"left": (255, 128, 0), "right": (0, 128, 255), "center": (0, 220, 0)}


def id_color(track_id: int) -> Tuple[int, int, int]:
    rng = np.random.default_rng(int(track_id) * 7919 + 17)
    return tuple(int(c) for c in rng.integers(60, 256, 3))


def draw_poses(
    image: np.ndarray, poses: Poses, skeleton: Skeleton, kpt_thresh: float = 0.3, show_ids: bool = True,
    show_boxes: bool = True, thickness: int = 0,
) -> np.ndarray:
    """A copy of `image` (H, W, 3) BGR uint8 with limbs, joints, boxes, scores and track ids drawn.

    Joints whose confidence is under `kpt_thresh` are hidden, and so are the limbs touching
    them. Line widths and dot sizes follow each person's size (its box), so a child in the
    distance and a face-filling portrait both read well; `thickness` > 0 fixes them instead.
    Each box is labelled with the person's score (and `#id` when `poses.track_ids` is set;
    box and label then take the track's colour).
    """
    import cv2

    out = np.ascontiguousarray(image).copy()
    for n in range(len(poses)):
        kp = poses.keypoints[n]
        shown = kp[:, 2] >= kpt_thresh
        tid = None if poses.track_ids is None else int(poses.track_ids[n])
        x1, y1, x2, y2 = (int(round(v)) for v in poses.boxes[n])
        t = thickness or person_thickness(x2 - x1, y2 - y1)
        if show_boxes:
            color = id_color(tid) if tid is not None else (200, 200, 200)
            cv2.rectangle(out, (x1, y1), (x2, y2), color, max(1, t // 2))
            label = (f"#{tid} " if show_ids and tid is not None else "") + f"{float(poses.scores[n]):.2f}"
            scale = 0.35 + 0.12 * t
            (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            top = max(0, y1 - th - base - 2)
            cv2.rectangle(out, (x1, top), (x1 + tw + 4, top + th + base + 2), color, -1)
            cv2.putText(out, label, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
        for a, b in skeleton.limbs:
            if shown[a] and shown[b]:
                sa, sb = skeleton.side(a), skeleton.side(b)
                color = SIDE_COLORS[sa if sa == sb else "center"]
                pa = (int(round(kp[a, 0])), int(round(kp[a, 1])))
                pb = (int(round(kp[b, 0])), int(round(kp[b, 1])))
                cv2.line(out, pa, pb, color, t + 1, cv2.LINE_AA)
        for j in np.flatnonzero(shown):
            cv2.circle(out, (int(round(kp[j, 0])), int(round(kp[j, 1]))), t + 2, SIDE_COLORS[skeleton.side(j)], -1, cv2.LINE_AA)
    return out


def person_thickness(box_w: float, box_h: float) -> int:
    """Limb width in pixels for a person whose box is `box_w` x `box_h`: ~1/100 of its height."""
    return int(np.clip(round(max(box_w, box_h * 0.75) / 100), 1, 12))


def write_image(path: Union[str, Path], image: np.ndarray) -> None:
    """Write an image (format from the suffix); clear error when OpenCV cannot."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise ValueError(f"cannot write image {path} (unknown suffix?)")


class VideoWriter:
    """mp4 (mp4v) writer opened on the first frame, so the size comes from the frames.

    The mp4v encoder refuses frames under 2 pixels a side (a 1xN video) and drops the last row
    or column of an odd side (161x121 comes out 160x120): frames are padded to even sides of at
    least 2 by repeating their edge pixels, so every pixel of every frame is written."""

    def __init__(self, path: Union[str, Path], fps: float = 25.0) -> None:
        self.path, self.fps = Path(path), float(fps) if fps and fps > 0 else 25.0
        self._writer: Optional[object] = None

    def write(self, frame: np.ndarray) -> None:
        import cv2

        pad_h, pad_w = (max(2, n + n % 2) - n for n in frame.shape[:2])
        if pad_h or pad_w:
            frame = cv2.copyMakeBorder(frame, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._writer.isOpened():
                raise ValueError(f"cannot open video writer for {self.path}")
        self._writer.write(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
