"""TopDownPredictor: image + person boxes -> Poses.

Evaluation, `predict` and tracking all run this one class, so the numbers we report come from
the code a user runs.

Box convention: boxes given to the predictor are xyxy in image pixels (like `Poses.boxes`
and the `Detector` protocol); COCO files store xywh, convert with `geometry.xywh_to_xyxy`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, Protocol, Union

import numpy as np
import torch

from ..config import Config
from ..core.codec import HeatmapCodec, flip_heatmaps_back
from ..core.fileio import read_image
from ..core.geometry import BOX_PADDING, boxes_to_center_scale, xyxy_to_xywh
from ..core.poses import Poses
from ..core.skeleton import COCO, SKELETONS, Skeleton, get_skeleton
from ..core.transforms import Normalize, crop_people
from ..runtimes import BuiltRuntime, RuntimeSpec, build_runtime

ImageLike = Union[np.ndarray, str, "os.PathLike[str]"]


def as_image(image: ImageLike, what: str = "image") -> np.ndarray:
    """An (H, W, 3) uint8 BGR array from an array or an image file's path.

    A path is read upright (turned as its EXIF orientation says, as a viewer shows it); an
    array is taken as it is.

    Raises:
        ValueError: for anything else, naming `what`.
        FileNotFoundError: for a path that is missing or does not decode.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_image(os.fspath(image), upright=True)  # a user's photo, as a viewer shows it
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"{what}: expected an (H, W, 3) uint8 BGR array or an image file path, got {type(image).__name__}"
        )
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ValueError(f"{what}: expected an (H, W, 3) BGR array, got shape {tuple(image.shape)}")
    if image.dtype != np.uint8:
        raise ValueError(f"{what}: expected dtype uint8 (0-255, as cv2.imread gives), got {image.dtype}")
    return image


def as_boxes(boxes: object, what: str = "boxes") -> np.ndarray:
    """(N, 4) float64 xyxy boxes from anything array-like of N x 4 finite numbers; ValueError otherwise."""
    try:
        b = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected (N, 4) xyxy numbers, got {type(boxes).__name__}") from None
    if not (b.ndim == 2 and b.shape[1] == 4) and not (b.ndim == 1 and b.size in (0, 4)):
        raise ValueError(f"{what}: expected shape (N, 4) xyxy, got {tuple(b.shape)}")
    if not np.isfinite(b).all():
        raise ValueError(f"{what}: boxes must be finite numbers")
    return b.reshape(-1, 4)


PRECISIONS = {None: None, "": None, "fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def skeleton_for_config(cfg: Config) -> Skeleton:
    """The skeleton a config describes: `data.skeleton`, else the dataset's, else COCO for 17 joints."""
    if cfg.data.skeleton:
        return get_skeleton(cfg.data.skeleton)
    if cfg.data.dataset in SKELETONS and SKELETONS[cfg.data.dataset].num_joints == cfg.model.num_joints:
        return SKELETONS[cfg.data.dataset]
    for sk in SKELETONS.values():
        if sk.num_joints == cfg.model.num_joints:
            return sk
    raise ValueError(f"no built-in skeleton has {cfg.model.num_joints} joints; set data.skeleton")


class BatchPredictor(Protocol):
    """What the COCO-format evaluation uses of a predictor.

    `TopDownPredictor` is one; so is a stand-in that wraps one (the benchmark's noisy input).
    """

    @property
    def skeleton(self) -> Skeleton:
        """The predictor's joints."""
        ...

    @property
    def batch_size(self) -> int:
        """Crops per forward pass."""
        ...

    def crop_boxes(self, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes (N, 4) xyxy -> crop centers (N, 2) and scales (N, 2) in pixels."""
        ...

    def predict_batch(
        self,
        images: list[np.ndarray],
        boxes_list: Sequence[np.ndarray],
        scores_list: Sequence[np.ndarray | None] | None = None,
    ) -> list[Poses]:
        """Poses for many images at once, as `TopDownPredictor.predict_batch`."""
        ...


class TopDownPredictor:
    """Crop each person, run the model (and its mirror with `flip_test`), decode to image pixels.

    Args:
        model: a module mapping (N, 3, in_h, in_w) to heatmaps (N, K, h, w).
        input_size, heatmap_size: (w, h) of the network input and its heatmaps.
        skeleton: gives `flip_index` for the flip test.
        flip_test: average with the flipped-back heatmaps of the mirrored crop.
        shift_heatmap: shift the flipped-back heatmaps one pixel right (the paper); ignored
            (no shift) with a UDP decoder, whose crop needs none.
        decoder: "paper" | "dark" | "udp" | "udp-dark" (see `codec.DECODERS`).
        normalize: pixel normalisation (default: the paper's BGR input with ImageNet stats).
        device: "cpu", "cuda", ...; batch_size: crops per forward pass (the flip test runs
            each batch and its mirror as one pass of twice the size).
        precision: None (the runtime's choice), "bf16" or "fp16" autocast for the torch
            runtimes.
        sigma: the heatmap Gaussian's sigma (DARK's blur kernel follows from it).
        runtime: how the network runs, a key of `runtimes.RUNTIMES` or "auto" (default: the
            fastest path that matches eager fp32 here; see `runtimes.auto_order`), or a
            `BuiltRuntime` already built for this model (several predictors can share one).
            Every runtime but "eager" works on a copy of the weights taken when it is built.
            `self.runtime` says which runs (`.name`, `.precision`, `.detail`, `.build_seconds`).
        onnx_model: a .onnx file for the onnx / onnx-int8 runtimes (default: export the model).
        calibration: a folder of images calibrating the onnx-int8 runtime.
        expected_crops: how many people the whole job is expected to hold (0 = unknown, a long
            job): `auto` runs a short job eager rather than export and time (`runtimes.auto`).

    `self.seconds` accumulates the wall time of each stage ("crop": warp and normalise,
    "model": the runtime, "flip": mirroring and flipping back, "decode": heatmaps to Poses).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        input_size: Sequence[int] = (192, 256),
        heatmap_size: Sequence[int] = (48, 64),
        skeleton: Skeleton = COCO,
        flip_test: bool = True,
        shift_heatmap: bool = True,
        decoder: str = "paper",
        normalize: Normalize | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        precision: str | None = None,
        sigma: float = 2.0,
        padding: float = BOX_PADDING,
        runtime: str | BuiltRuntime = "auto",
        onnx_model: str = "",
        calibration: str = "",
        expected_crops: int = 0,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of None, 'bf16', 'fp16', not {precision!r}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.codec = HeatmapCodec(input_size, heatmap_size, sigma, decoder=decoder)
        self.udp = self.codec.udp  # the decoder maps back through the UDP crop
        self.skeleton = skeleton
        self.flip_test = flip_test
        self.shift_heatmap = shift_heatmap and not self.udp
        self.normalize = normalize or Normalize()
        self.batch_size = int(batch_size)
        self.precision = PRECISIONS[precision]
        self.padding = padding
        spec = RuntimeSpec(
            self.input_size,
            str(self.device),
            self.precision,
            onnx_model,
            calibration,
            self.normalize,
            batch_size=self.batch_size * (2 if flip_test else 1),
            work=int(expected_crops) * (2 if flip_test else 1),
        )
        self.runtime = runtime if isinstance(runtime, BuiltRuntime) else build_runtime(runtime, self.model, spec)
        self.seconds: dict[str, float] = {"crop": 0.0, "model": 0.0, "flip": 0.0, "decode": 0.0}

    @classmethod
    def from_config(cls, model: torch.nn.Module, cfg: Config, **overrides) -> TopDownPredictor:
        """A predictor with the data/test settings of `cfg`; keyword `overrides` win."""
        kwargs: dict[str, Any] = dict(
            input_size=cfg.data.input_size,
            heatmap_size=cfg.data.heatmap_size,
            skeleton=skeleton_for_config(cfg),
            flip_test=cfg.test.flip_test,
            shift_heatmap=cfg.test.shift_heatmap,
            decoder=cfg.test.decoder,
            normalize=Normalize(cfg.data.color, cfg.data.mean, cfg.data.std),
            batch_size=cfg.test.batch_size,
            sigma=cfg.data.sigma,
            runtime=cfg.test.runtime,
            onnx_model=cfg.test.onnx_model,
            calibration=cfg.test.calibration,
        )
        kwargs.update(overrides)
        return cls(model, **kwargs)

    @classmethod
    def from_checkpoint(
        cls, path: str, cfg: Config | None = None, trusted: bool = False, **overrides
    ) -> TopDownPredictor:
        """Load a checkpoint (`weights.load_checkpoint`) and use its stored config (or `cfg`)."""
        from ..nets.weights import load_checkpoint

        loaded = load_checkpoint(path, trusted=trusted)
        config = cfg or loaded.config or Config()
        return cls.from_config(loaded.model, config, **overrides)

    def crop_boxes(self, boxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes (N, 4) xyxy -> crop centers (N, 2) and scales (N, 2) in pixels."""
        aspect = self.input_size[0] / self.input_size[1]
        return boxes_to_center_scale(xyxy_to_xywh(boxes_xyxy), aspect, self.padding)

    def __call__(self, image_bgr: ImageLike, boxes_xyxy: np.ndarray, box_scores: np.ndarray | None = None) -> Poses:
        """Poses of the people in `boxes_xyxy` (N, 4) of one (H, W, 3) uint8 BGR image (or its file's path)."""
        return self.predict_batch([image_bgr], [boxes_xyxy], [box_scores])[0]

    def predict_batch(
        self,
        images: Sequence[ImageLike],
        boxes_list: Sequence[np.ndarray],
        scores_list: Sequence[np.ndarray | None] | None = None,
    ) -> list[Poses]:
        """Poses for many images at once; crops of all images share forward passes.

        images: (H, W, 3) uint8 BGR arrays or image file paths; boxes_list: one (N, 4) xyxy per
        image; scores_list: one (N,) per image or None (score 1). Checked here: ValueError.
        """
        k = self.skeleton.num_joints
        if isinstance(images, (np.ndarray, str, os.PathLike)):
            raise ValueError("predict_batch takes a list of images (arrays or paths); call the predictor for one")
        if len(images) != len(boxes_list):
            raise ValueError(f"{len(images)} images but {len(boxes_list)} box arrays: give one (N, 4) array per image")
        arrays = [as_image(im, f"images[{i}]") for i, im in enumerate(images)]
        boxes_list = [as_boxes(b, f"boxes[{i}]") for i, b in enumerate(boxes_list)]
        scores_list = list(scores_list) if scores_list is not None else [None] * len(boxes_list)
        if len(scores_list) != len(boxes_list):
            raise ValueError(f"{len(boxes_list)} box arrays but {len(scores_list)} score arrays")
        for i, (b, s) in enumerate(zip(boxes_list, scores_list)):
            if s is not None and np.asarray(s).size != len(b):
                raise ValueError(f"scores[{i}]: {np.asarray(s).size} scores for {len(b)} boxes")
        crop_list, centers, scales = [], [], []
        t0 = time.perf_counter()
        for image, boxes in zip(arrays, boxes_list):
            c, s = self.crop_boxes(boxes)
            crop_list.append(crop_people(image, c, s, self.input_size, udp=self.udp)[0])
            centers.append(c)
            scales.append(s)
        counts = [len(b) for b in boxes_list]
        if sum(counts) == 0:
            return [Poses.empty(k) for _ in boxes_list]
        crops = np.concatenate(crop_list)
        self.seconds["crop"] += time.perf_counter() - t0
        heatmaps = self.heatmaps(crops)
        t0 = time.perf_counter()
        kps, conf = self.codec.decode(heatmaps, np.concatenate(centers), np.concatenate(scales))
        out, start = [], 0
        for boxes, scores, n in zip(boxes_list, scores_list, counts):
            sl = slice(start, start + n)
            start += n
            keypoints = np.concatenate([kps[sl], conf[sl, :, None].astype(np.float64)], axis=2)
            sc = np.ones(n) if scores is None else np.asarray(scores, dtype=np.float64).reshape(n)
            out.append(Poses(keypoints, boxes, sc))
        self.seconds["decode"] += time.perf_counter() - t0
        return out

    def _check_heatmaps(self, shape: Sequence[int]) -> None:
        """Refuse heatmaps (N, K, h, w) of another size than `data.heatmap_size`.

        Decoding them as another size would put every joint in the wrong place, silently.

        Raises:
            ValueError: naming both sizes and the `--set` that fits the network.
        """
        got = (int(shape[-1]), int(shape[-2]))
        if got != self.codec.heatmap_size:
            (w, h), (iw, ih), (cw, ch) = got, self.input_size, self.codec.heatmap_size
            raise ValueError(
                f"the network gives {w}x{h} heatmaps for {iw}x{ih} crops (data.input_size), not "
                f"data.heatmap_size {cw}x{ch}; set data.heatmap_size=[{w},{h}]"
            )

    @torch.no_grad()
    def heatmaps(self, crops_bgr: np.ndarray) -> np.ndarray:
        """(N, in_h, in_w, 3) uint8 crops -> (N, K, h, w) float32 heatmaps (flip test included)."""
        outs, clock = [], time.perf_counter
        for i in range(0, len(crops_bgr), self.batch_size):
            t0 = clock()
            # (n, 3, H, W) with NHWC strides (a view of the crops' layout): channels-last as is.
            x = self.normalize(crops_bgr[i : i + self.batch_size])
            n = x.shape[0]
            t1 = clock()
            if self.flip_test:
                # Mirroring the normalised crop equals cropping the mirrored image (the paper
                # flips its input tensor the same way); crops and mirrors share one pass.
                x = torch.cat([x, torch.flip(x, dims=[3])])
            t2 = clock()
            y = self.runtime.runner(x)
            t3 = clock()
            self._check_heatmaps(y.shape)
            hm = y[:n]
            if self.flip_test:
                back = flip_heatmaps_back(y[n:], self.skeleton.flip_index, shift=self.shift_heatmap)
                hm = (hm + back) * 0.5
            outs.append(hm)
            self.seconds["crop"] += t1 - t0
            self.seconds["model"] += t3 - t2
            self.seconds["flip"] += (t2 - t1) + (clock() - t3)
        return np.concatenate(outs)
