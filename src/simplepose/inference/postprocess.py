"""COCO keypoint post-processing as the paper's code does it: rescoring, OKS-NMS, results JSON.

The pipeline per image: score = box score x mean of the joint confidences above
`in_vis_thre` (0 when none is), then OKS-NMS at 0.9 (or soft OKS-NMS), with the COCO sigmas
and the padded crop area (crop width x height in pixels) as each person's area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core.oks import greedy_nms, joint_similarity, masked_mean
from ..core.poses import Poses
from ..core.skeleton import COCO

if TYPE_CHECKING:  # annotations only: the predictor imports nothing of this module
    from ..config import TestConfig
    from .predictor import BatchPredictor


def rescore(keypoints: np.ndarray, box_scores: np.ndarray, in_vis_thre: float = 0.2) -> np.ndarray:
    """Person scores (N,): box score x mean confidence of the joints above `in_vis_thre`.

    keypoints: (N, K, 3) with confidences in [..., 2]. A person with no joint above the
    threshold scores 0, as in the paper's code.
    """
    conf = np.asarray(keypoints, dtype=np.float64)[..., 2]
    valid = conf > in_vis_thre
    num = valid.sum(axis=1)
    mean = np.divide((conf * valid).sum(axis=1), num, out=np.zeros(len(conf)), where=num > 0)
    return mean * np.asarray(box_scores, dtype=np.float64)


def oks_iou(
    g: np.ndarray,
    d: np.ndarray,
    area_g: float,
    area_d: np.ndarray,
    sigmas: np.ndarray | None = None,
    in_vis_thre: float | None = None,
) -> np.ndarray:
    """OKS between one pose `g` (K, 3) and poses `d` (M, K, 3), as the paper's `oks_iou`.

    The scale is the mean of the two areas. The paper's evaluation passes no `in_vis_thre`;
    with one, we compare the joints confident in both poses (the paper's code meant that,
    but its `and` of two lists keeps only the second pose's mask).
    Returns (M,) similarities.
    """
    sig = np.asarray(COCO.sigmas if sigmas is None else sigmas, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64).reshape(-1, *g.shape)
    scale = (area_g + np.asarray(area_d, dtype=np.float64)) / 2
    terms = joint_similarity(d[..., 0] - g[:, 0], d[..., 1] - g[:, 1], scale, sig)
    if in_vis_thre is None:
        return masked_mean(terms)
    return masked_mean(terms, (g[:, 2] > in_vis_thre)[None, :] & (d[..., 2] > in_vis_thre))


def paper_order(scores: np.ndarray) -> np.ndarray:
    """Best score first, as the paper's `scores.argsort()[::-1]` (equal scores: later first)."""
    return np.argsort(np.asarray(scores))[::-1]


def oks_nms(
    keypoints: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    thresh: float = 0.9,
    sigmas: np.ndarray | None = None,
    in_vis_thre: float | None = None,
) -> np.ndarray:
    """Greedy OKS-NMS: indices kept, best score first (the paper's `oks_nms`).

    keypoints (N, K, 3), scores (N,), areas (N,). A pose is dropped when its OKS with a kept,
    higher-scoring pose exceeds `thresh`.
    """

    def overlap(i: int, rest: np.ndarray) -> np.ndarray:
        return oks_iou(keypoints[i], keypoints[rest], areas[i], areas[rest], sigmas, in_vis_thre)

    return greedy_nms(paper_order(scores), overlap, thresh)


def soft_oks_nms(
    keypoints: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    thresh: float = 0.9,
    sigmas: np.ndarray | None = None,
    in_vis_thre: float | None = None,
    max_dets: int = 20,
) -> np.ndarray:
    """Soft OKS-NMS (as the `soft_oks_nms` of the HRNet authors' follow-up code): after each
    pick the remaining scores decay by exp(-oks^2 / thresh) and are re-sorted; at most
    `max_dets` indices, in pick order."""
    order = paper_order(scores)
    s = np.asarray(scores, dtype=np.float64)[order]
    keep: list[int] = []
    while order.size > 0 and len(keep) < max_dets:
        i = order[0]
        ovr = oks_iou(keypoints[i], keypoints[order[1:]], areas[i], areas[order[1:]], sigmas, in_vis_thre)
        order, s = order[1:], s[1:] * np.exp(-(ovr**2) / thresh)
        resort = np.argsort(s)[::-1]
        order, s = order[resort], s[resort]
        keep.append(int(i))
    return np.array(keep, dtype=np.int64)


def postprocess(
    poses: Poses,
    areas: np.ndarray,
    in_vis_thre: float = 0.2,
    oks_thre: float = 0.9,
    soft: bool = False,
    sigmas: Sequence[float] | None = None,
) -> Poses:
    """Rescore one image's poses and suppress duplicates; `poses.scores` are the box scores.

    areas: (N,) each person's crop area (padded box width x height in pixels).
    """
    if len(poses) == 0:
        return poses
    scores = rescore(poses.keypoints, poses.scores, in_vis_thre)
    sig = None if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    nms = soft_oks_nms if soft else oks_nms
    keep = nms(poses.keypoints, scores, np.asarray(areas, dtype=np.float64), oks_thre, sig)
    if len(keep) == 0:  # as the paper's code: nothing kept -> keep everything
        keep = np.arange(len(poses))
    out = poses.select(keep)
    out.scores = scores[keep]
    return out


def poses_to_results(image_id: int, poses: Poses, category_id: int = 1) -> list[dict]:
    """COCO results entries {image_id, category_id, keypoints [x, y, score]*K, score}."""
    return [
        {
            "image_id": int(image_id),
            "category_id": int(category_id),
            "keypoints": [round(float(v), 3) for v in poses.keypoints[n].reshape(-1)],
            "score": float(poses.scores[n]),
        }
        for n in range(len(poses))
    ]


def postprocess_image(predictor: BatchPredictor, poses: Poses, test: TestConfig) -> Poses:
    """One image's poses rescored and OKS-NMSed as the paper does, with the crop areas as areas.

    The one place `predict`, `eval`, `track` and `PoseEstimator` take it from."""
    _, scales = predictor.crop_boxes(poses.boxes)
    return postprocess(
        poses, scales.prod(axis=1), test.in_vis_thre, test.oks_thre, test.soft_nms, predictor.skeleton.sigmas
    )
