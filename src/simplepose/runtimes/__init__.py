"""Inference runtimes: one table from a name to the function that builds it.

    eager      the model as it is, fp32: the reference every other runtime is tested against
    fast       BatchNorm folded into (transposed) convs, channels-last; bf16 autocast on CPUs
               with native bf16, fp16 + cudnn.benchmark on CUDA (untested), fp32 otherwise
    compile    fast + torch.compile (BN folded by hand first); warm-up of tens of seconds
    onnx       ONNX Runtime fp32 on the exported BN-folded model (needs simplepose[onnx])
    onnx-int8  ONNX Runtime static int8, calibrated on crops of a folder of images

`auto` (the default of `test.runtime` and of `TopDownPredictor`) is not a runtime of its own
but a choice among these, made by `auto_order` and then checked: each candidate is built and
compared with eager fp32 on a fixed random batch, and the first that builds and agrees is
used (a warning names any that was skipped). Adding a runtime is one table entry plus its
builder `(model, RuntimeSpec) -> BuiltRuntime`.
"""
from __future__ import annotations

import warnings
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from ..hardware import CpuFeatures, cpu_features
from .base import BuiltRuntime, Runner, RuntimeSpec, RuntimeUnavailable, check_against_eager
from .onnx_paths import build_onnx, build_onnx_int8, onnx_available
from .torch_paths import build_compiled, build_eager, build_fast

Builder = Callable[[nn.Module, RuntimeSpec], BuiltRuntime]

RUNTIMES: Dict[str, Builder] = {
    "eager": build_eager,
    "fast": build_fast,
    "compile": build_compiled,
    "onnx": build_onnx,
    "onnx-int8": build_onnx_int8,
}
RUNTIME_CHOICES: Tuple[str, ...] = ("auto", *RUNTIMES)

#: Largest relative heatmap error (see `base.relative_error`) `auto` accepts from a candidate:
#: fp32 rewrites agree to ~1e-6, bf16/fp16 to ~1e-2; a BatchNorm folded along the wrong axis
#: of a transposed conv is off by ~1e-1.
AUTO_TOLERANCE = {"fp32": 1e-3, "reduced": 5e-2}

__all__ = ["RUNTIMES", "RUNTIME_CHOICES", "BuiltRuntime", "Runner", "RuntimeSpec", "RuntimeUnavailable",
           "auto_order", "build_runtime", "cpu_features", "onnx_available"]


def auto_order(device: torch.device, features: CpuFeatures, have_onnx: bool,
               precision: Optional[torch.dtype] = None) -> Tuple[str, ...]:
    """The runtimes `auto` tries, best first.

    - CUDA, or a CPU with native bf16, or an explicit reduced precision: `fast` (bf16/fp16
      autocast there beats ONNX Runtime fp32: 2.9x against 2.1x eager in the issue's
      measurements on an AVX-512 + bf16 CPU);
    - any other CPU: ONNX Runtime fp32 when installed (the fastest fp32 path measured on this
      project's AVX-512 machine without bf16; see the README's Performance section), else
      `fast` (BN folded + channels-last fp32).
    Never `compile` (a warm-up of tens of seconds per process) nor `onnx-int8` (it changes
    the numbers more and needs calibration images): both are there to be asked for.
    """
    if device.type != "cpu" or features.native_bf16 or precision is not None:
        return ("fast", "eager")
    return ("onnx", "fast", "eager") if have_onnx else ("fast", "eager")


def build_runtime(name: str, model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """Build runtime `name` (a key of RUNTIMES, or "auto") for `model`."""
    if name == "auto":
        order = auto_order(torch.device(spec.device), cpu_features(), onnx_available(), spec.precision)
        return _build_auto(order, model, spec)
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIME_CHOICES)}")
    return RUNTIMES[name](model, spec)


def _build_auto(order: Sequence[str], model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """The first runtime of `order` that builds and matches eager fp32 (eager always does)."""
    for name in order:
        if name == "eager":
            return RUNTIMES[name](model, spec)
        try:
            built = RUNTIMES[name](model, spec)
        except RuntimeUnavailable:
            continue  # e.g. onnxruntime not installed: quietly the next one
        except Exception as e:  # noqa: BLE001 - any failure to export/trace a user's model must not stop prediction
            warnings.warn(f"runtime auto: {name} could not be built ({type(e).__name__}: {e}); trying the next")
            continue
        tolerance = AUTO_TOLERANCE["fp32" if built.precision == "fp32" else "reduced"]
        error = check_against_eager(built, model, spec)
        if error <= tolerance:
            built.detail += f"; auto, checked against eager fp32 (rel. error {error:.1e})"
            return built
        warnings.warn(f"runtime auto: {name} differs from eager fp32 by {error:.2e} (> {tolerance}); not used")
    return RUNTIMES["eager"](model, spec)
