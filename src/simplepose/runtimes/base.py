"""What every runtime shares: the options a builder receives, what it returns, and the check
of a runtime against eager fp32.

A runtime turns a model into a `Runner`: a callable from a normalised crop batch
(N, 3, in_h, in_w) float32 tensor (any memory layout) to heatmaps (N, K, h, w) as a float32
NumPy array. The predictor only ever calls a Runner, so crop, flip test and decoding are the
same code for every runtime.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..core.fileio import MissingPackageError
from ..core.transforms import Normalize

Runner = Callable[[torch.Tensor], np.ndarray]


class RuntimeUnavailable(ValueError):
    """A runtime that cannot run here (a package or a device is missing). A ValueError, so
    that every command reports it as one line; `auto` catches it and tries the next runtime."""


class RuntimePackageMissing(RuntimeUnavailable, MissingPackageError):
    """A runtime whose package is not installed: `MissingPackageError`'s one line (what needs
    which package, and the pip command that installs it), passed over by `auto` like any
    other RuntimeUnavailable."""


@dataclass(frozen=True)
class RuntimeSpec:
    """Everything a runtime builder needs besides the model.

    input_size: (w, h) of the network input; device: where torch runtimes run;
    precision: an explicit autocast dtype for the torch runtimes (None = the runtime's own
    choice); onnx_model: a .onnx file to run instead of exporting the model; calibration: a
    folder of images whose crops calibrate int8 quantisation; normalize: the pixel
    normalisation of those crops; threads: ONNX Runtime intra-op threads (0 = torch's count);
    batch_size: the most crops the predictor passes per call (0 = unknown), at which `auto`
    may time its contenders; work: the crops the whole job is expected to run, flip test
    included (0 = unknown: a long job), by which `auto` decides whether exporting pays.
    """

    input_size: tuple[int, int] = (192, 256)
    device: str = "cpu"
    precision: torch.dtype | None = None
    onnx_model: str = ""
    calibration: str = ""
    normalize: Normalize = field(default_factory=Normalize)
    threads: int = 0
    batch_size: int = 0
    work: int = 0


@dataclass
class BuiltRuntime:
    """A runner and what it is: `name` (a key of RUNTIMES, or "onnx+fast" for `auto`'s switch
    on the batch size between the two), `precision` ("fp32", "bf16",
    "fp16", "int8"), `detail` (one line: folding, layout, source) and `build_seconds` (export,
    quantisation, compilation, warm-up)."""

    name: str
    runner: Runner
    precision: str
    detail: str
    build_seconds: float = 0.0


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max |want|: one number that is ~1e-6 for a correct fp32 rewrite,
    ~1e-2 for bf16 or int8, and ~1e-1 for a BatchNorm folded along the wrong axis."""
    scale = float(np.abs(want).max())
    return float(np.abs(got.astype(np.float64) - want).max()) / max(scale, 1e-30)


def probe_batch(spec: RuntimeSpec, n: int = 2, seed: int = 0) -> torch.Tensor:
    """A fixed random input batch (n, 3, in_h, in_w), the same on every call, NHWC-strided
    like the predictor's crops (so a compiled runtime is warmed up on the layout it will see)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, spec.input_size[1], spec.input_size[0], 3, generator=g).permute(0, 3, 1, 2)


class Timer:
    """`with Timer() as t: ...; t.seconds`."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
