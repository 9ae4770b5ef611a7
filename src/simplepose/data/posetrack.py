"""PoseTrack 2018 annotation files (one JSON per video, or several merged) -> person records.

The files are read by the one PoseTrack reader (`formats.posetrack`); this module turns its
frames and people into the `ImageInfo` / `PersonRecord` that training and evaluation use.
Frame records carry `vid_id`, `frame_id`, `is_labeled`, `nframes` and the ignore regions;
people carry `track_id` and `bbox_head` beside `keypoints` and `bbox`. Joint names come
from `categories` (17 joints: COCO's order with head_bottom / head_top for the eyes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..core.fileio import FileFormatError
from ..core.skeleton import Skeleton
from ..formats.posetrack import PoseTrackFrame, PoseTrackPerson, read_posetrack
from .coco import clean_box
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
    ignore_regions: list[np.ndarray] = field(default_factory=list)


class PoseTrackSet(NamedTuple):
    skeleton: Skeleton
    images: dict[int, PoseTrackImage]
    records: list[PersonRecord]


def _image(frame: PoseTrackFrame, root: Path) -> PoseTrackImage:
    im = frame.image
    return PoseTrackImage(
        frame.image_id,
        str(root / frame.file_name),
        int(im.get("width", 0)),
        int(im.get("height", 0)),
        vid_id=str(im.get("vid_id", "")),
        frame_id=int(im.get("frame_id", -1)),
        is_labeled=frame.is_labeled,
        nframes=int(im.get("nframes", 0)),
        ignore_regions=frame.ignore_regions,
    )


def _record(person: PoseTrackPerson, im: PoseTrackImage, for_training: bool) -> PersonRecord | None:
    kps = person.keypoints
    labelled = person.labelled
    if person.annotation.get("bbox"):
        box = np.asarray(person.annotation["bbox"], dtype=np.float64)  # xywh as written
    elif labelled.any():  # some PoseTrack people have joints but no box: take their extent
        lo, hi = kps[labelled, :2].min(0), kps[labelled, :2].max(0)
        box = np.concatenate([lo, hi - lo])
    else:
        box = np.zeros(4)
    if im.width > 0 and im.height > 0:
        box = clean_box(box, im.width, im.height)
    if for_training and (not labelled.any() or box[2] < 0 or box[3] < 0):
        return None  # as for COCO: nothing to learn from, or a box beyond the frame (x2 < x1)
    head = person.annotation.get("bbox_head")
    return PersonRecord(
        image_path=im.path,
        image_id=im.id,
        box=box,
        keypoints=kps[:, :2].copy(),
        visible=labelled.astype(np.int64),
        area=float(box[2] * box[3]),
        track_id=person.track_id,
        head_box=np.asarray(head, dtype=np.float64) if head is not None else None,
        ann_id=int(person.annotation.get("id", -1)),
    )


def load_posetrack(path_or_dir: str | Path, image_root: str | Path = "", for_training: bool = True) -> PoseTrackSet:
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
    images: dict[int, PoseTrackImage] = {}
    records: list[PersonRecord] = []
    for path in files:
        video = read_posetrack(path)
        if skeleton is not None and video.skeleton.joints != skeleton.joints:
            raise FileFormatError(f"{path}: joint names differ from those of {files[0]}")
        skeleton = video.skeleton
        for i, frame in enumerate(video.frames):
            if frame.image_id in images:
                raise FileFormatError(f"{path}: images[{i}]: image id {frame.image_id} already read from another file")
            im = images[frame.image_id] = _image(frame, Path(image_root))
            records += [r for r in (_record(p, im, for_training) for p in frame.people) if r is not None]
    assert skeleton is not None  # `files` is not empty, so the loop set it
    return PoseTrackSet(skeleton, images, records)
