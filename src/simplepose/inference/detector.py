"""Person boxes for the top-down predictor, behind one small protocol.

A `Detector` is any callable `(image_bgr, image_id=None) -> (boxes (N, 4) xyxy, scores (N,))`.
Provided: ground-truth boxes, a detections file in the COCO results format, one whole-image
box, the YOLOX person detectors of the model zoo run by ONNX Runtime (`onnx_detector`), and
an optional torchvision detector (used only when a CPU build of torchvision and a local weights
file exist; torchvision is not a dependency of simplepose). `open_detector` builds one from
what a user names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from ..core.fileio import MissingPackageError
from ..core.geometry import xywh_to_xyxy
from ..formats.check import Skips, outside_image
from ..zoo.table import DEFAULT_DETECTOR  # noqa: F401  (re-exported: the commands' default)

Boxes = tuple[np.ndarray, np.ndarray]


class Detector(Protocol):
    def __call__(self, image_bgr: np.ndarray, image_id: object | None = None) -> Boxes:
        """(boxes (N, 4) xyxy in image pixels, scores (N,))."""
        ...


def _empty() -> Boxes:
    return np.zeros((0, 4)), np.zeros((0,))


class BoxTable:
    """Boxes looked up by image id (or file name): GT boxes or a detections file.

    Given the image, boxes with no area inside it are left out and counted in `skips`
    (`formats.check.outside_image`: their crop is pure padding); the others stay unclipped.
    """

    def __init__(self, table: dict[object, Boxes], skips: Skips | None = None) -> None:
        self.table = table
        self.skips = Skips() if skips is None else skips

    def __call__(self, image_bgr: np.ndarray | None = None, image_id: object | None = None) -> Boxes:
        boxes, scores = self.table.get(image_id, _empty())
        if image_bgr is not None and len(boxes):
            boxes, scores = self.inside(boxes, scores, image_bgr.shape[1], image_bgr.shape[0])
        return boxes, scores

    def inside(self, boxes: np.ndarray, scores: np.ndarray, width: int, height: int) -> Boxes:
        """The boxes (N, 4) xyxy and scores (N,) that overlap a `width` x `height` image."""
        out = outside_image(boxes, width, height)
        if out.any():
            self.skips["box outside its image"] += int(out.sum())
        return boxes[~out], scores[~out]


class GTBoxes(BoxTable):
    """Ground-truth person boxes of a COCO-format file (the paper's clipped boxes), score 1.

    Every non-crowd person counts, as in the paper's GT-box evaluation (`use_gt_bbox`).
    """

    def __init__(self, coco) -> None:  # coco: data.coco.CocoKeypoints (for_training=False)
        by_image: dict[object, list] = {}
        for r in coco.records:
            if r.box[2] >= 0 and r.box[3] >= 0:  # the paper's x2 >= x1, y2 >= y1: a one-pixel-wide image's person too
                by_image.setdefault(r.image_id, []).append(r.box)
        super().__init__({k: (xywh_to_xyxy(np.array(v)), np.ones(len(v))) for k, v in by_image.items()})


class DetectionsFile(BoxTable):
    """Boxes of a COCO results file ([{image_id, bbox xywh, score, category_id}, ...]).

    `names` (image id -> file name) also lets the boxes be looked up by file name, for
    `predict` on image folders.
    """

    def __init__(
        self, path: str | Path, score_thresh: float = 0.0, names: dict[int, str] | None = None, strict: bool = False
    ) -> None:
        from ..formats.detections import load_detections

        skips = Skips()
        dets = load_detections(path, score_thresh, skips=skips, strict=strict)
        table: dict[object, Boxes] = {k: (xywh_to_xyxy(b), s) for k, (b, s) in dets.items()}
        for image_id, name in (names or {}).items():
            if image_id in table:
                table[name] = table[image_id]
        super().__init__(table, skips)


class WholeImage:
    """One box covering the whole image (score 1): for pictures of a single person."""

    def __call__(self, image_bgr: np.ndarray, image_id: object | None = None) -> Boxes:
        h, w = image_bgr.shape[:2]
        return np.array([[0.0, 0.0, w - 1.0, h - 1.0]]), np.ones(1)


def require_torchvision() -> None:
    """Raise MissingPackageError (one line) where torchvision does not import: absent, or a
    CUDA build beside CPU torch (its import then fails with a RuntimeError)."""
    try:
        from torchvision.models import detection  # noqa: F401 (whether it imports is the check)
    except (ImportError, RuntimeError) as e:
        raise MissingPackageError(
            "the torchvision person detector (a .pth --detector)",
            "torchvision",
            "pip install torchvision",
            "a CPU build: PyPI's wheel does not import beside CPU torch, "
            "pytorch/vision#9085; or use --detector yolox-m (the default), an .onnx detector, or --boxes FILE",
        ) from e


class TorchvisionDetector:
    """A torchvision person detector (Faster R-CNN ResNet-50 FPN by default), COCO label 1.

    Needs a CPU build of torchvision and a local weights file, e.g.
    fasterrcnn_resnet50_fpn_coco-258fb6c6.pth from torchvision's model zoo, downloaded once
    by hand (simplepose never downloads). Boxes under `score_thresh` are dropped.
    """

    def __init__(
        self, weights: str | Path, arch: str = "fasterrcnn_resnet50_fpn", score_thresh: float = 0.5, device: str = "cpu"
    ) -> None:
        require_torchvision()
        import torch
        from torchvision.models import detection

        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(
                f"detector weights not found: {path}. Download the torchvision {arch} COCO weights "
                "(e.g. https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth) "
                "to that path, or give person boxes with --boxes FILE"
            )
        self.model = getattr(detection, arch)(weights=None, weights_backbone=None)
        self.model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.device = torch.device(device)
        self.model.to(self.device).eval()
        self.score_thresh = score_thresh

    def __call__(self, image_bgr: np.ndarray, image_id: object | None = None) -> Boxes:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(image_bgr[:, :, ::-1])).permute(2, 0, 1).float() / 255.0
        with torch.no_grad():
            out = self.model([x.to(self.device)])[0]
        keep = (out["labels"] == 1) & (out["scores"] >= self.score_thresh)
        return out["boxes"][keep].cpu().numpy().astype(np.float64), out["scores"][keep].cpu().numpy().astype(np.float64)
