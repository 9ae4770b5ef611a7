"""Person detections in the COCO results format: [{image_id, category_id, bbox, score}, ...]."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple, Union

import numpy as np

from ..fileio import FileFormatError, read_json


def load_detections(
    path: Union[str, Path], score_thresh: float = 0.0, category_id: int = 1
) -> Dict[int, Tuple[np.ndarray, np.ndarray]]:
    """image id -> (boxes (N, 4) xywh, scores (N,)), people only, score >= `score_thresh`."""
    path = str(path)
    data = read_json(path, "detections file")
    if not isinstance(data, list):
        raise FileFormatError(f"{path}: expected a JSON list of detections (COCO results format)")
    boxes: Dict[int, list] = {}
    scores: Dict[int, list] = {}
    for i, det in enumerate(data):
        where = f"{path}: detection [{i}]"
        for key in ("image_id", "bbox", "score"):
            if key not in det:
                raise FileFormatError(f"{where}: missing field {key!r}")
        if det.get("category_id", category_id) != category_id or det["score"] < score_thresh:
            continue
        if len(det["bbox"]) != 4:
            raise FileFormatError(f"{where}: field 'bbox' must have 4 numbers")
        boxes.setdefault(det["image_id"], []).append(det["bbox"])
        scores.setdefault(det["image_id"], []).append(det["score"])
    return {
        k: (np.asarray(boxes[k], dtype=np.float64).reshape(-1, 4), np.asarray(scores[k], dtype=np.float64))
        for k in boxes
    }
