"""Similarities between the poses of the current frame and tracked poses (all in [0, 1]).

* `box_iou`: IoU of the person boxes.
* `oks`: object keypoint similarity (COCO's): the mean over the reference pose's confident
  joints of exp(-d^2 / (2 s^2 k^2)), with s^2 the area of the reference pose's box and
  k = 2 sigma per joint (the skeleton's OKS sigmas). "Pose OKS" compares with the previous
  pose as it was; "flow OKS" with the previous pose moved into this frame by optical flow.
* `multi_frame_similarity`: flow OKS against several propagated views of each track (its
  poses of the last L_Q frames, each moved into this frame), combined by max or mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.oks import greedy_nms, joint_similarity, masked_mean


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) xyxy x (M, 4) xyxy -> (N, M) intersection over union (0 for empty boxes)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def oks(
    current: np.ndarray, reference: np.ndarray, ref_boxes: np.ndarray, sigmas: np.ndarray, thresh: float
) -> np.ndarray:
    """OKS of each current pose against each reference pose.

    Args:
        current: (N, K, 3) poses x, y, score.
        reference: (M, K, 3) tracked poses; only their joints scored >= `thresh` count.
        ref_boxes: (M, 4) xyxy boxes of the reference poses; their area is the object scale.
        sigmas: (K,) per-joint OKS sigmas.
    Returns:
        (N, M) in [0, 1]; 0 where a reference pose has no confident joint.
    """
    cur = np.asarray(current, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    n, m = len(cur), len(ref)
    if n == 0 or m == 0:
        return np.zeros((n, m))
    boxes = np.asarray(ref_boxes, dtype=np.float64).reshape(m, 4)
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    # The tracker's rule: the reference pose's box area; its joints scored >= thresh.
    delta = cur[:, None, :, :2] - ref[None, :, :, :2]  # (N, M, K, 2)
    terms = joint_similarity(delta[..., 0], delta[..., 1], np.broadcast_to(area, (n, m)), sigmas)
    return masked_mean(terms, (ref[:, :, 2] >= thresh)[None])


def combine(values: np.ndarray, how: str) -> np.ndarray:
    """Combine similarities over a track's queued views along the last axis: "max" or "mean"."""
    if how == "max":
        return values.max(axis=-1)
    if how == "mean":
        return values.mean(axis=-1)
    raise ValueError(f"unknown way to combine multi-frame similarities {how!r}; known: 'max', 'mean'")


def multi_frame_similarity(
    current: np.ndarray,
    views: Sequence[np.ndarray],
    view_boxes: Sequence[np.ndarray],
    sigmas: np.ndarray,
    thresh: float,
    how: str = "max",
) -> np.ndarray:
    """Flow OKS of each current pose against each track's queue of propagated views.

    Args:
        current: (N, K, 3) poses of this frame.
        views: per track, (Q_i, K, 3) its recent poses moved into this frame by flow.
        view_boxes: per track, (Q_i, 4) the boxes of those poses (object scale).
    Returns:
        (N, T) for the T tracks.
    """
    out = np.zeros((len(current), len(views)))
    for t, (v, b) in enumerate(zip(views, view_boxes)):
        if len(v) and len(current):
            out[:, t] = combine(oks(current, v, b, sigmas, thresh), how)
    return out


def box_nms(boxes: np.ndarray, scores: np.ndarray, thresh: float) -> np.ndarray:
    """Greedy box NMS: indices kept, best score first; a box overlapping a kept one by IoU > thresh goes."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return greedy_nms(_order(scores), lambda i, rest: box_iou(boxes[i : i + 1], boxes[rest])[0], thresh)


def oks_nms(
    keypoints: np.ndarray, boxes: np.ndarray, scores: np.ndarray, sigmas: np.ndarray, kpt_thresh: float, thresh: float
) -> np.ndarray:
    """Greedy pose NMS by the tracker's OKS: indices kept, best score first; OKS > thresh to a kept
    pose drops a pose."""

    def overlap(i: int, rest: np.ndarray) -> np.ndarray:
        return oks(keypoints[rest], keypoints[i : i + 1], boxes[i : i + 1], sigmas, kpt_thresh)[:, 0]

    return greedy_nms(_order(scores), overlap, thresh)


def _order(scores: np.ndarray) -> np.ndarray:
    """Best score first; equal scores (e.g. all propagated boxes) in input order."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
