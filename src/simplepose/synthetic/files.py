"""File helpers of the synthetic data writer: deterministic JSON, meta.json, COCO records.

All files go through the project's atomic writer (`simplepose.core.fileio`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.fileio import atomic_write_json
from ..core.skeleton import COCO
from .scene import PersonAnnotation

#: Sorted keys and fixed separators: the same content always gives the same bytes.
DETERMINISTIC_JSON: dict[str, Any] = {"sort_keys": True, "separators": (",", ":")}


def write_json_atomic(path: str | Path, obj: Any) -> None:
    atomic_write_json(path, obj, **DETERMINISTIC_JSON)


def update_meta(out_dir: str | Path, section: str, info: dict[str, Any]) -> None:
    """Set `section` of DIR/meta.json (the seed and settings each part of the data was made with)."""
    path = Path(out_dir) / "meta.json"
    meta: dict[str, Any] = {"generator": "simplepose.synthetic", "format_version": 1}
    if path.exists():
        try:
            meta = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e}); delete it to regenerate") from None
    meta[section] = info
    atomic_write_json(path, meta, sort_keys=True, indent=1)


def person_category() -> dict[str, Any]:
    """The COCO `categories` entry: 17 COCO joint names and COCO's 1-based skeleton."""
    return {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(COCO.joints),
        "skeleton": [[a + 1, b + 1] for a, b in COCO.limbs],
    }


def coco_annotation(a: PersonAnnotation, ann_id: int, image_id: int) -> dict[str, Any]:
    kp = [round(float(v), 2) if i % 3 != 2 else int(v) for i, v in enumerate(a.keypoints.reshape(-1))]
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": 1,
        "iscrowd": 0,
        "keypoints": kp,
        "num_keypoints": a.num_keypoints,
        "bbox": [float(v) for v in a.bbox],
        "area": float(a.area),
    }


def coco_file(images: list[dict], annotations: list[dict], description: str) -> dict[str, Any]:
    return {
        "info": {"description": description, "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [person_category()],
    }
