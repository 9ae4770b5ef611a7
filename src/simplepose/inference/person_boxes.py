"""Which person detector a user means (`--detector`, `PoseEstimator(detector=...)`): one door.

Kept apart from `detector.py` (the protocol and the file-based boxes), which the detectors
themselves import.
"""

from __future__ import annotations

from pathlib import Path

from .detector import Detector, TorchvisionDetector, WholeImage, require_torchvision


def require_detector(spec: str) -> None:
    """Raise MissingPackageError (one line naming what to install) where the detector `spec`
    names (as `open_detector` reads it) needs a package that is not here: torchvision for a
    .pth file, onnxruntime for the others but "none". Before anything is downloaded."""
    if not spec or spec == "none":
        return
    if Path(spec).suffix.lower() == ".pth":
        require_torchvision()
        return
    from .onnx_detector import require_onnxruntime

    require_onnxruntime()


def open_detector(spec: str, score_thresh: float = 0.3, device: str = "cpu", offline: bool | None = None) -> Detector:
    """A `Detector` from what a user names (`--detector`):

    "none": one box covering the whole image (pictures of one person); a `.onnx` file: an
    mmdeploy YOLOX graph (`onnx_detector.OnnxPersonDetector`); a `.pth` file: torchvision's
    Faster R-CNN (needs a CPU build of torchvision); anything else: a detector of the model
    zoo (`yolox-m`, ...), downloaded once. Boxes scoring `score_thresh` or less are dropped.
    """
    if spec == "none":
        return WholeImage()
    if Path(spec).suffix.lower() == ".pth":
        return TorchvisionDetector(spec, score_thresh=score_thresh, device=device)
    from .onnx_detector import OnnxPersonDetector

    name = zoo_detector_name(spec)
    if not name:
        return OnnxPersonDetector(spec, score_thresh=score_thresh)
    from ..zoo import detector_file

    return OnnxPersonDetector(detector_file(name, offline), score_thresh=score_thresh)


def zoo_detector_name(spec: str) -> str:
    """The zoo name `spec` means (`yolox-m`), or "" for "none" and for .onnx / .pth files: so
    a caller can check the name (and the cache) before anything downloads."""
    return "" if spec in ("", "none") or Path(spec).suffix.lower() in (".onnx", ".pth") else spec
