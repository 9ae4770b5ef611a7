"""Inference runtimes: one table from a name to the function that builds it.

    eager      the model as it is, fp32: the reference every other runtime is tested against
    fast       BatchNorm folded into (transposed) convs, channels-last; bf16 autocast on CPUs
               with native bf16, fp16 + cudnn.benchmark on CUDA (untested), fp32 otherwise
    compile    fast + torch.compile (BN folded by hand first); warm-up of tens of seconds; on a
               CPU it needs a C++ compiler (g++)
    onnx       ONNX Runtime fp32 on the exported BN-folded model (onnx + onnxruntime: base install)
    onnx-int8  ONNX Runtime static int8, calibrated on crops of a folder of images
    openvino   OpenVINO fp32 (bf16 only if asked) on the same export (needs simplepose[openvino])
    openvino-int8  OpenVINO int8 (NNCF), calibrated on the same crops as onnx-int8 (simplepose[openvino])

`auto` (the default of `test.runtime` and of `TopDownPredictor`) is not a runtime of its own
but a choice among these (`auto.py`): each candidate is built and compared with eager fp32 on
a fixed random batch (a warning names any that was skipped), and on a plain CPU the two fp32
contenders are timed at the predictor's batch where that is cheap; the decision and the export
are kept in the cache folder for the next process (`cache.py`). Adding a runtime is one
table entry plus its builder `(model, RuntimeSpec) -> BuiltRuntime`, and, where it needs more
than the base install, an entry in `require_runtime`.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import nn

from ..hardware import cpu_features
from .auto import Builder, auto_order, build_auto
from .base import BuiltRuntime, Runner, RuntimePackageMissing, RuntimeSpec, RuntimeUnavailable
from .onnx_paths import build_onnx, build_onnx_int8, onnx_available, require_onnx
from .openvino_paths import build_openvino, build_openvino_int8, openvino_available, require_openvino
from .torch_paths import build_compiled, build_eager, build_fast, require_compiler

RUNTIMES: Dict[str, Builder] = {
    "eager": build_eager,
    "fast": build_fast,
    "compile": build_compiled,
    "onnx": build_onnx,
    "onnx-int8": build_onnx_int8,
    "openvino": build_openvino,
    "openvino-int8": build_openvino_int8,
}
RUNTIME_CHOICES: Tuple[str, ...] = ("auto", *RUNTIMES)

__all__ = ["RUNTIMES", "RUNTIME_CHOICES", "BuiltRuntime", "Runner", "RuntimePackageMissing", "RuntimeSpec",
           "RuntimeUnavailable", "auto_order", "build_runtime", "cpu_features", "onnx_available",
           "openvino_available", "require_runtime"]


def require_runtime(name: str, device: str = "", onnx_model: str = "") -> None:
    """Raise RuntimeUnavailable, one line naming what to install, where runtime `name` needs a
    package (or a compiler) that is not here; cheap (nothing is imported), so that a command
    or `PoseEstimator` checks it before it downloads a model. `auto` and the torch runtimes
    need nothing beyond the base install (`auto` passes over what is missing). `device`: where
    it will run ("": cuda when available); `onnx_model`: a file given for the runtime (an
    int8 one needs no quantiser). Unknown names pass: the config's check names them."""
    if name in ("onnx", "onnx-int8"):
        require_onnx(f"runtime {name}")
    elif name in ("openvino", "openvino-int8"):
        require_openvino(name, quantize=name == "openvino-int8" and not onnx_model)
    elif name == "compile":
        require_compiler(device)


def build_runtime(name: str, model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """Build runtime `name` (a key of RUNTIMES, or "auto") for `model`."""
    if name == "auto":
        order = auto_order(torch.device(spec.device), cpu_features(), onnx_available(), spec.precision,
                           openvino_available())
        return build_auto(order, RUNTIMES, model, spec)
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIME_CHOICES)}")
    return RUNTIMES[name](model, spec)
