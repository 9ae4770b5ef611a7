"""MPII in the JSON-list form of the pose repositories -> person records.

Each entry: {"image": name, "center": [x, y], "scale": s, "joints": [[x, y] x 16],
"joints_vis": [0/1 x 16]}, coordinates 1-based (MATLAB), `scale` = person height / 200
(MPII's own annotation unit, `MPII_SCALE_UNIT`). The paper's code turns an entry into a crop as

    c = center; if c[0] != -1: c[1] += 15 * s; s *= 1.25     (move down, enlarge: keep limbs)
    c -= 1; joints -= 1                                       (1-based -> 0-based)
    crop side (pixels) = 200 * s_enlarged = 250 * s.

We express that crop as a *box* so that every dataset goes through the same
`geometry.box_to_center_scale` (padding 1.25): the box is the square of side 200 * s centred
on the adjusted 0-based centre. Padded by 1.25 it gives exactly the official square crop
for any input aspect ratio <= 1 (all MPII inputs are square; the crop width, which is what
the affine uses, is 250 * s either way). An entry with center x == -1 gets no adjustment.

MPII head boxes (for PCKh) are not in this JSON form (they live in the official
`gt_valid.mat`), so `head_box` is None here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.fileio import FileFormatError, read_json
from ..core.skeleton import MPII, Skeleton
from .records import PersonRecord

#: MPII's `scale` field is the person height in units of 200 pixels (its annotation format).
MPII_SCALE_UNIT = 200.0
#: The official loader moves the centre down by 15 * scale pixels before cropping.
CENTER_SHIFT = 15.0


def mpii_box(center: np.ndarray, scale: float) -> np.ndarray:
    """Official MPII centre (1-based) and scale -> the xywh box described in the module doc."""
    c = np.asarray(center, dtype=np.float64).copy()
    if c[0] != -1:
        c[1] += CENTER_SHIFT * scale
        scale = scale * 1.25
    c -= 1.0
    # box_to_center_scale pads by 1.25; the official scale is already enlarged, so undo it.
    side = MPII_SCALE_UNIT * scale / 1.25
    return np.array([c[0] - side / 2, c[1] - side / 2, side, side])


def load_mpii(ann_file: str | Path, image_root: str | Path = "") -> tuple[Skeleton, list[PersonRecord]]:
    """Read an MPII JSON list -> (MPII skeleton, one record per entry).

    `image_id` and `ann_id` are the entry's index in the list (the order PCKh uses).
    Entries without "joints" (the test split) get all joints unlabelled.
    """
    path = str(ann_file)
    data = read_json(path, "annotation file")
    if not isinstance(data, list):
        raise FileFormatError(f"{path}: expected a JSON list of MPII entries")
    k = MPII.num_joints
    records: list[PersonRecord] = []
    for i, a in enumerate(data):
        where = f"{path}: entry [{i}]"
        for key in ("image", "center", "scale"):
            if key not in a:
                raise FileFormatError(f"{where}: missing field {key!r}")
        center = np.asarray(a["center"], dtype=np.float64)
        if center.shape != (2,):
            raise FileFormatError(f"{where}: field 'center' must be [x, y]")
        joints = np.asarray(a.get("joints", np.zeros((k, 2))), dtype=np.float64)
        vis = np.asarray(a.get("joints_vis", np.zeros(k)), dtype=np.float64).reshape(-1)
        if joints.shape != (k, 2):
            raise FileFormatError(f"{where}: field 'joints' has shape {joints.shape}, expected ({k}, 2)")
        if vis.shape != (k,):
            raise FileFormatError(f"{where}: field 'joints_vis' has {vis.size} values, expected {k}")
        box = mpii_box(center, float(a["scale"]))
        records.append(
            PersonRecord(
                image_path=str(Path(image_root) / a["image"]),
                image_id=i,
                box=box,
                keypoints=joints - 1.0,
                visible=(vis > 0).astype(np.int64),
                area=float(box[2] * box[3]),
                ann_id=i,
            )
        )
    return MPII, records
