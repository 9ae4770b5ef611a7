"""Object keypoint similarity (OKS) and greedy suppression: one kernel, each caller's rule.

The OKS of a pose d against a reference pose g at scale s (an area in pixels^2) is

    mean over the counted joints j of exp(-|d_j - g_j|^2 / (2 s (2 sigma_j)^2)).

Callers differ only in which area is s and which joints count (each is pinned by a test):
- COCO evaluation (`evaluation.cocoeval`): s = the ground truth's area; the joints labelled
  in the ground truth (a ground truth with none measures the distance to its enlarged box,
  over all K joints); summed in pycocotools' order, so AP stays bit-equal.
- OKS-NMS of the paper's post-processing (`inference.postprocess.oks_iou`): s = the mean of the two
  padded crop areas; all joints (or, with a threshold, the joints confident in both poses).
- The tracker (`tracking.similarity.oks`): s = the reference pose's box area; the joints of
  the reference scored at or above the tracker's keypoint threshold.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def joint_similarity(dx: np.ndarray, dy: np.ndarray, scale: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Per-joint similarity exp(-(dx^2 + dy^2) / (2 s (2 sigma)^2)).

    Args:
        dx, dy: (..., K) joint offsets in pixels.
        scale: (...,) the object area s of each pose pair (pixels^2).
        sigmas: (K,) per-joint OKS sigmas.
    Returns:
        (..., K) in [0, 1]. The operation order is pycocotools' (computeOks), so COCO AP
        computed from it is bit-equal; `np.spacing(1)` keeps a zero area finite.
    """
    var = (np.asarray(sigmas, dtype=np.float64) * 2) ** 2
    scale = np.asarray(scale, dtype=np.float64)[..., None]
    e = (dx**2 + dy**2) / var / (scale + np.spacing(1)) / 2
    return np.exp(-e)


def masked_mean(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean over the last axis of the entries where `mask` is True; 0 where none is.

    values: (..., K); mask: (..., K) bool (broadcast to `values`) or None for all joints.
    Each row's selected entries are summed as one contiguous array, as pycocotools sums
    `e[vg > 0]`: numpy's pairwise summation then adds them in the same order, to the last bit
    (multiplying by the mask and summing all K would round differently).
    """
    values = np.asarray(values, dtype=np.float64)
    k = values.shape[-1]
    if mask is None:
        return values.sum(axis=-1) / k if k else np.zeros(values.shape[:-1])
    lead = values.shape[:-1]
    v = values.reshape(-1, k)
    m = np.broadcast_to(mask, values.shape).reshape(-1, k)
    count = m.sum(axis=1)
    out = np.zeros(len(v))
    for n in np.unique(count):
        if n == 0:
            continue
        rows = np.flatnonzero(count == n)
        out[rows] = v[rows][m[rows]].reshape(len(rows), n).sum(axis=1) / n
    return out.reshape(lead)


def greedy_nms(order: np.ndarray, overlap: Callable[[int, np.ndarray], np.ndarray], thresh: float) -> np.ndarray:
    """Greedy suppression: walk `order` (best first); keep a candidate, drop the rest it overlaps.

    Args:
        order: (N,) candidate indices, best first (each caller says how ties break).
        overlap: `overlap(kept, others)` -> (len(others),) similarity of the kept candidate
            (the reference) to each other candidate.
        thresh: a candidate whose overlap with a kept one exceeds this is dropped.
    Returns:
        (M,) int64 indices kept, in pick order.
    """
    order = np.asarray(order, dtype=np.int64)
    keep = []
    while order.size > 0:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        order = rest[np.asarray(overlap(i, rest)) <= thresh] if rest.size else rest
    return np.asarray(keep, dtype=np.int64)
