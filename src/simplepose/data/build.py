"""Config -> readers and datasets: the one place where `DataConfig` becomes arguments."""

from __future__ import annotations

import sys
from typing import Callable

from ..config import DataConfig
from ..core.codec import HeatmapCodec
from ..core.fileio import join_root
from ..core.skeleton import Skeleton, get_skeleton
from ..core.transforms import Normalize
from ..formats.check import Skips
from .dataset import TopDownDataset
from .records import PersonRecord


def data_path(data: DataConfig, relative: str) -> str:
    """A path of the config joined to `data.root` (absolute paths stay as they are)."""
    return join_root(data.root, relative)


def _coco(ann: str, images: str, for_training: bool, skips: Skips | None = None) -> tuple[Skeleton, list[PersonRecord]]:
    from .coco import load_coco_keypoints

    f = load_coco_keypoints(ann, images, for_training=for_training, skips=skips)
    return f.skeleton, f.records


def _mpii(ann: str, images: str, for_training: bool, skips: Skips | None = None) -> tuple[Skeleton, list[PersonRecord]]:
    from .mpii import load_mpii

    return load_mpii(ann, images)


def _posetrack(
    ann: str, images: str, for_training: bool, skips: Skips | None = None
) -> tuple[Skeleton, list[PersonRecord]]:
    from .posetrack import load_posetrack

    skeleton, _, records = load_posetrack(ann, images, for_training=for_training)
    return skeleton, records


#: `data.dataset` -> its reader `(annotation file, image folder, for_training, skips) -> (skeleton,
#: records)`; `skips` (with `data.on_error: skip`) collects broken records left out, where the
#: reader can (COCO-format files; MPII and PoseTrack files stop at the first broken record).
#: A new dataset is one entry here (and one in `evaluation.runner.EVALUATORS`); see the README.
READERS: dict[str, Callable[..., tuple[Skeleton, list[PersonRecord]]]] = {
    "coco": _coco,
    "mpii": _mpii,
    "posetrack": _posetrack,
}


def load_records(
    data: DataConfig, split: str = "train", for_training: bool = True
) -> tuple[Skeleton, list[PersonRecord]]:
    """Read the annotation file of `split` ("train" or "val") with the dataset's reader."""
    ann = getattr(data, f"{split}_ann")
    images = data_path(data, getattr(data, f"{split}_images"))
    if not ann:
        raise ValueError(f"data.{split}_ann is not set")
    ann = data_path(data, ann)
    if data.dataset not in READERS:
        raise ValueError(f"data.dataset = {data.dataset!r} is not one of {sorted(READERS)}")
    if data.on_error not in ("raise", "skip"):
        raise ValueError(f"data.on_error = {data.on_error!r} is not one of 'raise', 'skip'")
    skips = Skips() if data.on_error == "skip" else None
    skeleton, records = READERS[data.dataset](ann, images, for_training, skips)
    if skips:
        print(f"warning: {ann}: skipped {skips.summary()} (data.on_error: skip)", file=sys.stderr)
    if data.skeleton:
        named = get_skeleton(data.skeleton)
        if named.num_joints != skeleton.num_joints:
            raise ValueError(
                f"data.skeleton {data.skeleton!r} has {named.num_joints} joints, {ann} has {skeleton.num_joints}"
            )
        skeleton = named
    return skeleton, records


def build_codec(data: DataConfig) -> HeatmapCodec:
    """Target encoder: the paper's, or UDP's (whose crops the dataset then warps the UDP way)."""
    return HeatmapCodec(data.input_size, data.heatmap_size, data.sigma, encoding=data.encoding)


def build_normalize(data: DataConfig) -> Normalize:
    return Normalize(data.color, data.mean, data.std)


def build_train_dataset(data: DataConfig, seed: int = 0, raw_images: bool = False) -> tuple[Skeleton, TopDownDataset]:
    """The augmented training set of a config (uint8 crops with `raw_images`: see TopDownDataset)."""
    if not 0.0 <= data.augment_from < 1.0:
        raise ValueError(f"data.augment_from = {data.augment_from} is not a fraction of the run in [0, 1)")
    skeleton, records = load_records(data, "train")
    if not records:
        raise ValueError(f"{data_path(data, data.train_ann)}: no person to train on")
    dataset = TopDownDataset(
        records,
        skeleton,
        build_codec(data),
        data.input_size,
        train=True,
        scale_factor=data.scale_factor,
        rotation_factor=data.rotation_factor,
        rotation_prob=data.rotation_prob,
        flip=data.flip,
        half_body=data.half_body,
        half_body_prob=data.half_body_prob,
        half_body_min_joints=data.half_body_min_joints,
        normalize=build_normalize(data),
        seed=seed,
        cache_images=data.cache_images,
        raw_images=raw_images,
    )
    dataset.preload()  # no-op unless data.cache_images
    return skeleton, dataset
