"""Person detections in the COCO results format: [{image_id, category_id, bbox, score}, ...]."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.fileio import FileFormatError, read_json
from .check import Skips, box_xywh, integer, number


def load_detections(
    path: str | Path,
    score_thresh: float = 0.0,
    category_id: int = 1,
    skips: Skips | None = None,
    strict: bool = False,
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """image id -> (boxes (N, 4) xywh, scores (N,)), people only, score >= `score_thresh`.

    Every detection is checked (`formats.check`): a missing field, a non-number or a non-finite
    number is an error naming the detection. A zero-size box is skipped and counted in `skips`
    (an error with `strict`): it has no crop to look at.
    """
    path = str(path)
    data = read_json(path, "detections file")
    if not isinstance(data, list):
        raise FileFormatError(f"{path}: expected a JSON list of detections (COCO results format)")
    skips = Skips() if skips is None else skips
    boxes: dict[int, list] = {}
    scores: dict[int, list] = {}
    for i, det in enumerate(data):
        where = f"{path}: detection [{i}]"
        if not isinstance(det, dict):
            raise FileFormatError(f"{where}: expected an object with image_id, bbox, score")
        for key in ("image_id", "bbox", "score"):
            if key not in det:
                raise FileFormatError(f"{where}: missing field {key!r}")
        image_id = integer(det["image_id"], where, "image_id")
        score = number(det["score"], where, "score")
        box = box_xywh(det["bbox"], where)
        if integer(det.get("category_id", category_id), where, "category_id") != category_id or score < score_thresh:
            continue
        if box[2] <= 0 or box[3] <= 0:
            skips.add("zero-size detection box", strict, f"{where}: field 'bbox' has zero width or height")
            continue
        boxes.setdefault(image_id, []).append(box)
        scores.setdefault(image_id, []).append(score)
    return {
        k: (np.asarray(boxes[k], dtype=np.float64).reshape(-1, 4), np.asarray(scores[k], dtype=np.float64))
        for k in boxes
    }
