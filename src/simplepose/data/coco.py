"""COCO-format keypoint files (COCO, CrowdPose, OCHuman, the synthetic set, ...) -> records.

Any joint count works: joint names and limbs come from the file's `categories` entry.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.fileio import FileFormatError, read_json
from ..core.skeleton import Skeleton, skeleton_from_category
from ..formats import check
from ..formats.check import Skips
from .records import ImageInfo, PersonRecord


@dataclass
class CocoKeypoints:
    """A COCO-format keypoints file, read.

    Attributes:
        path: the annotation file.
        skeleton: joint names, limbs, flip pairs, OKS sigmas (from `categories`).
        images: image id -> ImageInfo (paths joined with the image folder).
        records: person records (see `load_coco_keypoints` for which people are kept).
        data: the parsed JSON, for evaluation code that needs the raw file.
    """

    path: str
    skeleton: Skeleton
    images: dict[int, ImageInfo]
    records: list[PersonRecord]
    data: dict

    def records_by_image(self) -> dict[int, list[PersonRecord]]:
        out: dict[int, list[PersonRecord]] = defaultdict(list)
        for r in self.records:
            out[r.image_id].append(r)
        return out


def _field(obj: dict, key: str, where: str):
    try:
        return obj[key]
    except (KeyError, TypeError):
        raise FileFormatError(f"{where}: missing field {key!r}") from None


def clean_box(box, width: int, height: int) -> np.ndarray:
    """Clip an xywh box to the image as the paper's COCO loader does; w or h may become < 0.

    x1, y1 = max(0, x), max(0, y); x2 = min(width - 1, x1 + max(0, w - 1)) (likewise y2).
    """
    x, y, w, h = (float(v) for v in box)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    return np.array([x1, y1, x2 - x1, y2 - y1])


def load_coco_keypoints(
    ann_file: str | Path,
    image_root: str | Path = "",
    for_training: bool = True,
    skips: Skips | None = None,
) -> CocoKeypoints:
    """Read a COCO keypoints file.

    With `for_training` (the paper's rules) a person is kept only if it is not a crowd
    region, its clipped box has positive area, and at least one joint is labelled; its box
    is the clipped box. Otherwise every non-crowd person annotation is kept as it is
    (ground-truth boxes for evaluation still use the clipped box).

    Every record is checked (`formats.check`): a non-finite or wrongly sized field, an unknown
    or repeated image id is an error naming the file, the record and the field; with `skips`
    (`data.on_error: skip`) a broken person record is left out and counted instead.
    """
    path = str(ann_file)
    data = read_json(path, "annotation file")
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: expected a JSON object with 'images' and 'annotations'")
    category = check.person_category(data, path)
    skeleton = skeleton_from_category(category, name=Path(path).stem)
    num_joints = skeleton.num_joints
    cat_id = category.get("id", 1)

    images: dict[int, ImageInfo] = {}
    for i, im in enumerate(check.items(data, "images", path)):
        where = f"{path}: images[{i}]"
        im = check.record(im, where)
        iid = check.integer(_field(im, "id", where), where, "id")
        if iid in images:
            raise FileFormatError(f"{where}: image id {iid} is used twice")
        images[iid] = ImageInfo(
            iid,
            str(Path(image_root) / str(_field(im, "file_name", where))),
            check.integer(_field(im, "width", where), where, "width"),
            check.integer(_field(im, "height", where), where, "height"),
        )

    records: list[PersonRecord] = []
    for i, ann in enumerate(check.items(data, "annotations", path)):
        where = f"{path}: annotations[{i}] (id {ann.get('id', '?') if isinstance(ann, dict) else '?'})"
        try:
            rec = _record(ann, images, num_joints, cat_id, for_training, where)
        except FileFormatError as e:
            if skips is None:
                raise
            skips.add(f"broken person record ({str(e).split(': ')[-1]})")
            continue
        if rec is not None:
            records.append(rec)
    return CocoKeypoints(path, skeleton, images, records, data)


def _record(
    ann: object, images: dict[int, ImageInfo], num_joints: int, cat_id: object, for_training: bool, where: str
) -> PersonRecord | None:
    """One annotation -> a PersonRecord, or None when the paper's rules leave it out."""
    if not isinstance(ann, dict):
        raise FileFormatError(f"{where}: expected an object")
    if ann.get("category_id", cat_id) != cat_id or ann.get("iscrowd", 0):
        return None
    image_id = check.integer(_field(ann, "image_id", where), where, "image_id")
    if image_id not in images:
        raise FileFormatError(f"{where}: field 'image_id' = {image_id} names no image")
    kps = check.numbers(_field(ann, "keypoints", where), 3 * num_joints, where, "keypoints").reshape(num_joints, 3)
    bbox = check.numbers(_field(ann, "bbox", where), 4, where, "bbox")
    area = check.number(ann["area"], where, "area") if "area" in ann else None
    im = images[image_id]
    box = clean_box(bbox, im.width, im.height)
    if for_training:
        # The paper's filter (positive area, x2 >= x1, y2 >= y1, a labelled joint). A box that
        # clips to a single point (a person filling a 1x1 image) stays: it is cropped as that
        # pixel, magnified (`geometry.MIN_BOX_SIDE`).
        valid_box = box[2] >= 0 and box[3] >= 0
        if not ((1.0 if area is None else area) > 0 and valid_box) or kps[:, 2].max() <= 0:
            return None
    head = check.numbers(ann["bbox_head"], 4, where, "bbox_head") if "bbox_head" in ann else None
    return PersonRecord(
        image_path=im.path,
        image_id=image_id,
        box=box,
        keypoints=kps[:, :2].copy(),
        visible=kps[:, 2].astype(np.int64),
        area=float(box[2] * box[3]) if area is None else area,
        track_id=check.integer(ann.get("track_id", -1), where, "track_id"),
        head_box=head,
        ann_id=check.integer(ann.get("id", -1), where, "id"),
    )
