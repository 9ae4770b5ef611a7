"""simplepose: Simple Baselines for Human Pose Estimation and Tracking, in PyTorch.

    est = simplepose.PoseEstimator()          # COCO ResNet-50 256x192 + YOLOX-m, from the zoo
    poses = est("photo.jpg")

The package's parts, from the bottom (imports go only downward; `tests/test_layers.py`):
`core/`, `formats/`, `config` -> `nets/`, `data/`, `evaluation/`, `synthetic/`, `zoo/` ->
`runtimes/`, `inference/`, `training/`, `tracking/` -> `commands/`, `cli`, `api`, `demo`, `bench/`, `serve/`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

from .core.version import package_version

__version__ = package_version()  # pyproject.toml's, the one place it is written
__all__ = ["PoseEstimator", "Poses", "TopDownPredictor", "load_checkpoint"]

#: Public names, imported when first used: `import simplepose` (and `simplepose --help`) stays
#: free of torch until then.
_LAZY = {
    "PoseEstimator": "simplepose.api",
    "Poses": "simplepose.core.poses",
    "TopDownPredictor": "simplepose.inference.predictor",
    "load_checkpoint": "simplepose.nets.weights",
}

#: Modules that lived at the top before the regroup (0.1.0), and where they are now: code that
#: imports `simplepose.predictor` and the like keeps working.
MOVED = {
    **{
        m: f"core.{m}"
        for m in (
            "skeleton",
            "geometry",
            "poses",
            "oks",
            "fileio",
            "transforms",
            "frames",
            "hardware",
            "visualize",
            "codec",
            "refine",
            "per_layer",
        )
    },
    **{m: f"nets.{m}" for m in ("model", "weights", "foreign", "checkpoint", "complexity")},
    **{m: f"training.{m}" for m in ("engine", "optim", "loss", "budget", "distributed", "train_log", "release")},
    **{m: f"inference.{m}" for m in ("predictor", "prediction", "detector", "onnx_detector", "person_boxes", "export")},
    "evaluation.coco": "inference.postprocess",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simplepose' has no attribute {name!r}")


class _MovedModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`import simplepose.OLD` gives the very module now at its new place (one object, two names)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        old = fullname[len("simplepose.") :] if fullname.startswith("simplepose.") else ""
        if old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(f"simplepose.{MOVED[spec.name[len('simplepose.') :]]}")
        spec.loader_state = module.__spec__  # the import machinery stamps the old name's spec on it
        return module

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        assert spec is not None  # the import machinery set the old name's spec before calling this
        module.__spec__ = spec.loader_state  # give the module its own spec back


sys.meta_path.append(_MovedModule())
