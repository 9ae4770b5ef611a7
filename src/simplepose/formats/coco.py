"""COCO keypoint files checked before they are scored: ground truth and results.

The evaluator (`evaluation.cocoeval`) calls these first, so what would make its numbers
meaningless (a NaN coordinate, an unknown image or category, a repeated id, a string score)
is one error naming the file, the record and the field, instead of an AP of 0 or 1.
"""

from __future__ import annotations

from ..core.fileio import FileFormatError
from . import check


def check_ground_truth(data: object, num_joints: int, source: str) -> tuple[list[int], list[int]]:
    """Check a COCO keypoints ground truth; returns (sorted image ids, sorted category ids).

    Refused: a file that is not {images, annotations, categories}, no category with keypoint
    names, repeated image or annotation ids, an annotation of an unknown image or category,
    non-finite or wrongly sized keypoints, boxes and areas.
    """
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("images"), list)
        or not isinstance(data.get("annotations"), list)
    ):
        raise FileFormatError(f"{source}: expected a COCO file with 'images' and 'annotations' lists")
    check.person_category(data, source)
    cats = data["categories"]
    cat_ids = [
        check.integer(c.get("id") if isinstance(c, dict) else None, f"{source}: categories[{i}]", "id")
        for i, c in enumerate(cats)
    ]
    with_joints = {c["id"] for c in cats if isinstance(c, dict) and c.get("keypoints")}
    img_ids = [
        check.integer(im.get("id") if isinstance(im, dict) else None, f"{source}: images[{i}]", "id")
        for i, im in enumerate(data["images"])
    ]
    check.unique(img_ids, source, "images")
    check.unique(cat_ids, source, "categories")
    known_images, known_cats = set(img_ids), set(cat_ids)
    ann_ids = []
    for i, a in enumerate(data["annotations"]):
        where = f"{source}: annotations[{i}]"
        if not isinstance(a, dict):
            raise FileFormatError(f"{where}: expected an object")
        if "id" in a:
            ann_ids.append(check.integer(a["id"], where, "id"))
        if check.integer(a.get("image_id"), where, "image_id") not in known_images:
            raise FileFormatError(f"{where}: field 'image_id' = {a['image_id']} names no image of the file")
        if check.integer(a.get("category_id"), where, "category_id") not in known_cats:
            raise FileFormatError(f"{where}: field 'category_id' = {a['category_id']} names no category of the file")
        if a["category_id"] in with_joints:  # other categories (boxes only) are not scored here
            check.numbers(a.get("keypoints"), 3 * num_joints, where, "keypoints")
        check.numbers(a.get("bbox"), 4, where, "bbox")
        check.number(a.get("area"), where, "area")
        for key in ("num_keypoints", "iscrowd"):  # optional counts / flags
            if key in a and not isinstance(a[key], bool):
                check.integer(a[key], where, key)
    check.unique(ann_ids, source, "annotations")
    return sorted(img_ids), sorted(cat_ids)


def check_results(results: object, num_joints: int, image_ids: set, cat_ids: list[int], source: str) -> None:
    """Check keypoint results: each entry names a known image and category, has 3K finite
    keypoint numbers and a finite score, and a 4-number `bbox` on every entry or on none
    (pycocotools takes the areas from the boxes when the first entry has one)."""
    if not isinstance(results, list):
        raise FileFormatError(f"{source}: expected a JSON list (COCO results format)")
    with_box = None
    for i, r in enumerate(results):
        where = f"{source}: entry [{i}]"
        if not isinstance(r, dict):
            raise FileFormatError(f"{where}: expected an object")
        for key in ("image_id", "category_id", "keypoints", "score"):
            if key not in r:
                raise FileFormatError(f"{where}: missing field {key!r}")
        if check.integer(r["image_id"], where, "image_id") not in image_ids:
            raise FileFormatError(f"{where}: field 'image_id' = {r['image_id']} is not an image of the ground truth")
        if check.integer(r["category_id"], where, "category_id") not in cat_ids:
            raise FileFormatError(
                f"{where}: field 'category_id' = {r['category_id']} is not a category of the ground truth ({cat_ids})"
            )
        check.numbers(r["keypoints"], 3 * num_joints, where, "keypoints")
        check.number(r["score"], where, "score")
        has_box = bool(r.get("bbox"))
        if with_box is None:
            with_box = has_box
        elif has_box != with_box:
            raise FileFormatError(
                f"{where}: field 'bbox' is {'present' if has_box else 'missing'} here but not on "
                "entry [0]; give it on every entry or on none"
            )
        if has_box:
            check.numbers(r["bbox"], 4, where, "bbox")
