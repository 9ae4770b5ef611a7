"""Optical flow for the tracker: move points from frame t-1 into frame t, and boxes from joints.

Two propagators with one call signature, `(prev_gray, cur_gray, points (M, 2)) -> (M, 2)`:

* `DenseFlow`: OpenCV's DIS (dense inverse search) flow over the whole frame, sampled
  bilinearly at the points: one flow field serves every joint of every person.
* `SparseFlow`: pyramidal Lucas-Kanade at the points only (cheaper with few people; a point
  LK cannot follow keeps its position).

Pixel convention: a point (x, y) is at pixel centre (x, y), as in `cv2.remap`; flow[y, x]
is the displacement of the pixel at column x, row y.
"""

from __future__ import annotations

import cv2
import numpy as np

DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
#: DIS refuses frames under about 12 pixels a side (its patches and pyramid need room):
#: smaller frames (a 1xN video, or a frame downscaled for `max_side`) are padded to this by
#: repeating their border pixels, and the field is cut back to the frame.
MIN_DIS_SIDE = 16


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) BGR or (H, W) gray -> (H, W) uint8 gray."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(image, dtype=np.uint8)


def sample_flow(flow: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear sample of a (H, W, 2) flow field at (M, 2) points -> (M, 2) displacements.

    Points outside the frame take the flow of the nearest border pixel.
    """
    h, w = flow.shape[:2]
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x = np.clip(pts[:, 0], 0, w - 1)
    y = np.clip(pts[:, 1], 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(int), w - 2) if w > 1 else np.zeros(len(x), int)
    y0 = np.minimum(np.floor(y).astype(int), h - 2) if h > 1 else np.zeros(len(y), int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = flow[y0, x0] * (1 - fx) + flow[y0, x1] * fx
    bottom = flow[y1, x0] * (1 - fx) + flow[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


class DenseFlow:
    """DIS dense flow, optionally computed on a downscaled frame.

    Args:
        preset: "ultrafast", "fast" or "medium" (OpenCV's DIS presets).
        max_side: compute the flow on the frame resized so its longer side is at most this
            (0 = full resolution); the field is scaled back to full-resolution pixels.
    """

    def __init__(self, preset: str = "fast", max_side: int = 0) -> None:
        if preset not in DIS_PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; known: {sorted(DIS_PRESETS)}")
        self.dis = cv2.DISOpticalFlow.create(DIS_PRESETS[preset])
        self.max_side = int(max_side)
        # The last frame pair and its field. The pair itself is kept (not its id()s): a
        # freed array's id can be reused by the next frame, which would return a stale field.
        self._pair: tuple[np.ndarray, np.ndarray] | None = None
        self._flow: np.ndarray | None = None

    def field(self, prev_gray: np.ndarray, cur_gray: np.ndarray) -> np.ndarray:
        """(H, W, 2) float32 flow from `prev_gray` to `cur_gray` (full-resolution pixels)."""
        pair, cached = self._pair, self._flow  # set together, so both are None or neither
        if pair is not None and cached is not None and pair[0] is prev_gray and pair[1] is cur_gray:
            return cached  # one field per frame pair, however many calls sample it
        h, w = cur_gray.shape[:2]
        scale = 1.0
        if self.max_side and max(h, w) > self.max_side:
            scale = self.max_side / max(h, w)
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            a = cv2.resize(prev_gray, size, interpolation=cv2.INTER_AREA)
            b = cv2.resize(cur_gray, size, interpolation=cv2.INTER_AREA)
            small = self._calc(a, b)
            flow = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) / scale
        else:
            flow = self._calc(prev_gray, cur_gray)
        self._pair, self._flow = (prev_gray, cur_gray), flow
        return flow

    def _calc(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """DIS flow (H, W, 2) of two (H, W) gray frames of any size of at least one pixel."""
        h, w = a.shape[:2]
        pad_h, pad_w = max(0, MIN_DIS_SIDE - h), max(0, MIN_DIS_SIDE - w)
        if not (pad_h or pad_w):
            return self._dis(a, b)
        a, b = (cv2.copyMakeBorder(im, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE) for im in (a, b))
        return np.ascontiguousarray(self._dis(a, b)[:h, :w])

    def _dis(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # `flow` is an output argument: None has OpenCV allocate it.
        return self.dis.calc(a, b, None)  # type: ignore[call-overload]  # cv2's stub types flow as a required array

    def __call__(self, prev_gray: np.ndarray, cur_gray: np.ndarray, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(points) == 0:
            return points.copy()
        return points + sample_flow(self.field(prev_gray, cur_gray), points)


class SparseFlow:
    """Pyramidal Lucas-Kanade flow at the points only.

    Args:
        win_size: side of the square window LK matches, in pixels.
        levels: pyramid levels above the full image (larger motions need more).
    """

    def __init__(self, win_size: int = 21, levels: int = 3) -> None:
        self.win_size = int(win_size)
        self.levels = int(levels)

    def __call__(self, prev_gray: np.ndarray, cur_gray: np.ndarray, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(points) == 0:
            return points.copy()
        p0 = points.astype(np.float32).reshape(-1, 1, 2)
        p1, status, _ = cv2.calcOpticalFlowPyrLK(
            prev_gray,
            cur_gray,
            p0,
            None,
            winSize=(self.win_size, self.win_size),
            maxLevel=self.levels,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
        )
        out = p1.reshape(-1, 2).astype(np.float64)
        lost = status.reshape(-1) == 0
        out[lost] = points[lost]  # a point LK cannot follow stays where it was
        return out


def build_flow(method: str = "dis", preset: str = "fast", max_side: int = 0):
    """The propagator named `method`: "dis" (dense, default) or "lk" (sparse)."""
    if method == "dis":
        return DenseFlow(preset, max_side)
    if method == "lk":
        return SparseFlow()
    raise ValueError(f"unknown flow method {method!r}; known: 'dis', 'lk'")


def propagate_keypoints(flow, prev_gray: np.ndarray, cur_gray: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """Move (N, K, 3) keypoints (x, y, score) from the previous frame into the current one.

    Scores are kept; every joint moves, whatever its score, so a joint that becomes
    confident again later is still in place.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.size == 0:
        return kp.copy()
    out = kp.copy()
    out[..., :2] = flow(prev_gray, cur_gray, kp[..., :2].reshape(-1, 2)).reshape(kp.shape[:-1] + (2,))
    return out


def box_from_joints(keypoints: np.ndarray, thresh: float, enlarge: float = 0.15) -> np.ndarray | None:
    """Box (4,) xyxy around the joints scored >= `thresh` of one (K, 3) pose, grown by `enlarge`.

    Width and height grow by the fraction `enlarge` about the box centre (the paper: 15%).
    None when fewer than two joints qualify (no extent to speak of).
    """
    kp = np.asarray(keypoints)
    pts = kp[kp[:, 2] >= thresh, :2]
    if len(pts) < 2:
        return None
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = (x1 - x0) * (1 + enlarge) / 2, (y1 - y0) * (1 + enlarge) / 2
    return np.array([cx - hw, cy - hh, cx + hw, cy + hh])
