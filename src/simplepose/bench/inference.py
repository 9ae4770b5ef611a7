"""Inference figures: the network alone per runtime and batch size, and the whole predictor
(crop, flip batch, network, decode) on generated images, with each stage's share of the time."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Callable

import numpy as np
import torch

from ..config import Config
from ..core.words import count
from ..inference.predictor import TopDownPredictor
from ..runtimes import BuiltRuntime, RuntimeSpec, RuntimeUnavailable, build_runtime
from .inputs import ModelSpec
from .report import Section, ratio, times
from .timing import interleaved_rates


def build_all(
    model: torch.nn.Module, names: Sequence[str], spec: RuntimeSpec
) -> tuple[dict[str, BuiltRuntime], list[str]]:
    """{name: BuiltRuntime} for every runtime that builds here, and a note for each that does not."""
    built: dict[str, BuiltRuntime] = {}
    notes: list[str] = []
    for name in names:
        try:
            built[name] = build_runtime(name, model, spec)
        except (RuntimeUnavailable, ValueError) as e:
            notes.append(f"{name}: not measured ({e})")
    return built, notes


def model_speed(
    spec: ModelSpec, names: Sequence[str], batches: Sequence[int], calibration: str, rounds: int, seconds: float
) -> Section:
    """Images/s of the network alone for each runtime at each batch size, same inputs.

    The input is NCHW-contiguous float32, the usual eager reference; ratios are to eager fp32
    measured in the same interleaved rounds.
    """
    w, h = spec.input_size
    # auto is built as a predictor running batches of up to max(batches) crops would build it.
    built, notes = build_all(spec.model, names, RuntimeSpec((w, h), calibration=calibration, batch_size=max(batches)))
    columns = ["model", "runtime", "precision", "build s"]
    for b in batches:
        columns += [f"img/s b{b}", f"vs eager b{b}"]
    rates: dict[int, dict[str, float]] = {}
    for b in batches:
        x = torch.randn(b, 3, h, w, generator=torch.Generator().manual_seed(b))
        calls: dict[str, Callable[[], object]] = {n: functools.partial(r.runner, x) for n, r in built.items()}
        rates[b] = interleaved_rates(calls, b, rounds, seconds)
    rows = []
    for name, r in built.items():
        row: list[object] = [
            spec.name,
            name if name != "auto" else f"auto = {r.name}",
            r.precision,
            round(r.build_seconds, 1),
        ]
        for b in batches:
            row += [rates[b][name], times(ratio(rates[b][name], rates[b].get("eager")))]
        rows.append(row)
    section = Section(f"Network alone: {spec.name}, images/s", columns, rows, notes)
    section.notes += [f"{n}: {r.detail}" for n, r in built.items()]
    return section


def predict_speed(
    model: torch.nn.Module,
    cfg: Config,
    images: list[np.ndarray],
    boxes: list[np.ndarray],
    built: dict[str, BuiltRuntime],
    rounds: int,
    seconds: float,
    flips: Sequence[bool] = (True, False),
) -> Section:
    """People/s of `TopDownPredictor.predict_batch` on decoded images with several people each,
    for each built runtime with the flip test on and off, and where the time goes (crop = warp
    + normalise, model, flip = mirror + flip back + average, decode = argmax, refinement,
    inverse affine)."""
    people = int(sum(len(b) for b in boxes))
    predictors = {
        (name, flip): TopDownPredictor.from_config(model, cfg, runtime=r, flip_test=flip)
        for name, r in built.items()
        for flip in flips
    }
    calls = {key: (lambda p=p: p.predict_batch(images, boxes)) for key, p in predictors.items()}
    rates = interleaved_rates(calls, people, rounds, seconds)
    columns = ["runtime", "flip test", "people/s", "vs eager", "crop %", "model %", "flip %", "decode %"]
    rows = []
    for (name, flip), p in predictors.items():
        total = sum(p.seconds.values()) or 1.0
        shares = [round(100 * p.seconds[k] / total, 1) for k in ("crop", "model", "flip", "decode")]
        label = name if name != "auto" else f"auto = {p.runtime.name}"
        rows.append(
            [label, flip, rates[(name, flip)], times(ratio(rates[(name, flip)], rates.get(("eager", flip)))), *shares]
        )
    title = (
        f"Predictor end to end ({count(len(images), 'decoded image')}, {count(people, 'person')}, GT boxes), people/s"
    )
    return Section(title, columns, rows, ["JPEG decoding is not included (images read once beforehand)."])
