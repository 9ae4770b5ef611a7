"""PoseTrack 2018 annotation files (one JSON per video, or several merged) -> person records.

A PoseTrack 2018 file is COCO-like: `images` carry `vid_id`, `frame_id`, `is_labeled`,
`nframes` and the ignore regions (`ignore_regions_x`/`_y`: one polygon per region);
`annotations` carry `track_id` and `bbox_head` beside `keypoints` and `bbox`. Joint names
come from `categories` (17 joints: COCO's order with head_bottom / head_top for the eyes).

This module is about *reading* for training (and for anyone who needs the records);
writing prediction files for the PoseTrack evaluation lives in `simplepose.evaluation`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, NamedTuple, Union

import numpy as np

from ..fileio import read_json
from ..tracking.posetrack_io import ignore_regions
from ..skeleton import Skeleton, skeleton_from_category
from .coco import AnnotationError, clean_box
from .records import ImageInfo, PersonRecord


@dataclass
class PoseTrackImage(ImageInfo):
    """One frame. width/height are 0 where the file does not give them (boxes stay unclipped).

    ignore_regions: polygons (P, 2) of x, y image pixels where people are not annotated.
    """

    vid_id: str = ""
    frame_id: int = -1
    is_labeled: bool = True
    nframes: int = 0
    ignore_regions: List[np.ndarray] = field(default_factory=list)


class PoseTrackSet(NamedTuple):
    skeleton: Skeleton
    images: Dict[int, PoseTrackImage]
    records: List[PersonRecord]


def _read(path: Path) -> dict:
    data = read_json(path, "annotation file")
    if not isinstance(data, dict) or "images" not in data:
        raise AnnotationError(f"{path}: expected a PoseTrack 2018 JSON object with 'images'")
    return data


def _image(im: dict, where: str, root: Path) -> PoseTrackImage:
    for key in ("id", "file_name"):
        if key not in im:
            raise AnnotationError(f"{where}: missing field {key!r}")
    return PoseTrackImage(
        int(im["id"]), str(root / im["file_name"]), int(im.get("width", 0)), int(im.get("height", 0)),
        vid_id=str(im.get("vid_id", "")), frame_id=int(im.get("frame_id", -1)),
        is_labeled=bool(im.get("is_labeled", True)), nframes=int(im.get("nframes", 0)),
        ignore_regions=ignore_regions(im, where),
    )


def _person(ann: dict, im: PoseTrackImage, num_joints: int, where: str, for_training: bool):
    kps = np.asarray(ann.get("keypoints") or np.zeros(3 * num_joints), dtype=np.float64)
    if kps.size != 3 * num_joints:
        raise AnnotationError(f"{where}: field 'keypoints' has {kps.size} numbers, expected {3 * num_joints}")
    kps = kps.reshape(num_joints, 3)
    labelled = kps[:, 2] > 0
    if "bbox" in ann:
        box = np.asarray(ann["bbox"], dtype=np.float64)
        if box.shape != (4,):
            raise AnnotationError(f"{where}: field 'bbox' must have 4 numbers")
    elif labelled.any():  # some PoseTrack people have joints but no box: take their extent
        lo, hi = kps[labelled, :2].min(0), kps[labelled, :2].max(0)
        box = np.concatenate([lo, hi - lo])
    else:
        box = np.zeros(4)
    if im.width > 0 and im.height > 0:
        box = clean_box(box, im.width, im.height)
    if for_training and (not labelled.any() or box[2] <= 0 or box[3] <= 0):
        return None  # as for COCO: nothing to learn from, or a degenerate box
    head = ann.get("bbox_head")
    return PersonRecord(
        image_path=im.path, image_id=im.id, box=box, keypoints=kps[:, :2].copy(),
        visible=(kps[:, 2] > 0).astype(np.int64), area=float(box[2] * box[3]),
        track_id=int(ann.get("track_id", -1)),
        head_box=np.asarray(head, dtype=np.float64) if head is not None else None,
        ann_id=int(ann.get("id", -1)),
    )


def load_posetrack(
    path_or_dir: Union[str, Path], image_root: Union[str, Path] = "", for_training: bool = True
) -> PoseTrackSet:
    """Read one PoseTrack 2018 JSON file, or every `*.json` in a folder (one per video).

    Returns (skeleton, images by id, records). `image_root` is joined to each `file_name`
    (PoseTrack's names start with images/..., so it is normally the dataset root). With
    `for_training`, people with no labelled joint or a degenerate box are skipped.
    """
    src = Path(path_or_dir)
    files = sorted(src.glob("*.json")) if src.is_dir() else [src]
    if not files:
        raise FileNotFoundError(f"no PoseTrack *.json files in {src}")
    skeleton = None
    images: Dict[int, PoseTrackImage] = {}
    records: List[PersonRecord] = []
    for path in files:
        data = _read(path)
        cats = [c for c in data.get("categories") or [] if c.get("keypoints")]
        if not cats:
            raise AnnotationError(f"{path}: no entry of 'categories' has 'keypoints' names")
        file_skeleton = skeleton_from_category(cats[0], name="posetrack")
        if skeleton is not None and file_skeleton.joints != skeleton.joints:
            raise AnnotationError(f"{path}: joint names differ from those of {files[0]}")
        skeleton = file_skeleton
        file_images = {}
        for i, im in enumerate(data["images"]):
            info = _image(im, f"{path}: images[{i}]", Path(image_root))
            if info.id in images:
                raise AnnotationError(f"{path}: images[{i}]: image id {info.id} already read from another file")
            file_images[info.id] = info
        images.update(file_images)
        for i, ann in enumerate(data.get("annotations") or []):
            where = f"{path}: annotations[{i}] (id {ann.get('id', '?')})"
            if "image_id" not in ann:
                raise AnnotationError(f"{where}: missing field 'image_id'")
            im = file_images.get(int(ann["image_id"]))
            if im is None:
                raise AnnotationError(f"{where}: field 'image_id' = {ann['image_id']} names no image of this file")
            rec = _person(ann, im, skeleton.num_joints, where, for_training)
            if rec is not None:
                records.append(rec)
    return PoseTrackSet(skeleton, images, records)
