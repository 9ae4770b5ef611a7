"""The service's counters in the Prometheus text format (version 0.0.4), without a client library.

Requests by route and status, request latency and batch sizes as histograms, the queue depth
and people per second (people answered over the seconds since start).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class Histogram:
    """Cumulative buckets, a sum and a count, as Prometheus reads them."""

    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, edge in enumerate(self.buckets):
            if value <= edge:
                self.counts[i] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        out = [f'{name}_bucket{{le="{edge:g}"}} {n}' for edge, n in zip(self.buckets, self.counts)]
        return out + [
            f'{name}_bucket{{le="+Inf"}} {self.count}',
            f"{name}_sum {self.sum:.6f}",
            f"{name}_count {self.count}",
        ]


class Metrics:
    """What /metrics reports; every method is thread-safe (the batcher thread observes batches)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency = Histogram(LATENCY_BUCKETS)
        self.batch_crops = Histogram(BATCH_BUCKETS)
        self.people = 0
        #: The requests waiting for the model now, read as /metrics is rendered (the batcher's count).
        self.queue_depth: Callable[[], int] = lambda: 0

    def request(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, status)] += 1
            self.latency.observe(seconds)

    def batch(self, crops: int) -> None:
        with self._lock:
            self.batch_crops.observe(crops)

    def answered(self, people: int) -> None:
        with self._lock:
            self.people += people

    def text(self) -> str:
        with self._lock:
            up = max(time.monotonic() - self.started, 1e-9)
            lines = [
                "# HELP simplepose_requests_total HTTP requests by route and status.",
                "# TYPE simplepose_requests_total counter",
            ]
            lines += [
                f'simplepose_requests_total{{route="{r}",status="{s}"}} {n}'
                for (r, s), n in sorted(self.requests.items())
            ]
            lines += [
                "# HELP simplepose_request_seconds Request latency.",
                "# TYPE simplepose_request_seconds histogram",
            ]
            lines += self.latency.lines("simplepose_request_seconds")
            lines += [
                "# HELP simplepose_batch_crops Crops per forward pass (across requests).",
                "# TYPE simplepose_batch_crops histogram",
            ]
            lines += self.batch_crops.lines("simplepose_batch_crops")
            lines += [
                "# HELP simplepose_queue_depth Requests waiting for the model.",
                "# TYPE simplepose_queue_depth gauge",
                f"simplepose_queue_depth {self.queue_depth()}",
                "# HELP simplepose_people_total People answered.",
                "# TYPE simplepose_people_total counter",
                f"simplepose_people_total {self.people}",
                "# HELP simplepose_people_per_second People answered per second since start.",
                "# TYPE simplepose_people_per_second gauge",
                f"simplepose_people_per_second {self.people / up:.3f}",
            ]
            return "\n".join(lines) + "\n"
