"""Checks of a training run's data made before its first step, so that a wrong path or a
missing image is one line at once rather than an error an epoch (or an hour) later."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..config import Config
from ..core.words import count
from .build import data_path, load_records
from .records import PersonRecord


def check_data_found(cfg: Config, split: str) -> None:
    """`data.root` and the `split` ("train" or "val") annotation file and image folder exist:
    a stat each, so a command names a wrong path before it loads a model or makes a folder."""
    data = cfg.data
    if data.root and not Path(data.root).is_dir():
        raise FileNotFoundError(f"data.root: folder not found: {data.root}")
    ann, images = getattr(data, f"{split}_ann"), getattr(data, f"{split}_images")
    if ann and not Path(data_path(data, ann)).exists():  # a file, or a folder of files (PoseTrack)
        raise FileNotFoundError(f"data.{split}_ann: annotation file not found: {data_path(data, ann)}")
    if images and not Path(data_path(data, images)).is_dir():
        raise FileNotFoundError(f"data.{split}_images: folder not found: {data_path(data, images)}")


def check_validation_data(cfg: Config) -> None:
    """Read the validation set now, before any training step, so that a wrong `data.val_ann`
    or `data.val_images` is one line at once rather than an error after the first epoch.

    Checks: the annotation file reads (the dataset's own reader: a missing or malformed file
    names itself), the image folder exists, every image of an annotated person exists (the
    images ground-truth-box validation reads), and the joint count fits the model.
    """
    data = cfg.data
    ann = data_path(data, data.val_ann)
    if not Path(ann).exists():  # a file, or a folder of files (PoseTrack)
        raise FileNotFoundError(f"data.val_ann: annotation file not found: {ann}")
    folder = data_path(data, data.val_images)
    if folder and not Path(folder).is_dir():
        raise FileNotFoundError(f"data.val_images: folder not found: {folder}")
    skeleton, records = load_records(data, "val", for_training=False)
    if skeleton.num_joints != cfg.model.num_joints:
        raise ValueError(
            f"data.val_ann {ann}: {skeleton.num_joints} joints, but model.num_joints = {cfg.model.num_joints}"
        )
    check_images_exist(records, "data.val_images")


def check_images_exist(records: Sequence[PersonRecord], field: str) -> None:
    """Every image of `records` is a file (one stat per image, not per person), or one line
    naming the first missing image, before any training step rather than at its batch."""
    images = sorted({r.image_path for r in records})
    missing = [p for p in images if not os.path.isfile(p)]
    if missing:
        more = f" (and {len(missing) - 1} more of its {count(len(images), 'image')})" if len(missing) > 1 else ""
        raise FileNotFoundError(f"{field}: image not found: {missing[0]}{more}")
