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
than the base install, an entry in `check_runtime`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..config import check_overrides
from ..core.hardware import check_device, check_precision, cpu_features
from ..core.suggest import did_you_mean
from .auto import Builder, auto_order, build_auto
from .base import BuiltRuntime, Runner, RuntimePackageMissing, RuntimeSpec, RuntimeUnavailable
from .onnx_paths import build_onnx, build_onnx_int8, onnx_available, require_onnx
from .openvino_paths import build_openvino, build_openvino_int8, openvino_available, require_openvino
from .torch_paths import build_compiled, build_eager, build_fast, require_compiler

RUNTIMES: dict[str, Builder] = {
    "eager": build_eager,
    "fast": build_fast,
    "compile": build_compiled,
    "onnx": build_onnx,
    "onnx-int8": build_onnx_int8,
    "openvino": build_openvino,
    "openvino-int8": build_openvino_int8,
}
RUNTIME_CHOICES: tuple[str, ...] = ("auto", *RUNTIMES)

__all__ = [
    "RUNTIMES",
    "RUNTIME_CHOICES",
    "BuiltRuntime",
    "Runner",
    "RuntimePackageMissing",
    "RuntimeSpec",
    "RuntimeUnavailable",
    "auto_order",
    "build_runtime",
    "check_inference_settings",
    "check_runtime",
    "cpu_features",
    "onnx_available",
    "openvino_available",
]


def build_runtime(name: str, model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """Build runtime `name` (a key of RUNTIMES, or "auto") for `model`."""
    if name == "auto":
        order = auto_order(
            torch.device(spec.device), cpu_features(), onnx_available(), spec.precision, openvino_available()
        )
        return build_auto(order, RUNTIMES, model, spec)
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}{unknown_runtime_hint(name)}")
    return RUNTIMES[name](model, spec)


def unknown_runtime_hint(name: str) -> str:
    """What follows "unknown runtime": the nearest names, if any, and the choices."""
    near = did_you_mean(name, RUNTIME_CHOICES)
    choices = ", ".join(RUNTIME_CHOICES)
    return f"{near} (choose one of {choices})" if near else f"; choose one of {choices}"


def check_runtime(
    name: str, device: str, precision: str | None = None, what: str = "--runtime", onnx_model: str = ""
) -> None:
    """Raise (one line, `what NAME: ...`) when runtime `name` cannot run here: an unknown name
    (with the nearest ones), an optional package or a compiler that is not installed (with how
    to install it), a CPU-only runtime on another device, or a precision it does not run.
    Cheap: nothing is imported or built, so commands and `PoseEstimator` call it before any
    download, model load or output. `auto` and the torch runtimes need nothing beyond the base
    install (`auto` passes over what is missing); `onnx_model`: a file given for the runtime
    (an int8 one needs no quantiser)."""
    if name not in RUNTIME_CHOICES:
        raise ValueError(f"{what} {name}: unknown runtime{unknown_runtime_hint(name)}")
    family = name.split("-")[0]
    if family == "onnx":
        require_onnx(f"{what} {name}")
    elif family == "openvino":
        require_openvino(f"{what} {name}", quantize=name.endswith("-int8") and not onnx_model)
    elif name == "compile":
        require_compiler(device)
    if family in ("onnx", "openvino") and torch.device(device).type != "cpu":
        raise RuntimeUnavailable(f"{what} {name}: runs on the CPU only (device is {device}); use fast")
    if family == "openvino" and precision == "fp16":
        raise RuntimeUnavailable(f"{what} {name}: OpenVINO on a CPU runs fp32 or bf16, not fp16; use fast")


def check_inference_settings(
    device: str | None,
    precision: str | None,
    overrides: Sequence[str],
    spelled: tuple[str, str, str] = ("--device", "--precision", "--runtime"),
) -> str:
    """The device (None: the default), precision and `--set`-style overrides an inference is
    asked to run with, checked before any download or model load; returns the device.

    One line (a ValueError) for a device or precision this machine lacks, an unknown config
    key (with the nearest keys), and a `test.runtime` that is unknown or cannot run here.
    `spelled`: how the caller's user spells the device, the precision and the runtime."""
    device = check_device(device, spelled[0])
    check_precision(precision, device, spelled[1])
    runtime = check_overrides(overrides).get("test", {}).get("runtime")
    if runtime:
        check_runtime(str(runtime), device, precision, spelled[2])
    return device
