"""Throughput measured fairly on a shared, noisy machine: interleaved rounds, medians.

Every candidate gets one untimed warm-up call; then, round after round, each candidate runs
for about `seconds_per_round` in turn. A burst of load from another process then slows all
candidates of that round alike, and the median over rounds drops the worst of it. Ratios
between candidates of one call are the figures to trust; absolute rates move with the load.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Hashable, Mapping
from typing import Callable, TypeVar

import torch

Name = TypeVar("Name", bound=Hashable)  # a runtime's name, or (name, flip test) for a predictor


def interleaved_rates(
    calls: Mapping[Name, Callable[[], object]], items_per_call: int, rounds: int = 3, seconds_per_round: float = 1.0
) -> dict[Name, float]:
    """Items per second of each callable: median over `rounds` interleaved rounds.

    Each round runs a callable at least once and until `seconds_per_round` have passed. Each
    round starts one callable later than the one before, so that none always runs first: on
    these shared 2-core machines the speed drifts by 10-20% within a minute, and a fixed order
    turned that drift into a bias between runtimes (one runtime measured twice differed by 15%).
    """
    for fn in calls.values():
        fn()  # warm-up: allocations, oneDNN primitive caches, ONNX Runtime arenas
    samples: dict[Name, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn = calls[name]
            n, start = 0, time.perf_counter()
            while True:
                fn()
                n += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds_per_round:
                    break
            samples[name].append(n * items_per_call / elapsed)
    return {name: statistics.median(v) for name, v in samples.items()}


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a timer around it measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
