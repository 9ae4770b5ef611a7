"""TopDownDataset: person records -> augmented crops, heatmap targets and weights.

The training sample follows the paper's code step by step: person box -> crop centre and
size (widened to the input aspect ratio, enlarged 1.25x); optionally a half-body crop; a
random scale clip(N(1, f), 1 - f, 1 + f), a random rotation clip(N(0, r), -2r, 2r) degrees
with probability 0.6, a horizontal flip with probability 0.5; then ONE affine warp of the
image (the flip folded into the matrix), the same affine on the joints (left/right swapped
after a flip), and `codec.encode` of the warped joints.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn, Protocol, Union

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from ..core.codec import HeatmapCodec
from ..core.fileio import read_image
from ..core.geometry import MIN_BOX_SIDE, box_to_center_scale, warp_points, widen_to_aspect
from ..core.skeleton import Skeleton
from ..core.transforms import Normalize, crop_matrix, warp_crop
from .records import PersonRecord

#: Joint-name fragments of the lower body (hips, knees, ankles and MPII's pelvis); every
#: other joint counts as upper body for the half-body crop, as the official joint id lists.
LOWER_BODY_WORDS = ("hip", "knee", "ankle", "pelvis")
#: The official half-body crop is 1.5x the widened extent of the chosen joints.
HALF_BODY_PADDING = 1.5

Item = dict[str, Union[torch.Tensor, float, int]]


def lower_body_mask(skeleton: Skeleton) -> np.ndarray:
    """(K,) bool: True for lower-body joints, from the skeleton's joint names."""
    return np.array([any(w in n for w in LOWER_BODY_WORDS) for n in skeleton.joints])


def worker_init(worker_id: int, nice: int = 0) -> None:
    """DataLoader worker set-up: one torch thread per worker, so workers do not oversubscribe;
    `nice` lowers the worker's scheduling priority (`os.nice`), so that on a busy machine the
    training process's own thread gets the CPU first when it needs it.

    OpenCV is left alone on purpose: `cv2.setNumThreads` in a forked worker deadlocks once
    the parent has used OpenCV's thread pool.
    """
    torch.set_num_threads(1)
    if nice:
        os.nice(nice)


@dataclass(frozen=True)
class SampleError:
    """A user error (missing or unreadable image, bad record) met while making a sample.

    PyTorch re-raises an exception from a DataLoader worker with the worker's whole
    traceback pasted into its message, so the one clear line a user should see comes back
    buried in 15 lines of text. Carried as data instead (see `UserErrorsAsData`), the error
    crosses the worker boundary intact and the training loop raises it again as it was.
    """

    message: str
    not_found: bool  # FileNotFoundError rather than ValueError

    def reraise(self) -> NoReturn:
        raise (FileNotFoundError if self.not_found else ValueError)(self.message)


class SizedItems(Protocol):
    """A map-style dataset with a length (torch's `Dataset` declares no `__len__`)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> Item: ...


class UserErrorsAsData(Dataset):
    """`dataset` whose items are a `SampleError` instead of raising FileNotFoundError or
    ValueError; other exceptions (bugs) still raise, with their tracebacks.

    Use it with `collate_or_error` as the DataLoader's `collate_fn`: a batch is then either a
    collated batch or the first `SampleError` among its items. It reads `dataset` at each
    call, so `dataset.set_epoch` before an epoch's iterator still reaches the workers.
    """

    def __init__(self, dataset: SizedItems) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Item | SampleError:
        try:
            return self.dataset[index]
        except (FileNotFoundError, ValueError) as e:  # the two kinds the CLI reports as one line
            return SampleError(str(e), isinstance(e, FileNotFoundError))


def collate_or_error(items: list[Item | SampleError]) -> dict[str, torch.Tensor] | SampleError:
    """PyTorch's default collation, or the first `SampleError` among `items`."""
    for item in items:
        if isinstance(item, SampleError):
            return item
    return default_collate(items)


class TopDownDataset(Dataset):
    """Top-down pose samples from person records.

    Args:
        records: the people (see `PersonRecord`), keypoints in image pixels.
        skeleton: joint metadata (flip pairs, joint names for the half-body split).
        codec: turns crop keypoints into heatmaps (K, h, w) and weights (K,).
        input_size: network input (w, h).
        train: augment (True) or take the plain box crop (False).
        scale_factor, rotation_factor, rotation_prob, flip: the paper's augmentation.
        half_body, half_body_prob, half_body_min_joints: the half-body crop (off in the paper).
        normalize: uint8 crops -> float tensors (default: the paper's BGR + ImageNet stats).
        seed: base seed; each sample draws from its own generator seeded by
            (seed, epoch, index), so augmentations do not depend on the worker count.
        cache_images: keep decoded images in memory (for tiny datasets such as the demo);
            call `preload()` before iterating with DataLoader workers.
        raw_images: items carry the uint8 crop (H, W, 3) instead of the normalised float
            image, for a trainer that normalises on its device (`normalize` there): a quarter of
            the bytes through the loader's shared memory and pinned copies, and no float work
            in the workers, which is what bounds a GPU's training speed.

    An item is a dict: "image" (3, H, W) float32 (or (H, W, 3) uint8 with `raw_images`),
    "target" (K, h, w) float32, "target_weight" (K, 1) float32, "keypoints" (K, 3) crop pixels +
    visibility, "center" (2,) and "scale" (2,) of the crop in image pixels (before any flip),
    "rotation" (degrees), "flipped" (0/1), "score", "image_id", "index".
    """

    def __init__(
        self,
        records: Sequence[PersonRecord],
        skeleton: Skeleton,
        codec: HeatmapCodec,
        input_size: Sequence[int],
        train: bool = True,
        *,
        scale_factor: float = 0.3,
        rotation_factor: float = 40.0,
        rotation_prob: float = 0.6,
        flip: bool = True,
        half_body: bool = False,
        half_body_prob: float = 0.3,
        half_body_min_joints: int = 8,
        normalize: Normalize | None = None,
        seed: int = 0,
        cache_images: bool = False,
        raw_images: bool = False,
    ) -> None:
        self.records: list[PersonRecord] = list(records)
        self.skeleton = skeleton
        self.codec = codec
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.aspect_ratio = self.input_size[0] / self.input_size[1]
        self.train = train
        self.scale_factor = float(scale_factor)
        self.rotation_factor = float(rotation_factor)
        self.rotation_prob = float(rotation_prob)
        self.flip = bool(flip)
        self.half_body = bool(half_body)
        self.half_body_prob = float(half_body_prob)
        self.half_body_min_joints = int(half_body_min_joints)
        self.normalize = normalize or Normalize()
        self.seed = int(seed)
        self.raw_images = bool(raw_images)
        self.epoch = 0
        self.augment = True  # off for a whole epoch by set_epoch
        self.cache: dict[str, np.ndarray] | None = {} if cache_images else None
        self._lower = lower_body_mask(skeleton)
        self._flip_index = skeleton.flip_index
        for i, r in enumerate(self.records[:1]):
            if r.num_joints != skeleton.num_joints:
                raise ValueError(
                    f"record {i} has {r.num_joints} joints, skeleton {skeleton.name!r} has {skeleton.num_joints}"
                )

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int, augment: bool = True) -> None:
        """New augmentations each epoch (call before building the epoch's iterator); with
        `augment` False the epoch's samples are the plain box crops (`data.augment_from`)."""
        self.epoch = int(epoch)
        self.augment = bool(augment)

    def preload(self) -> None:
        """Decode every image now, so DataLoader workers (forked each epoch) inherit the cache."""
        if self.cache is not None:
            for r in self.records:
                self.image(r.image_path)

    def image(self, path: str) -> np.ndarray:
        if self.cache is None:
            return read_image(path)
        if path not in self.cache:
            self.cache[path] = read_image(path)
        return self.cache[path]

    def half_body_crop(
        self, keypoints: np.ndarray, visible: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The official `half_body_transform`: crop (center, scale) of the upper or lower body.

        As the official code, the upper body is chosen when N(0, 1) < 0.5 (about 69% of
        the time, a quirk kept on purpose) and it has more than 2 labelled joints.
        """
        labelled = visible > 0
        upper = keypoints[labelled & ~self._lower]
        lower = keypoints[labelled & self._lower]
        if rng.standard_normal() < 0.5 and len(upper) > 2:  # noqa: SIM108 (a nested conditional expression reads worse)
            chosen = upper
        else:
            chosen = lower if len(lower) > 2 else upper
        if len(chosen) < 2:
            return None
        center = chosen.mean(axis=0)
        # Joints on one pixel (a tiny person) still give a crop of positive size.
        extent = np.maximum(chosen.max(axis=0) - chosen.min(axis=0), MIN_BOX_SIDE)
        w, h = widen_to_aspect(extent[0], extent[1], self.aspect_ratio)
        return center, np.array([w, h]) * HALF_BODY_PADDING

    def augmentation(
        self, record: PersonRecord, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, float, bool]:
        """(center, scale, rotation degrees, flip) of one sample; draws in the official order."""
        center, scale = box_to_center_scale(record.box, self.aspect_ratio)
        if not self.train or not self.augment:
            return center, scale, 0.0, False
        if (
            self.half_body
            and int((record.visible > 0).sum()) > self.half_body_min_joints
            and rng.random() < self.half_body_prob
        ):
            crop = self.half_body_crop(record.keypoints, record.visible, rng)
            if crop is not None:
                center, scale = crop
        sf, rf = self.scale_factor, self.rotation_factor
        scale = scale * float(np.clip(rng.standard_normal() * sf + 1, 1 - sf, 1 + sf))
        rot = float(np.clip(rng.standard_normal() * rf, -2 * rf, 2 * rf)) if rng.random() <= self.rotation_prob else 0.0
        flip = self.flip and rng.random() <= 0.5
        return center, scale, rot, flip

    def __getitem__(self, index: int) -> Item:
        record = self.records[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        center, scale, rot, flip = self.augmentation(record, rng)
        try:
            image = self.image(record.image_path)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"record {index} (image_id {record.image_id}): {e}") from None
        matrix = crop_matrix(
            center,
            scale,
            rot,
            self.input_size,
            flip_width=image.shape[1] if flip else 0.0,
            udp=self.codec.encoding == "udp",
        )  # UDP targets need the UDP crop
        crop = warp_crop(image, matrix, self.input_size)

        keypoints = warp_points(record.keypoints, matrix)
        visible = np.asarray(record.visible)
        if flip:  # the mirrored left wrist is the new right wrist
            keypoints, visible = keypoints[self._flip_index], visible[self._flip_index]
        target, weight = self.codec.encode(keypoints, visible)
        return {
            "image": torch.from_numpy(crop) if self.raw_images else self.normalize(crop)[0],
            "target": torch.from_numpy(target),
            "target_weight": torch.from_numpy(weight).reshape(-1, 1),
            "keypoints": torch.from_numpy(np.concatenate([keypoints, visible[:, None]], axis=1).astype(np.float32)),
            "center": torch.from_numpy(center.astype(np.float32)),
            "scale": torch.from_numpy(np.asarray(scale, dtype=np.float32)),
            "rotation": rot,
            "flipped": int(flip),
            "score": float(record.score),
            "image_id": int(record.image_id),
            "index": int(index),
        }
