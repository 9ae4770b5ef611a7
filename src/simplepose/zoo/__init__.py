"""The model zoo: real weights by name, downloaded once, verified, converted, kept in a cache.

    from simplepose import zoo
    zoo.model_file("coco-res50-256x192")   # -> a checkpoint path for weights.load_checkpoint
    zoo.backbone_file("resnet50")          # -> a torchvision ImageNet file (model.pretrained)
    zoo.detector_file("yolox-m")           # -> an .onnx person detector

`table` holds the rows (data), `download` the downloader and the cache's integrity records,
`convert` the one converter, `files` the way from a name to a file. The zoo knows files and
hashes; the network itself is built by `weights.load_checkpoint` like every other model.
"""

from __future__ import annotations

from pathlib import Path

from .download import cache_dir, is_offline
from .files import backbone_file, detector_file, fetch, final_path, is_cached, model_file
from .table import ModelRow, ZooError, get_row, rows

__all__ = [
    "ModelRow",
    "ZooError",
    "backbone_file",
    "cache_dir",
    "detector_file",
    "fetch",
    "final_path",
    "get_row",
    "is_cached",
    "is_offline",
    "model_file",
    "rows",
    "backbone_source",
]


def backbone_source(value: str | Path, offline: bool | None = None) -> Path:
    """The ImageNet weights `model.pretrained` names: a file path as it is, else a zoo name fetched.

    Args:
        value: a path, or a backbone of the zoo such as "resnet50".
        offline: open no connection (None: `$SIMPLEPOSE_OFFLINE`); the file must be cached.

    Returns:
        The path to load; a path that does not exist is returned as it is, and the loader says so.
    """
    path = Path(value)
    if path.exists() or any(sep in str(value) for sep in ("/", "\\")) or path.suffix:
        return path  # a path: weights.load_imagenet_backbone reports it if it is missing
    return backbone_file(str(value), offline)
