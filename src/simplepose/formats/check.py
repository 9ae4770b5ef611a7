"""Checks for the records that enter the system: boxes, keypoints, scores, ids, categories.

Every reader (ground truth, detections, results, PoseTrack files) checks its fields with these
functions where the file is read, so a broken record is one line naming the file, the record
and the field (`FileFormatError`), never a traceback later or a silently wrong number.

`Skips` counts the records a reader or a command left out on purpose (a zero-size detection,
a box outside its image), by reason, so the command can say what it skipped and why, and
`--strict` / `data.on_error: raise` can turn a skip into an error.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.fileio import FileFormatError
from ..core.geometry import MIN_BOX_SIDE
from ..core.words import count


def _is_number(v: Any) -> bool:
    # bool is an int in Python; a JSON true/false is not a coordinate.
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def number(value: Any, where: str, field: str) -> float:
    """A finite real number (not a string, not a boolean, not NaN or infinite)."""
    if not _is_number(value):
        raise FileFormatError(f"{where}: field {field!r} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise FileFormatError(f"{where}: field {field!r} is {value!r}; it must be finite")
    return float(value)


def numbers(value: Any, count: int, where: str, field: str) -> np.ndarray:
    """A list of `count` finite real numbers -> (count,) float64."""
    if not isinstance(value, (list, tuple)):
        raise FileFormatError(f"{where}: field {field!r} must be a list of {count} numbers, got {type(value).__name__}")
    if len(value) != count:
        raise FileFormatError(f"{where}: field {field!r} has {len(value)} numbers, expected {count}")
    bad = [i for i, v in enumerate(value) if not _is_number(v)]
    if bad:
        raise FileFormatError(f"{where}: field {field!r}[{bad[0]}] must be a number, got {value[bad[0]]!r}")
    out = np.asarray(value, dtype=np.float64)
    if not np.isfinite(out).all():
        i = int(np.flatnonzero(~np.isfinite(out))[0])
        raise FileFormatError(f"{where}: field {field!r}[{i}] is {value[i]!r}; every number must be finite")
    return out


def integer(value: Any, where: str, field: str) -> int:
    """A whole number (an id): 7 or 7.0, not "7", not true, not 7.5."""
    if (
        not _is_number(value)
        or not math.isfinite(float(value))
        or float(value) != int(value)
        or not -(2**62) < int(value) < 2**62
    ):  # ids are stored as int64 arrays
        raise FileFormatError(f"{where}: field {field!r} must be a whole number, got {value!r}")
    return int(value)


def items(obj: Any, key: str, where: str) -> list:
    """`obj[key]`, which must be a list (of records); a missing key or another type is an error."""
    if not isinstance(obj, dict) or key not in obj:
        raise FileFormatError(f"{where}: missing field {key!r}")
    if not isinstance(obj[key], list):
        raise FileFormatError(f"{where}: field {key!r} must be a list, got {type(obj[key]).__name__}")
    return obj[key]


def record(value: Any, where: str) -> dict:
    """A JSON object (one record of a list)."""
    if not isinstance(value, dict):
        raise FileFormatError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def person_category(data: Any, source: str) -> dict:
    """The first `categories` entry with keypoint names (a list of strings); its `skeleton`, if
    any, must be a list of [a, b] joint numbers."""
    cats = items(data, "categories", source) if isinstance(data, dict) and "categories" in data else []
    for i, c in enumerate(cats):
        if isinstance(c, dict) and c.get("keypoints"):
            where = f"{source}: categories[{i}]"
            if not isinstance(c["keypoints"], list) or not all(isinstance(n, str) for n in c["keypoints"]):
                raise FileFormatError(f"{where}: field 'keypoints' must be a list of joint names")
            limbs = c.get("skeleton") or []
            if not isinstance(limbs, list) or not all(
                isinstance(p, (list, tuple)) and len(p) == 2 and all(_is_number(v) for v in p) for p in limbs
            ):
                raise FileFormatError(f"{where}: field 'skeleton' must be a list of [a, b] joint numbers")
            return c
    raise FileFormatError(f"{source}: no entry of 'categories' has 'keypoints' names (no person category)")


def box_xywh(value: Any, where: str, field: str = "bbox") -> np.ndarray:
    """(4,) x, y, w, h: finite numbers with w, h >= 0 (a zero-size box is the caller's to skip)."""
    box = numbers(value, 4, where, field)
    if box[2] < 0 or box[3] < 0:
        raise FileFormatError(f"{where}: field {field!r} has a negative width or height ({box[2]:g} x {box[3]:g})")
    return box


def unique(ids: Sequence[Any], source: str, what: str) -> None:
    """Refuse repeated ids (e.g. two images with id 5): the first repeat is named."""
    seen = set()
    for i, v in enumerate(ids):
        if v in seen:
            raise FileFormatError(f"{source}: {what}[{i}]: id {v} is used twice")
        seen.add(v)


class Skips(Counter):
    """Records left out on purpose, counted by reason ("zero-size box", ...)."""

    def add(self, reason: str, strict: bool = False, where: str | None = None) -> None:
        """Count one skip; with `strict` it is an error instead (naming `where`)."""
        if strict:
            raise FileFormatError(f"{where}: {reason}" if where else reason)
        self[reason] += 1

    #: Reasons whose noun is not their last word, and its plural.
    PLURALS = {"box outside its image": "boxes outside their image"}

    def summary(self) -> str:
        """'3 zero-size detection boxes, 1 box outside its image' (empty when nothing was skipped)."""
        return ", ".join(count(n, reason, self.PLURALS.get(reason)) for reason, n in sorted(self.items()))


def outside_image(boxes_xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N,) bool: boxes with no area inside a `width` x `height` image (or none at all).

    Such a box gives a crop of pure padding, and the model's confident "pose" there is noise.
    Boxes that overlap the image are kept as they are, unclipped, as the paper's code crops them
    (clipping them would move the crop and change the published numbers). The image spans
    [0, width] x [0, height] in continuous coordinates, as boxes do (a COCO box of a whole
    image is [0, 0, width, height]), and a side under `geometry.MIN_BOX_SIDE` counts as that,
    about its centre, as the crop takes it: the clipped box of a person filling a one-pixel-wide
    image (x2 = x1) is inside it.
    """
    b = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    side = b[:, 2:] - b[:, :2]
    # (N, 2): what a side under a pixel gains each way; an inverted box (x2 < x1) gains nothing
    grow = np.where(side >= 0, np.maximum(MIN_BOX_SIDE - side, 0.0) / 2, 0.0)
    x1, y1 = np.maximum(b[:, 0] - grow[:, 0], 0.0), np.maximum(b[:, 1] - grow[:, 1], 0.0)
    x2, y2 = np.minimum(b[:, 2] + grow[:, 0], float(width)), np.minimum(b[:, 3] + grow[:, 1], float(height))
    return ~((x2 > x1) & (y2 > y1))
