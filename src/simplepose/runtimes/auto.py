"""`auto`: which runtime to use here, checked against eager fp32 and, between the fp32
contenders on a plain CPU (ONNX Runtime, OpenVINO, fast), timed at the batch sizes the
predictor will run; the decision and the export are kept on disk (`cache.py`), and a short
job (`RuntimeSpec.work`) without a decision there runs eager.

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
from collections.abc import Sequence
from dataclasses import replace
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..core.hardware import CpuFeatures
from . import cache
from .base import BuiltRuntime, RuntimeSpec, RuntimeUnavailable, Timer, probe_batch, relative_error

Builder = Callable[[nn.Module, RuntimeSpec], BuiltRuntime]

#: Largest relative heatmap error (see `base.relative_error`) `auto` accepts from a candidate:
#: fp32 rewrites agree to ~1e-6, bf16/fp16 to ~1e-2; a BatchNorm folded along the wrong axis
#: of a transposed conv is off by ~1e-2 to 1e-1.
AUTO_TOLERANCE = {"fp32": 1e-3, "reduced": 5e-2}
#: `auto` times its contenders at batch sizes whose one call is expected to take less than
#: this (seconds): larger batches of larger models would spend many seconds of start-up on it.
TIMING_BUDGET_S = 1.0


def auto_order(
    device: torch.device,
    features: CpuFeatures,
    have_onnx: bool,
    precision: torch.dtype | None = None,
    have_openvino: bool = False,
) -> tuple[str, ...]:
    """The runtimes `auto` considers, best first.

    - CUDA, or an explicit reduced precision (`--precision bf16`): `fast` (bf16/fp16 autocast
      beats ONNX Runtime fp32 where native: 2.9x against 2.1x eager on an AVX-512 + bf16 CPU);
    - a CPU otherwise, native bf16 or not: ONNX Runtime fp32 and OpenVINO fp32 when installed,
      then `fast` (BN folded + channels-last fp32); they are timed against each other where
      that is cheap (`build_auto`). bf16 is not chosen unasked: it moves joints (`torch_paths`;
      OpenVINO is told f32 for that reason).
    Never `compile` (a warm-up of 15-35 s per process here, and not faster than ONNX Runtime)
    nor `onnx-int8` (it changes the numbers more and needs calibration images).
    """
    if device.type != "cpu" or precision is not None:
        return ("fast", "eager")
    return (("onnx",) if have_onnx else ()) + (("openvino",) if have_openvino else ()) + ("fast", "eager")


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
_TIMED: dict[tuple, tuple[tuple[str, ...], int]] = {}


def clear_timings() -> None:
    """Forget the speed decisions of this process (tests swap runtimes under one signature)."""
    _TIMED.clear()


def speed_signature(model: nn.Module, spec: RuntimeSpec) -> tuple:
    """What a runtime's speed depends on: architecture (parameter shapes), input and batch size
    (the flip test doubles it), device, precision, threads (torch's and the runtime's own)."""
    shapes = tuple(tuple(p.shape) for p in model.parameters())
    return (
        type(model).__qualname__,
        shapes,
        tuple(spec.input_size),
        spec.batch_size,
        spec.device,
        str(spec.precision),
        torch.get_num_threads(),
        spec.threads,
    )


def build_checked(
    names: Sequence[str],
    runtimes: dict[str, Builder],
    model: nn.Module,
    spec: RuntimeSpec,
    x: torch.Tensor,
    want: np.ndarray,
    limit: int,
) -> list[tuple[BuiltRuntime, float]]:
    """Up to `limit` runtimes of `names`, in order, that build and match `want` (eager fp32 on
    `x`), each with the seconds its checked call took."""
    passed: list[tuple[BuiltRuntime, float]] = []
    for name in names:
        if name == "eager" or len(passed) == limit:
            break
        try:
            built = runtimes[name](model, spec)
        except RuntimeUnavailable:
            continue  # e.g. onnxruntime not installed: quietly the next one
        except Exception as e:  # noqa: BLE001 - any failure to export/trace a user's model must not stop prediction
            warnings.warn(
                f"runtime auto: {name} could not be built ({type(e).__name__}: {e}); trying the next", stacklevel=2
            )
            continue
        tolerance = AUTO_TOLERANCE["fp32" if built.precision == "fp32" else "reduced"]
        start = time.perf_counter()
        error = relative_error(built.runner(x), want)
        seconds = time.perf_counter() - start
        if error > tolerance:
            warnings.warn(
                f"runtime auto: {name} differs from eager fp32 by {error:.2e} (> {tolerance}); not used", stacklevel=2
            )
            continue
        built.detail += f"; auto, checked against eager fp32 (rel. error {error:.1e})"
        passed.append((built, seconds))
    return passed


def build_auto(order: Sequence[str], runtimes: dict[str, Builder], model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """The runtimes of `order` that build and match eager fp32 (eager always does): the first
    one, or, when `spec.batch_size` is known and several fp32 ones pass, the fastest of them
    (`faster_of`), remembered per speed signature in this process and, with the export, on
    disk (`cache.py`) for the next. A short job (`spec.work` crops, at most `SHORT_JOB_CROPS`)
    without a decision on disk runs eager: exporting and timing would cost it more than it saves."""
    key = speed_signature(model, spec) if spec.batch_size else None
    timed = key is not None and sum(1 for n in order if n != "eager") > 1  # a CPU with rivals to time
    digest = cache.model_digest(model) if timed else ""
    if timed and key is not None:  # (timed implies a key; said again for the type checker)
        cached = from_disk(runtimes, model, spec, digest, key)
        if cached is not None:
            return cached
    if key in _TIMED:
        kept, threshold = _TIMED[key]
        if timed and spec.onnx_model == "" and any(n in EXPORTED for n in kept):
            spec = with_cached_export(model, spec, digest)
        x = probe_batch(spec)
        passed = build_checked(kept, runtimes, model, spec, x, eager_reference(model, x), len(kept))
        if len(passed) == len(kept):  # the runtimes timed before still build and agree
            if len(passed) == 1:
                return passed[0][0]
            return switch(passed[0][0], passed[1][0], threshold, "timed earlier in this process")
    if spec.work and spec.work <= SHORT_JOB_CROPS:
        built = runtimes["eager"](model, spec)
        built.detail += f"; auto: a short job ({spec.work} crops), no export or timing"
        return built
    if timed and spec.onnx_model == "" and any(n in EXPORTED for n in order):
        spec = with_cached_export(model, spec, digest)
    x = probe_batch(spec)
    with Timer() as t:
        want = eager_reference(model, x)
    passed = build_checked(order, runtimes, model, spec, x, want, len(order) if key else 1)
    fp32 = [p for p in passed if p[0].precision == "fp32"]
    if not passed:
        return runtimes["eager"](model, spec)
    if len(fp32) < 2 or passed[0][0].precision != "fp32":
        return passed[0][0]
    return faster_of(fp32, spec, key, digest, len(x) / max(t.seconds, 1e-9))


#: Runtimes built from the ONNX export (so `auto` exports once for all of them).
EXPORTED = ("onnx", "openvino")
#: A job of at most this many crops (flip test included) with no decision on disk runs eager:
#: exporting R50 (0.5-1.7 s), checking and timing cost ~3.5 s here, about 60 crops of eager R50.
SHORT_JOB_CROPS = 64


def with_cached_export(model: nn.Module, spec: RuntimeSpec, digest: str) -> RuntimeSpec:
    """`spec` reading the ONNX export of `model` at `spec.input_size` from the cache (exported
    and written now if absent, stale or damaged); `spec` unchanged where exporting fails (each
    builder then reports it)."""
    from .onnx_paths import OPSET, export_onnx_bytes

    request = cache.export_request(digest, spec.input_size, OPSET)
    path = cache.load_export(request)
    if path is None:
        try:
            path = cache.save_export(request, export_onnx_bytes(model, spec.input_size))
        except Exception:  # noqa: BLE001 - RuntimeUnavailable or an untraceable model: builders say why
            return spec
        if path is None:
            return spec
    return replace(spec, onnx_model=str(path))


def from_disk(
    runtimes: dict[str, Builder], model: nn.Module, spec: RuntimeSpec, digest: str, key: tuple
) -> BuiltRuntime | None:
    """The runtime(s) a decision on disk kept, built from the cached export without a check
    (they were checked on these weights when the decision was written); eager where the
    decision's figures say loading them would cost `spec.work` crops more than it saves;
    None when there is no usable decision."""
    from .onnx_paths import OPSET

    decision = cache.load_decision(digest, key)
    path = cache.load_export(cache.export_request(digest, spec.input_size, OPSET)) if decision else None
    if decision is None or not all(n in runtimes for n in decision.kept) or path is None:
        return None
    if not decision.cheaper_than_eager(spec.work):
        built = runtimes["eager"](model, spec)
        built.detail += f"; auto: eager is faster for a job of {spec.work} crops (decision cached in {path.parent})"
        return built
    on_file = replace(spec, onnx_model=str(path)) if spec.onnx_model == "" else spec
    try:
        kept = [runtimes[n](model, on_file) for n in decision.kept]
    except Exception:  # noqa: BLE001 - a package removed since, a damaged file, a graph of another size: decide anew
        return None
    how = f"decision cached in {path.parent}"
    _TIMED[key] = (decision.kept, decision.threshold)
    if len(kept) == 1:
        kept[0].detail += f"; auto: {how}"
        return kept[0]
    return switch(kept[0], kept[1], decision.threshold, how)


class BatchSwitch:
    """Batches of up to `threshold` crops on `small`, larger ones on `large` (both fp32 and
    checked against eager): ONNX Runtime's lower per-call cost wins small batches, while
    PyTorch's channels-last kernels can win large ones on small models."""

    def __init__(self, small: BuiltRuntime, large: BuiltRuntime, threshold: int) -> None:
        self.small, self.large, self.threshold = small, large, threshold

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        return (self.small if len(x) <= self.threshold else self.large).runner(x)


def rates_at(runtimes: list[BuiltRuntime], spec: RuntimeSpec, batch: int, rounds: int = 3) -> dict[str, float]:
    """Crops/s of each runtime at `batch`: a warm-up call each, then the median of `rounds`
    interleaved calls (interleaving spreads other load on the machine over all of them)."""
    x = probe_batch(spec, batch, seed=1)
    for r in runtimes:
        r.runner(x)
    times: dict[str, list[float]] = {r.name: [] for r in runtimes}
    for _ in range(rounds):
        for r in runtimes:
            start = time.perf_counter()
            r.runner(x)
            times[r.name].append(time.perf_counter() - start)
    return {name: batch / statistics.median(t) for name, t in times.items()}


def switch(small: BuiltRuntime, large: BuiltRuntime, threshold: int, how: str) -> BuiltRuntime:
    """A `BatchSwitch` as a runtime named "small+large"."""
    detail = (
        f"{small.name} for batches of up to {threshold} crops, {large.name} above ({how}); "
        f"{small.name}: {small.detail}; {large.name}: {large.detail}"
    )
    return BuiltRuntime(
        f"{small.name}+{large.name}",
        BatchSwitch(small, large, threshold),
        "fp32",
        detail,
        small.build_seconds + large.build_seconds,
    )


def faster_of(
    passed: list[tuple[BuiltRuntime, float]],
    spec: RuntimeSpec,
    key: tuple | None,
    digest: str = "",
    eager_rate: float = 0.0,
) -> BuiltRuntime:
    """The fastest of several fp32 runtimes at the predictor's full batch (`spec.batch_size`)
    and at a batch of 2 (one crop and its mirror); when different ones win the two, a
    `BatchSwitch` between those at the geometric middle of the two sizes. Where a full batch
    is expected to take over `TIMING_BUDGET_S`, nothing is timed and the first is kept. The
    choice is remembered under `key`, and on disk under `digest` when given."""
    first, check_seconds = passed[0]
    per_crop = check_seconds / len(probe_batch(spec))  # the check ran 2 crops
    # The largest batch timed: the predictor's, else the largest power of 2 below it whose
    # call fits the budget (R50's 128 crops take ~14 s a call here; 8 take under one).
    large = spec.batch_size
    while large > 2 and per_crop * large > TIMING_BUDGET_S:
        large = max(2, 2 ** (large.bit_length() - 1) if large & (large - 1) else large // 2)
    if per_crop * 2 > TIMING_BUDGET_S:
        first.detail += (
            f"; not timed against {', '.join(b.name for b, _ in passed[1:])} (a batch of 2 takes ~{per_crop * 2:.1f} s)"
        )
        return remember(key, digest, (first,), 0, {first.name: 2 / max(check_seconds, 1e-9)}, eager_rate)
    contenders = [b for b, _ in passed]
    sizes = sorted({2, large})
    rates = {n: rates_at(contenders, spec, n) for n in sizes}
    winners = {n: max(contenders, key=lambda b: rates[n][b.name]) for n in sizes}
    timed = "; ".join(f"batch {n}: " + ", ".join(f"{k} {v:.0f}/s" for k, v in rates[n].items()) for n in sizes)
    on_small, on_large = winners[sizes[0]], winners[sizes[-1]]
    if on_small is on_large:
        on_small.detail += f"; timed ({timed})"
        return remember(key, digest, (on_small,), 0, rates[2], eager_rate)
    threshold = int(round((sizes[0] * sizes[-1]) ** 0.5))  # the largest size stands for all larger batches
    remember(key, digest, (on_small, on_large), threshold, rates[2], eager_rate)
    return switch(on_small, on_large, threshold, timed)


def remember(
    key: tuple | None,
    digest: str,
    kept: tuple[BuiltRuntime, ...],
    threshold: int,
    rates: dict[str, float],
    eager_rate: float,
) -> BuiltRuntime:
    """Keep the decision for this process and, with `digest`, on disk; the first kept runtime."""
    names = tuple(b.name for b in kept)
    if key is None:  # no batch size, no speed signature: nothing to remember it by
        return kept[0]
    _TIMED[key] = (names, threshold)
    if digest:
        loads = {b.name: b.build_seconds for b in kept}  # built from the cached export: its load time
        cache.save_decision(
            digest, key, cache.Decision(names, threshold, {n: rates[n] for n in names if n in rates}, eager_rate, loads)
        )
    return kept[0]
