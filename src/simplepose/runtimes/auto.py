"""`auto`: which runtime to use here, checked against eager fp32 and, between the two fp32
contenders on a plain CPU, timed at the batch sizes the predictor will run.

On this project's AVX-512 CPU without bf16, ONNX Runtime fp32 is the fastest fp32 path for
R18 and R50 at every batch size measured (1 to 64), and for the small demo model at batch 1
and 16; at 64 and more crops per call BN-folded channels-last PyTorch overtakes it on the
demo model by ~15%. So where one call of the predictor's batch is cheap to time (under a
second), `auto` times both at that batch and at a batch of 2 and keeps the faster, or both
behind a switch on the batch size when each wins one; otherwise it keeps ONNX Runtime.
"""
from __future__ import annotations

import statistics
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ..hardware import CpuFeatures
from .base import BuiltRuntime, RuntimeSpec, RuntimeUnavailable, probe_batch, relative_error

Builder = Callable[[nn.Module, RuntimeSpec], BuiltRuntime]

#: Largest relative heatmap error (see `base.relative_error`) `auto` accepts from a candidate:
#: fp32 rewrites agree to ~1e-6, bf16/fp16 to ~1e-2; a BatchNorm folded along the wrong axis
#: of a transposed conv is off by ~1e-2 to 1e-1.
AUTO_TOLERANCE = {"fp32": 1e-3, "reduced": 5e-2}
#: `auto` times its two contenders only when one call at the predictor's batch is expected to
#: take less than this (seconds): larger models would spend many seconds of start-up on it.
TIMING_BUDGET_S = 1.0


def auto_order(device: torch.device, features: CpuFeatures, have_onnx: bool,
               precision: Optional[torch.dtype] = None) -> Tuple[str, ...]:
    """The runtimes `auto` considers, best first.

    - CUDA, or an explicit reduced precision (`--precision bf16`): `fast` (bf16/fp16 autocast
      beats ONNX Runtime fp32 where native: 2.9x against 2.1x eager on an AVX-512 + bf16 CPU);
    - a CPU otherwise, native bf16 or not: ONNX Runtime fp32 when installed, then `fast` (BN
      folded + channels-last fp32); the two are timed against each other where that is cheap
      (`build_auto`). bf16 is not chosen unasked: it moves joints (`torch_paths`).
    Never `compile` (a warm-up of 15-35 s per process here, and not faster than ONNX Runtime)
    nor `onnx-int8` (it changes the numbers more and needs calibration images).
    """
    if device.type != "cpu" or precision is not None:
        return ("fast", "eager")
    return ("onnx", "fast", "eager") if have_onnx else ("fast", "eager")


def eager_reference(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """The model's eager fp32 heatmaps for `x` (train/eval mode restored)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            param = next(model.parameters(), None)
            device = param.device if param is not None else torch.device("cpu")
            return model(x.to(device)).float().cpu().numpy()
    finally:
        model.train(was_training)


#: Speed decisions measured in this process: speed signature -> (kept runtime names, switch
#: threshold). A cache of measurements, not configuration: one architecture at one input and
#: batch size on one machine runs at the same speed whatever its weights, and training
#: (validation every few epochs), evaluation and tracking build predictors for it again and again.
_TIMED: Dict[tuple, Tuple[Tuple[str, ...], int]] = {}


def clear_timings() -> None:
    """Forget the speed decisions of this process (tests swap runtimes under one signature)."""
    _TIMED.clear()


def speed_signature(model: nn.Module, spec: RuntimeSpec) -> tuple:
    """What a runtime's speed depends on: architecture (parameter shapes), input and batch size,
    device, threads."""
    shapes = tuple(tuple(p.shape) for p in model.parameters())
    return (type(model).__qualname__, shapes, spec.input_size, spec.batch_size, spec.device, torch.get_num_threads())


def build_checked(names: Sequence[str], runtimes: Dict[str, Builder], model: nn.Module, spec: RuntimeSpec,
                  x: torch.Tensor, want: np.ndarray, limit: int) -> List[Tuple[BuiltRuntime, float]]:
    """Up to `limit` runtimes of `names`, in order, that build and match `want` (eager fp32 on
    `x`), each with the seconds its checked call took."""
    passed: List[Tuple[BuiltRuntime, float]] = []
    for name in names:
        if name == "eager" or len(passed) == limit:
            break
        try:
            built = runtimes[name](model, spec)
        except RuntimeUnavailable:
            continue  # e.g. onnxruntime not installed: quietly the next one
        except Exception as e:  # noqa: BLE001 - any failure to export/trace a user's model must not stop prediction
            warnings.warn(f"runtime auto: {name} could not be built ({type(e).__name__}: {e}); trying the next")
            continue
        tolerance = AUTO_TOLERANCE["fp32" if built.precision == "fp32" else "reduced"]
        start = time.perf_counter()
        error = relative_error(built.runner(x), want)
        seconds = time.perf_counter() - start
        if error > tolerance:
            warnings.warn(f"runtime auto: {name} differs from eager fp32 by {error:.2e} (> {tolerance}); not used")
            continue
        built.detail += f"; auto, checked against eager fp32 (rel. error {error:.1e})"
        passed.append((built, seconds))
    return passed


def build_auto(order: Sequence[str], runtimes: Dict[str, Builder], model: nn.Module,
               spec: RuntimeSpec) -> BuiltRuntime:
    """The runtimes of `order` that build and match eager fp32 (eager always does): the first
    one, or, when `order` starts with two such fp32 runtimes and `spec.batch_size` is known,
    the faster of the two (`faster_of`; measured once per speed signature and process)."""
    x = probe_batch(spec)
    want = eager_reference(model, x)
    key = speed_signature(model, spec) if spec.batch_size else None
    if key in _TIMED:
        kept, threshold = _TIMED[key]
        passed = build_checked(kept, runtimes, model, spec, x, want, len(kept))
        if len(passed) == len(kept):  # the runtimes timed before still build and agree
            if len(passed) == 1:
                return passed[0][0]
            return switch(passed[0][0], passed[1][0], threshold, "timed earlier in this process")
    passed = build_checked(order, runtimes, model, spec, x, want, 2 if spec.batch_size else 1)
    if not passed:
        return runtimes["eager"](model, spec)
    if len(passed) == 1 or passed[0][0].precision != "fp32" or passed[1][0].precision != "fp32":
        return passed[0][0]
    return faster_of(passed, spec, key)


class BatchSwitch:
    """Batches of up to `threshold` crops on `small`, larger ones on `large` (both fp32 and
    checked against eager): ONNX Runtime's lower per-call cost wins small batches, while
    PyTorch's channels-last kernels can win large ones on small models."""

    def __init__(self, small: BuiltRuntime, large: BuiltRuntime, threshold: int) -> None:
        self.small, self.large, self.threshold = small, large, threshold

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        return (self.small if len(x) <= self.threshold else self.large).runner(x)


def rates_at(runtimes: List[BuiltRuntime], spec: RuntimeSpec, batch: int, rounds: int = 3) -> Dict[str, float]:
    """Crops/s of each runtime at `batch`: a warm-up call each, then the median of `rounds`
    interleaved calls (interleaving spreads other load on the machine over all of them)."""
    x = probe_batch(spec, batch, seed=1)
    for r in runtimes:
        r.runner(x)
    times: Dict[str, List[float]] = {r.name: [] for r in runtimes}
    for _ in range(rounds):
        for r in runtimes:
            start = time.perf_counter()
            r.runner(x)
            times[r.name].append(time.perf_counter() - start)
    return {name: batch / statistics.median(t) for name, t in times.items()}


def switch(small: BuiltRuntime, large: BuiltRuntime, threshold: int, how: str) -> BuiltRuntime:
    """A `BatchSwitch` as a runtime named "small+large"."""
    detail = (f"{small.name} for batches of up to {threshold} crops, {large.name} above ({how}); "
              f"{small.name}: {small.detail}; {large.name}: {large.detail}")
    return BuiltRuntime(f"{small.name}+{large.name}", BatchSwitch(small, large, threshold), "fp32", detail,
                        small.build_seconds + large.build_seconds)


def faster_of(passed: List[Tuple[BuiltRuntime, float]], spec: RuntimeSpec, key: Optional[tuple]) -> BuiltRuntime:
    """The faster of two fp32 runtimes at the predictor's full batch (`spec.batch_size`) and at
    a batch of 2 (one crop and its mirror); when each wins one, a `BatchSwitch` between them
    at the geometric middle of the two sizes. Where a full batch is expected to take over
    `TIMING_BUDGET_S`, nothing is timed and the first is kept. The choice is remembered
    under `key`."""
    first, check_seconds = passed[0]
    expected = check_seconds * spec.batch_size / len(probe_batch(spec))  # the check ran 2 crops
    if expected > TIMING_BUDGET_S:
        first.detail += f"; not timed against {passed[1][0].name} (a batch of {spec.batch_size} takes ~{expected:.1f} s)"
        _TIMED[key] = ((first.name,), 0)
        return first
    contenders = [b for b, _ in passed]
    sizes = sorted({2, spec.batch_size})
    rates = {n: rates_at(contenders, spec, n) for n in sizes}
    winners = {n: max(contenders, key=lambda b: rates[n][b.name]) for n in sizes}
    timed = "; ".join(f"batch {n}: " + ", ".join(f"{k} {v:.0f}/s" for k, v in rates[n].items()) for n in sizes)
    small, large = winners[sizes[0]], winners[sizes[-1]]
    if small is large:
        small.detail += f"; timed ({timed})"
        _TIMED[key] = ((small.name,), 0)
        return small
    threshold = int(round((sizes[0] * sizes[-1]) ** 0.5))
    _TIMED[key] = ((small.name, large.name), threshold)
    return switch(small, large, threshold, timed)
