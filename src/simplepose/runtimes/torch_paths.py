"""The PyTorch runtimes: eager (the reference), fast (BatchNorm folded, channels-last; reduced
precision on CUDA, or on a CPU when asked for) and compile (fast + torch.compile).

The precision `fast` picks, and why:
- CUDA: fp16 autocast + channels-last + cudnn.benchmark (tensor cores). UNTESTED: no GPU was
  available to this work; it is the standard recipe, kept deliberately simple.
- CPU: fp32, unless bf16 is asked for (`--precision bf16`). bf16 is faster where it is native
  (avx512_bf16 / amx_bf16: channels-last + bf16 2.9x eager fp32 for R50 256x192 at batch 16),
  but it moves joints: on the real COCO photos, with the mmpose-format ResNet-50 of
  tests/golden, bf16 moved 3 of 238 joints by more than a pixel, one by 27.7 px (near-tied
  heatmap peaks reordered by bf16 rounding), so the default keeps eager fp32's keypoints.
  Emulated bf16 (no native support) is slower than fp32 (0.45x measured here).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from typing import Callable

import numpy as np
import torch
from torch import nn

from .base import BuiltRuntime, RuntimeSpec, RuntimeUnavailable, Timer, probe_batch
from .fold import count_batchnorms, fold_or_copy

PRECISION_NAMES = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
#: Batch sizes `compile` warms up with (see `build_compiled`).
WARMUP_BATCHES = (1, 2, 3, 16)


class TorchRunner:
    """Runs `module` on crops: moved to `device`, channels-last if asked, autocast to `dtype`
    (None = fp32), no autograd. (N, 3, H, W) tensor -> (N, K, h, w) float32 array.
    `module` is a model or what `torch.compile` made of one (typed as a plain callable)."""

    def __init__(
        self,
        module: Callable[[torch.Tensor], torch.Tensor],
        device: torch.device,
        dtype: torch.dtype | None = None,
        channels_last: bool = False,
    ) -> None:
        self.module, self.device, self.dtype, self.channels_last = module, device, dtype, channels_last

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last:  # a no-op for the predictor's crops, which arrive NHWC-strided
            x = x.contiguous(memory_format=torch.channels_last)
        ctx = (
            torch.autocast(device_type=self.device.type, dtype=self.dtype)
            if self.dtype is not None
            else contextlib.nullcontext()
        )
        with torch.no_grad(), ctx:
            y = self.module(x)
        return y.float().cpu().numpy()


def fast_precision(device: torch.device) -> torch.dtype | None:
    """fp16 on CUDA, else None (fp32): on a CPU, bf16 only when asked for (see above)."""
    return torch.float16 if device.type == "cuda" else None


def build_eager(model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """The model as it is (the live module: later weight changes are seen), fp32 unless
    `spec.precision` asks for autocast."""
    device = torch.device(spec.device)
    model.to(device).eval()
    name = PRECISION_NAMES[spec.precision]
    return BuiltRuntime("eager", TorchRunner(model, device, spec.precision), name, f"eager, {name}")


def folded_module(model: nn.Module, device: torch.device) -> nn.Module:
    """A BN-folded (where torch.fx can trace it; the detail line counts the BatchNorms left),
    channels-last inference copy of `model` on `device`."""
    moved = fold_or_copy(model).to(device)
    return moved.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's Module.to overloads leave out its documented memory_format


def build_fast(model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """BatchNorm folded into convs and transposed convs (a copy: the weights are taken now),
    channels-last, and the device's fast precision (see the module docstring)."""
    device = torch.device(spec.device)
    with Timer() as t:
        module = folded_module(model, device)
        dtype = spec.precision if spec.precision is not None else fast_precision(device)
        if device.type == "cuda":  # UNTESTED here: lets cuDNN pick the fastest algorithms per shape
            torch.backends.cudnn.benchmark = True
    name = PRECISION_NAMES[dtype]
    detail = f"BN folded ({count_batchnorms(module)} left), channels-last, {name}" + (
        " (CUDA path untested: no GPU was available)" if device.type == "cuda" else ""
    )
    return BuiltRuntime("fast", TorchRunner(module, device, dtype, channels_last=True), name, detail, t.seconds)


def require_compiler(device: str = "") -> None:
    """Raise RuntimeUnavailable (one line) where torch.compile would need a C++ compiler and
    none is found: inductor builds its CPU kernels with `$CXX`, else g++ (clang++ on macOS),
    and otherwise fails at the first batch with a traceback. Not checked on CUDA (Triton
    kernels; `device` "": cuda when available) nor on Windows (MSVC is found another way)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.device(device).type != "cpu" or sys.platform == "win32":
        return
    compiler = os.environ.get("CXX") or ("clang++" if sys.platform == "darwin" else "g++")
    if shutil.which(compiler) is None:
        raise RuntimeUnavailable(
            f"runtime compile on the CPU needs a C++ compiler for torch.compile, and {compiler} "
            "is not found (install one, e.g. `apt-get install g++`, or set $CXX); or use "
            "runtime fast"
        )


def build_compiled(model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """`fast` under torch.compile (inductor, default mode, no freezing).

    BatchNorm is folded by `fold_batchnorm` before compiling: inductor's freezing pass folds
    it into the transposed convolutions wrongly. The warm-up runs batches of 1, 2, 3 and 16:
    dynamo specialises batch 1, makes the batch axis symbolic on the second size it sees, and
    guards the convolutions on 2-15 against 16 and more, so these four graphs cover every
    later batch without a recompile; `build_seconds` is that warm-up.
    """
    require_compiler(spec.device)
    device = torch.device(spec.device)
    with Timer() as t:
        module = torch.compile(folded_module(model, device))
        dtype = spec.precision if spec.precision is not None else fast_precision(device)
        runner = TorchRunner(module, device, dtype, channels_last=True)
        for n in WARMUP_BATCHES:
            runner(probe_batch(spec, n))
    name = PRECISION_NAMES[dtype]
    return BuiltRuntime("compile", runner, name, f"BN folded, channels-last, {name}, torch.compile", t.seconds)
