"""Boxes, crop affines and point warps.

Conventions, used everywhere in the project:
- Boxes are xywh (COCO) or xyxy in image pixels; a crop is described by `center` (2,) and
  `scale` (2,) = the crop's width and height *in image pixels* (the official code stores
  scale / 200; we never use the magic 200).
- `crop_affine(center, scale, rot, out_size)` is the official `get_affine_transform`: it
  maps `center` to (out_w / 2, out_h / 2), and the crop width `scale[0]` onto `out_w`
  pixels; a point at integer coordinate i sits on pixel i's sample (OpenCV's convention,
  no half-pixel offset), exactly as the paper's code does. Decoding applies the same
  function with `out_size` = heatmap size, so heatmap pixel centres map back consistently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: The paper's crop enlargement around a person box.
BOX_PADDING = 1.25
#: The smallest box side a crop is made for, in image pixels: a box narrower than one pixel
#: (a 1x1 image's whole-image box spans 0 pixels centre to centre) is cropped as one pixel
#: around its centre, so every crop has a positive scale (the crop affines divide by it).
MIN_BOX_SIDE = 1.0


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N,4) x, y, w, h -> (N,4) x1, y1, x2, y2."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    b[:, 2:] += b[:, :2]
    return b


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """(N,4) x1, y1, x2, y2 -> (N,4) x, y, w, h."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    b[:, 2:] -= b[:, :2]
    return b


def widen_to_aspect(w: np.ndarray, h: np.ndarray, aspect_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Grow widths (N,) or heights (N,) so that every w / h equals `aspect_ratio`.

    The one home of the paper's box widening (`_box2cs` and `half_body_transform`): a box
    wider than `aspect_ratio` gets h = w / aspect_ratio, a taller one w = h * aspect_ratio,
    and one of exactly that ratio (w == aspect_ratio * h) is left as it is. The crop only
    ever grows, so no part of the person is cut off. Works on arrays of any shape (scalars
    included) and keeps their dtype: float32 sizes are widened in float32, as before.
    Returns new arrays (w, h); the inputs are not modified.
    """
    w, h = np.asarray(w), np.asarray(h)
    wide = w > aspect_ratio * h
    tall = w < aspect_ratio * h
    # Each branch uses the *original* other side, as the official if/elif does.
    return np.where(tall, h * aspect_ratio, w), np.where(wide, w / aspect_ratio, h)


def box_to_center_scale(
    box_xywh: Sequence[float] | np.ndarray, aspect_ratio: float, padding: float = BOX_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Person box (4,) xywh -> crop (center (2,), scale (2,) in pixels), as the paper's `_box2cs`.

    The box is widened (or heightened) to `aspect_ratio` = input width / input height
    (`widen_to_aspect`), then enlarged by `padding`.
    """
    center, scale = boxes_to_center_scale(np.asarray(box_xywh, dtype=np.float64), aspect_ratio, padding)
    return center[0], scale[0]


def boxes_to_center_scale(
    boxes_xywh: np.ndarray, aspect_ratio: float, padding: float = BOX_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised `box_to_center_scale`: (N,4) xywh -> centers (N,2), scales (N,2) in pixels.

    Sides under `MIN_BOX_SIDE` count as that (before widening), so a tiny or zero-size box gives
    the crop of the pixel at its centre, magnified, rather than a zero scale."""
    b = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    center = b[:, :2] + b[:, 2:] * 0.5
    w, h = widen_to_aspect(np.maximum(b[:, 2], MIN_BOX_SIDE), np.maximum(b[:, 3], MIN_BOX_SIDE), aspect_ratio)
    return center, np.stack([w, h], axis=1) * padding


def _rotate(point: np.ndarray, rad: float) -> np.ndarray:
    sn, cs = math.sin(rad), math.cos(rad)
    return np.array([point[0] * cs - point[1] * sn, point[0] * sn + point[1] * cs])


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return b + np.array([-d[1], d[0]])


def crop_affine(
    center: Sequence[float] | np.ndarray,
    scale: Sequence[float] | np.ndarray,
    rot: float,
    out_size: Sequence[int],
    inverse: bool = False,
    shift: Sequence[float] = (0.0, 0.0),
) -> np.ndarray:
    """2x3 affine from image pixels to a crop of `out_size` = (w, h) pixels (or back).

    The crop is centred at `center`, `scale[0]` image pixels wide (its height follows from
    the output aspect ratio), rotated by `rot` degrees counter-clockwise (positive `rot`
    turns the person counter-clockwise in the crop, as the paper's augmentation does).
    Built from three point pairs exactly like the official `get_affine_transform`.
    """
    import cv2  # local: keeps `import simplepose.core.geometry` light

    center_xy = np.asarray(center, dtype=np.float64)
    src_w = float(np.asarray(scale, dtype=np.float64).reshape(-1)[0])
    dst_w, dst_h = float(out_size[0]), float(out_size[1])
    rad = math.pi * rot / 180.0
    offset = np.asarray(scale, dtype=np.float64) * np.asarray(shift, dtype=np.float64)

    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0] = center_xy + offset
    src[1] = center_xy + _rotate(np.array([0.0, src_w * -0.5]), rad) + offset
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = dst[0] + np.array([0.0, dst_w * -0.5])
    src[2] = _third_point(src[0], src[1])
    dst[2] = _third_point(dst[0], dst[1])
    if inverse:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def hflip_affine(width: float) -> np.ndarray:
    """3x3 matrix of the horizontal mirror of an image `width` pixels wide: x -> width - 1 - x.

    Composing it into a crop affine warps a mirrored crop in one pass instead of warping a
    flipped array view (7x slower to warp on these machines).
    """
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The 2x3 affine `a` after `b` (apply b, then a); each given as 2x3 or 3x3."""

    def full(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=np.float64)
        return m if m.shape == (3, 3) else np.vstack([m, [0.0, 0.0, 1.0]])

    return (full(a) @ full(b))[:2]


def warp_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to points (..., 2) -> (..., 2)."""
    p = np.asarray(points, dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)[:2]
    return p @ m[:, :2].T + m[:, 2]


def crop_affine_udp(
    center: Sequence[float] | np.ndarray,
    scale: Sequence[float] | np.ndarray,
    rot: float,
    out_size: Sequence[int],
    inverse: bool = False,
) -> np.ndarray:
    """2x3 affine of the UDP crop (Huang et al. 2020, "unbiased data processing").

    Unlike `crop_affine`, pixel *ranges* are matched: the crop's `scale[0]` x `scale[1]`
    image pixels map onto [0, out_w - 1] x [0, out_h - 1], and `center` onto
    ((out_w - 1) / 2, (out_h - 1) / 2), so a mirrored crop is the crop mirrored about its
    centre pixel exactly and heatmap <-> input coordinates scale by (hm - 1) / (in - 1).
    `rot` in degrees, counter-clockwise as in `crop_affine`.
    """
    cx, cy = float(center[0]), float(center[1])
    sx = (float(out_size[0]) - 1.0) / float(scale[0])
    sy = (float(out_size[1]) - 1.0) / float(scale[1])
    rad = math.radians(rot)
    cs, sn = math.cos(rad), math.sin(rad)
    # Rotate about the centre (the same sense as crop_affine), scale, move the centre.
    rotm = np.array([[cs, sn], [-sn, cs]])
    lin = np.diag([sx, sy]) @ rotm
    t = np.array([(out_size[0] - 1.0) * 0.5, (out_size[1] - 1.0) * 0.5]) - lin @ np.array([cx, cy])
    fwd = np.hstack([lin, t[:, None]])
    if inverse:
        inv_lin = np.linalg.inv(lin)
        return np.hstack([inv_lin, (-inv_lin @ t)[:, None]])
    return fwd
