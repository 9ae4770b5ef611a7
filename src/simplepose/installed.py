"""What a run needs beyond the base install, checked before anything is downloaded.

The base install (`pip install simplepose`) holds the default path: the zoo's ONNX YOLOX
person detector and the runtime `auto` run on onnxruntime (and onnx for the export). An
optional part (the OpenVINO runtimes, `compile`'s C++ compiler, a torchvision .pth detector)
that is asked for and missing is one line naming what to install, said before a model or a
detector is downloaded rather than after.
"""
from __future__ import annotations

from typing import Optional, Sequence

from .config import load_config, parse_overrides
from .person_boxes import require_detector
from .runtimes import require_runtime


def check_installed(overrides: Sequence[str] = (), detector: str = "", config_path: Optional[str] = None,
                    device: str = "") -> None:
    """Raise a one-line ValueError (`MissingPackageError` / `RuntimeUnavailable`) where the run
    lacks a package: the runtime that `overrides` (`--set test.runtime=...`, `--runtime`) or
    the config file at `config_path` names, on `device` ("": cuda when available), and the
    person detector `detector` names ("" or "none": none). A runtime named only in a
    checkpoint's stored config is checked when it is built (the file may still be a download away).
    """
    # The file with the overrides, as the run reads it; or the overrides alone.
    test = vars(load_config(config_path, overrides).test) if config_path else parse_overrides(overrides).get("test", {})
    require_runtime(str(test.get("runtime", "auto")), device, str(test.get("onnx_model") or ""))
    require_detector(detector)
