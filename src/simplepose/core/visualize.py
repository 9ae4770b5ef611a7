"""Drawing poses on images, and writing images and videos.

Colours (BGR): left limbs and joints orange-blue split so that a mirrored pose is visible at
a glance: left = (255, 128, 0) blue-ish, right = (0, 128, 255) orange, centre = (0, 220, 0).
A limb takes the side of its joints (centre when they differ).

Sizes follow both the person and the image: a limb is ~1/100 of its person's size, bounded by
the image's diagonal (at least ~1/1000 of it, so an 8000x6000 photo shown on a screen still
has visible lines; at most ~1/150 of it), and labels are ~1/6 of the person's height within
1/90 .. 1/45 of the diagonal. Boxes are a light line over a dark outline, so they show on
snow and on night scenes alike. Labels are placed greedily (best score first) above, below or
inside their box, moved when they would cover a label already placed, and left out when no
spot is free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .poses import Poses
from .skeleton import Skeleton

if TYPE_CHECKING:
    import cv2  # for the writer's type only: the module imports without OpenCV

SIDE_COLORS = {"left": (255, 128, 0), "right": (0, 128, 255), "center": (0, 220, 0)}
#: Under every box line and label: a dark edge keeps a light line visible on a light background.
OUTLINE = (0, 0, 0)
FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX (kept numeric so this module imports without OpenCV)
#: cv2.getTextSize's height of "0" in FONT_HERSHEY_SIMPLEX at scale 1, in pixels.
FONT_HEIGHT_AT_1 = 22.0

Rect = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels, inclusive


def id_color(track_id: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(int(track_id) * 7919 + 17)
    b, g, r = (int(c) for c in rng.integers(60, 256, 3))
    return b, g, r


@dataclass(frozen=True)
class Pen:
    """Line widths and sizes for one person on one image, in pixels (font: cv2 scale)."""

    limb: int
    joint_radius: int
    box: int
    font_scale: float
    font_thickness: int


def image_diagonal(width: int, height: int) -> float:
    return float(np.hypot(width, height))


def person_thickness(box_w: float, box_h: float, image_w: int = 0, image_h: int = 0) -> int:
    """Limb width in pixels for a person whose box is `box_w` x `box_h` on an image of `image_w` x `image_h`.

    ~1/100 of the person's size, kept within 1/1000 .. 1/150 of the image diagonal (and at
    least 1 px); without an image size, within 1 .. 12 px.
    """
    size = max(box_w, box_h * 0.75) / 100
    if image_w > 0 and image_h > 0:
        diag = image_diagonal(image_w, image_h)
        lo, hi = max(1.0, diag / 1000), max(2.0, diag / 150)
    else:
        lo, hi = 1.0, 12.0
    return int(round(np.clip(size, lo, hi)))


def person_pen(box_w: float, box_h: float, image_w: int, image_h: int, thickness: int = 0) -> Pen:
    """The `Pen` of one person: limbs from `person_thickness` (or `thickness` > 0, fixed),
    joints a little wider than limbs, boxes half a limb, the label's text height ~1/6 of the
    person within 1/90 .. 1/45 of the image diagonal."""
    t = thickness or person_thickness(box_w, box_h, image_w, image_h)
    diag = image_diagonal(image_w, image_h)
    text_h = float(np.clip(box_h / 6, max(7.0, diag / 90), max(9.0, diag / 45)))
    if thickness:
        text_h = (0.35 + 0.12 * thickness) * FONT_HEIGHT_AT_1
    return Pen(
        limb=t + 1,
        joint_radius=max(t + 2, int(round(1.4 * t))),
        box=max(1, (t + 1) // 2),
        font_scale=text_h / FONT_HEIGHT_AT_1,
        font_thickness=max(1, int(round(text_h / 14))),
    )


def place_labels(
    boxes: np.ndarray,
    sizes: Sequence[tuple[int, int]],
    image_w: int,
    image_h: int,
    order: Sequence[int] | np.ndarray | None = None,
) -> list[Rect | None]:
    """Where each box's label goes, so that no two labels overlap and all stay inside the image.

    Args:
        boxes: (N, 4) xyxy person boxes.
        sizes: N (width, height) of each label in pixels.
        order: who is placed first (default: as given); callers pass best score first.
    Returns:
        N rectangles (x1, y1, x2, y2), or None for a label that found no free spot. Tried in
        turn: above the box's top-left corner, inside it at the top, below the bottom, inside at
        the bottom; then each of those moved away from the box by 1, 2, 3 label heights.
    """
    placed: list[Rect] = []
    out: list[Rect | None] = [None] * len(boxes)
    for n in range(len(boxes)) if order is None else order:
        w, h = (int(v) for v in sizes[n])
        if w > image_w or h > image_h:
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in boxes[n])
        # (top y, direction of a move away from the box)
        spots = [(y1 - h, -1), (y1, 1), (y2 + 1, 1), (y2 - h, -1)]
        for step in range(4):
            found = None
            for top, away in spots:
                rect = _inside((x1, top + away * step * h, w, h), image_w, image_h)
                if not any(_overlap(rect, p) for p in placed):
                    found = rect
                    break
            if found is not None:
                placed.append(found)
                out[n] = found
                break
    return out


def _inside(spot: tuple[int, int, int, int], image_w: int, image_h: int) -> Rect:
    """A (x, y, w, h) label shifted into the image; returned as inclusive x1, y1, x2, y2."""
    x, y, w, h = spot
    x = min(max(0, x), image_w - w)
    y = min(max(0, y), image_h - h)
    return x, y, x + w - 1, y + h - 1


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def draw_poses(
    image: np.ndarray,
    poses: Poses,
    skeleton: Skeleton,
    kpt_thresh: float = 0.3,
    show_ids: bool = True,
    show_boxes: bool = True,
    thickness: int = 0,
) -> np.ndarray:
    """A copy of `image` (H, W, 3) BGR uint8 with limbs, joints, boxes, scores and track ids drawn.

    Joints whose confidence is under `kpt_thresh` are hidden, and so are the limbs touching
    them. Line widths, dot and font sizes follow each person's size (its box) and the image's
    (see `person_pen`), so a child in the distance, a face-filling portrait and an 8000x6000
    photo all read well; `thickness` > 0 fixes them instead. Each box is labelled with the
    person's score (and `#id` when `poses.track_ids` is set; box and label then take the
    track's colour); labels never cover one another (`place_labels`).
    """
    import cv2

    out = np.ascontiguousarray(image).copy()
    h_img, w_img = out.shape[:2]
    pens = [person_pen(b[2] - b[0], b[3] - b[1], w_img, h_img, thickness) for b in poses.boxes]
    ids = [None] * len(poses) if poses.track_ids is None else [int(t) for t in poses.track_ids]
    colors = [id_color(t) if t is not None else (200, 200, 200) for t in ids]
    for n in range(len(poses)):
        if show_boxes:
            x1, y1, x2, y2 = (int(round(v)) for v in poses.boxes[n])
            cv2.rectangle(out, (x1, y1), (x2, y2), OUTLINE, pens[n].box + 2 * max(1, round(pens[n].box / 3)))
            cv2.rectangle(out, (x1, y1), (x2, y2), colors[n], pens[n].box)
        _draw_skeleton(out, poses.keypoints[n], skeleton, kpt_thresh, pens[n])
    if show_boxes:
        labels = [
            (f"#{ids[n]} " if show_ids and ids[n] is not None else "") + f"{float(poses.scores[n]):.2f}"
            for n in range(len(poses))
        ]
        sizes = []
        for label, pen in zip(labels, pens):
            (tw, th), base = cv2.getTextSize(label, FONT, pen.font_scale, pen.font_thickness)
            pad = max(2, pen.font_thickness)
            sizes.append((tw + 2 * pad, th + base + 2 * pad))
        rects = place_labels(poses.boxes, sizes, w_img, h_img, order=np.argsort(-poses.scores, kind="stable"))
        for label, pen, color, rect in zip(labels, pens, colors, rects):
            if rect is None:
                continue  # no free spot: a missing label beats an unreadable pile of them
            x1, y1, x2, y2 = rect
            pad = max(2, pen.font_thickness)
            cv2.rectangle(out, (x1, y1), (x2, y2), color, -1)
            cv2.rectangle(out, (x1, y1), (x2, y2), OUTLINE, 1)
            (_, th), _ = cv2.getTextSize(label, FONT, pen.font_scale, pen.font_thickness)
            cv2.putText(
                out, label, (x1 + pad, y1 + pad + th), FONT, pen.font_scale, (0, 0, 0), pen.font_thickness, cv2.LINE_AA
            )
    return out


def _draw_skeleton(out: np.ndarray, kp: np.ndarray, skeleton: Skeleton, kpt_thresh: float, pen: Pen) -> None:
    """Limbs then joints of one person (K, 3) onto `out`, in place."""
    import cv2

    shown = kp[:, 2] >= kpt_thresh
    for a, b in skeleton.limbs:
        if shown[a] and shown[b]:
            sa, sb = skeleton.side(a), skeleton.side(b)
            color = SIDE_COLORS[sa if sa == sb else "center"]
            pa = (int(round(kp[a, 0])), int(round(kp[a, 1])))
            pb = (int(round(kp[b, 0])), int(round(kp[b, 1])))
            cv2.line(out, pa, pb, color, pen.limb, cv2.LINE_AA)
    for j in np.flatnonzero(shown):
        cv2.circle(
            out,
            (int(round(kp[j, 0])), int(round(kp[j, 1]))),
            pen.joint_radius,
            SIDE_COLORS[skeleton.side(int(j))],
            -1,
            cv2.LINE_AA,
        )


def write_image(path: str | Path, image: np.ndarray) -> None:
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

    def __init__(self, path: str | Path, fps: float = 25.0) -> None:
        self.path, self.fps = Path(path), float(fps) if fps and fps > 0 else 25.0
        self._writer: cv2.VideoWriter | None = None

    def write(self, frame: np.ndarray) -> None:
        import cv2

        pad_h, pad_w = (max(2, n + n % 2) - n for n in frame.shape[:2])
        if pad_h or pad_w:
            frame = cv2.copyMakeBorder(frame, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, (w, h))
            if not self._writer.isOpened():
                raise ValueError(f"cannot open video writer for {self.path}")
        self._writer.write(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
