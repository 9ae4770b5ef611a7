"""PoseTrack 2018 files, frame by frame: the one reader and writer (ground truth and predictions).

A PoseTrack 2018 file holds one video: `images` (every frame, in order, labelled or not),
`annotations` (people on the labelled frames, with `track_id`, `keypoints` as
x, y, visibility triples, `bbox_head` as x, y, w, h) and one `categories` entry naming the
joints. For the official evaluation (poseval's converter) a joint is *annotated* unless it is
written as (0, 0, 0); COCO's convention calls a joint labelled when its visibility is > 0.
PoseTrack's own files agree on both (their unlabelled joints are (0, 0, 0)).

Prediction files use the same layout. The official tool matches prediction frames to ground
truth frames by position, so a prediction file lists the same frames in the same order,
each person with a `track_id` unique in its frame and one `scores` entry per joint; joints
left out are written as (0, 0, 0) with score 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.fileio import FileFormatError, atomic_write_json, read_json
from ..core.skeleton import Skeleton, skeleton_from_category
from . import check

# The 15 joints the official tool (poseval) evaluates, in its own order; PoseTrack's
# head_bottom is its "neck".
POSEVAL_JOINTS = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "head_bottom",
    "nose",
    "head_top",
)


@dataclass
class PoseTrackPerson:
    """One person on one frame.

    Attributes:
        track_id: the person's id in the video.
        keypoints: (K, 3) x, y, visibility (ground truth) in image pixels.
        scores: (K,) per-joint scores (predictions), or None.
        head_box: (4,) head box xyxy, or None.
        box: (4,) person box xyxy, or None.
        annotation: the file's own record, kept so a file writes back unchanged.
    """

    track_id: int
    keypoints: np.ndarray
    scores: np.ndarray | None = None
    head_box: np.ndarray | None = None
    box: np.ndarray | None = None
    annotation: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def annotated(self) -> np.ndarray:
        """(K,) bool: the joints written with anything but (0, 0, 0)."""
        return np.any(self.keypoints != 0, axis=1)

    @property
    def labelled(self) -> np.ndarray:
        """(K,) bool: the joints with visibility > 0 (COCO's rule: 0 = not labelled)."""
        return self.keypoints[:, 2] > 0


@dataclass
class PoseTrackFrame:
    """One frame of a video: its image record, people and ignore regions.

    `ignore_regions` is a list of (M, 2) polygons (x, y) in image pixels.
    """

    image_id: int
    file_name: str
    is_labeled: bool
    people: list[PoseTrackPerson]
    ignore_regions: list[np.ndarray]
    image: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class PoseTrackVideo:
    """A PoseTrack 2018 file: the frames in file order and the joint names."""

    name: str
    skeleton: Skeleton
    frames: list[PoseTrackFrame]
    category: dict[str, Any] = field(default_factory=dict, repr=False)


def _get(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise FileFormatError(f"{where}: missing field {key!r}")
    return obj[key]


def _xywh_to_xyxy(box: object, where: str, field: str) -> np.ndarray:
    x, y, w, h = check.numbers(box, 4, where, field)
    return np.array([x, y, x + w, y + h])


def _read_person(ann: dict, num_joints: int, where: str) -> PoseTrackPerson:
    """One annotation, checked: finite joints (3K numbers), scores (K) and boxes, a whole track id."""
    # A ground-truth person may come without joints (only boxes): none of them annotated.
    raw = ann.get("keypoints")
    kpts = check.numbers(raw, 3 * num_joints, where, "keypoints") if raw else np.zeros(3 * num_joints)
    scores = ann.get("scores")
    if scores is None or (isinstance(scores, list) and len(scores) == 0):
        scores = None  # ground truth files carry an empty list
    return PoseTrackPerson(
        track_id=check.integer(_get(ann, "track_id", where), where, "track_id"),
        keypoints=kpts.reshape(num_joints, 3),
        scores=None if scores is None else check.numbers(scores, num_joints, where, "scores"),
        head_box=_xywh_to_xyxy(ann["bbox_head"], where, "bbox_head") if ann.get("bbox_head") else None,
        box=_xywh_to_xyxy(ann["bbox"], where, "bbox") if ann.get("bbox") else None,
        annotation=ann,
    )


def ignore_regions(image: dict, where: str) -> list[np.ndarray]:
    """The image record's ignore regions as polygons (R_i, 2) x, y in image pixels."""
    xs = check.items(image, "ignore_regions_x", where) if image.get("ignore_regions_x") else []
    ys = check.items(image, "ignore_regions_y", where) if image.get("ignore_regions_y") else []
    if len(xs) != len(ys):
        raise FileFormatError(f"{where}: 'ignore_regions_x' and 'ignore_regions_y' differ in length")
    out = []
    for r, (x, y) in enumerate(zip(xs, ys)):
        if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y):
            raise FileFormatError(f"{where}: ignore region [{r}] needs two lists of the same length (x and y)")
        out.append(
            np.stack(
                [
                    check.numbers(x, len(x), where, f"ignore_regions_x[{r}]"),
                    check.numbers(y, len(y), where, f"ignore_regions_y[{r}]"),
                ],
                axis=1,
            ).reshape(-1, 2)
        )
    return out


def parse_posetrack(data: dict, source: str) -> PoseTrackVideo:
    """A parsed PoseTrack 2018 JSON document -> PoseTrackVideo (`source` names it in errors)."""
    if not isinstance(data, dict):
        raise FileFormatError(f"{source}: expected a JSON object with 'images', 'annotations', 'categories'")
    category = check.person_category(data, source)
    skeleton = skeleton_from_category(category, name="posetrack")
    people: dict[Any, list[PoseTrackPerson]] = {}
    for i, ann in enumerate(check.items(data, "annotations", source)):
        where = f"{source}: annotation [{i}] (id {ann.get('id', '?') if isinstance(ann, dict) else '?'})"
        image_id = check.integer(_get(check.record(ann, where), "image_id", where), where, "image_id")
        people.setdefault(image_id, []).append(_read_person(ann, skeleton.num_joints, where))
    frames = []
    for i, image in enumerate(check.items(data, "images", source)):
        where = f"{source}: images[{i}]"
        image = check.record(image, where)
        # PoseTrack 2018 uses `frame_id` and `id` for the same number; older exports lack `id`.
        raw_id = image.get("id", image.get("frame_id"))
        if raw_id is None:
            raise FileFormatError(f"{where}: missing field 'id' (or 'frame_id')")
        image_id = check.integer(raw_id, where, "id")
        frame_people = people.pop(image_id, [])
        frames.append(
            PoseTrackFrame(
                image_id=image_id,
                file_name=str(_get(image, "file_name", where)),
                is_labeled=bool(image.get("is_labeled", bool(frame_people))),
                people=frame_people,
                ignore_regions=ignore_regions(image, where),
                image=image,
            )
        )
    if people:
        raise FileFormatError(f"{source}: annotations refer to image ids not in 'images': {sorted(people)[:5]}")
    return PoseTrackVideo(Path(source).stem, skeleton, frames, category)


def read_posetrack(path: str | Path) -> PoseTrackVideo:
    """Read one PoseTrack 2018 per-video JSON file (ground truth or predictions)."""
    path = str(path)
    return parse_posetrack(read_json(path, "PoseTrack file"), path)


def _num(v: float) -> int | float:
    """Whole numbers as ints, so a file read and written back keeps its literal form."""
    f = float(v)
    return int(f) if f.is_integer() else f


def _person_json(person: PoseTrackPerson, image_id: int, index: int) -> dict:
    ann = dict(person.annotation)
    ann.update(
        track_id=int(person.track_id),
        image_id=image_id,
        keypoints=[_num(v) for v in person.keypoints.reshape(-1)],
        scores=[] if person.scores is None else [float(s) for s in person.scores],
        category_id=ann.get("category_id", 1),
    )
    ann.setdefault("id", image_id * 100 + index)
    for key, box in (("bbox", person.box), ("bbox_head", person.head_box)):
        if box is not None:
            ann[key] = [_num(box[0]), _num(box[1]), _num(box[2] - box[0]), _num(box[3] - box[1])]
    return ann


def video_to_json(video: PoseTrackVideo) -> dict:
    """PoseTrackVideo -> the PoseTrack 2018 JSON document (inverse of `parse_posetrack`)."""
    category = dict(video.category) or {"supercategory": "person", "id": 1, "name": "person"}
    category["keypoints"] = list(video.skeleton.joints)
    category.setdefault("skeleton", [[a + 1, b + 1] for a, b in video.skeleton.limbs])
    images, annotations = [], []
    for frame in video.frames:
        image = dict(frame.image)
        image.update(file_name=frame.file_name, is_labeled=bool(frame.is_labeled))
        image.setdefault("id", frame.image_id)
        image.setdefault("frame_id", frame.image_id)
        if frame.ignore_regions:
            image["ignore_regions_x"] = [[_num(v) for v in r[:, 0]] for r in frame.ignore_regions]
            image["ignore_regions_y"] = [[_num(v) for v in r[:, 1]] for r in frame.ignore_regions]
        images.append(image)
        annotations += [_person_json(p, frame.image_id, i) for i, p in enumerate(frame.people)]
    return {"images": images, "annotations": annotations, "categories": [category]}


def write_posetrack(video: PoseTrackVideo, path: str | Path, **dump_kwargs: Any) -> None:
    """Write a PoseTrackVideo as a PoseTrack 2018 JSON file (atomically; json.dumps keywords allowed)."""
    atomic_write_json(path, video_to_json(video), **dump_kwargs)
