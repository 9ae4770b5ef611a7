"""Batching across requests: one thread runs the model on the crops of every request waiting.

A request hands its image and boxes to `Batcher.submit` and awaits the future. The thread
takes the first job waiting, then keeps collecting for up to `wait_ms` (or until `max_batch`
crops), and runs `TopDownPredictor.predict_batch` once per flip setting on all of them: the
crops of several requests share forward passes. Only this thread calls the predictor, so the
runtime needs no lock and `predictor.flip_test` may be set per group.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .uploads import RequestError


@dataclass
class Job:
    """One request's work: an (H, W, 3) BGR image, its (N, 4) xyxy boxes and (N,) scores."""

    image: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    flip: bool
    future: Future = field(default_factory=Future)


class Batcher:
    """Collects jobs into batches of at most `max_batch` crops within `wait_ms`; at most
    `max_queue` jobs wait (more: a 503 with Retry-After)."""

    def __init__(
        self,
        predictor,
        max_batch: int = 64,
        wait_ms: float = 5.0,
        max_queue: int = 64,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.predictor = predictor
        self.max_batch = max(1, int(max_batch))
        self.wait = max(0.0, wait_ms) / 1000.0
        self.max_queue = max(1, int(max_queue))
        self.on_batch = on_batch or (lambda crops: None)
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="simplepose-batcher", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet answered."""
        return self._pending

    def submit(self, image: np.ndarray, boxes: np.ndarray, scores: np.ndarray, flip: bool) -> Future:
        """A future of the job's `Poses` (before rescoring); 503 when `max_queue` jobs wait."""
        with self._lock:
            if self._pending >= self.max_queue:
                raise RequestError(
                    503,
                    f"{self._pending} requests are waiting (--max-queue {self.max_queue}); try again shortly",
                    {"Retry-After": "1"},
                )
            self._pending += 1
        job = Job(image, boxes, scores, flip)
        self._jobs.put(job)
        return job.future

    def close(self) -> None:
        """Stop the thread once the jobs already queued are answered."""
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def _collect(self, first: Job) -> list[Job]:
        """`first` and the jobs that arrive within the wait, up to `max_batch` crops."""
        jobs, crops = [first], len(first.boxes)
        deadline = time.monotonic() + self.wait
        while crops < self.max_batch:
            try:
                job = self._jobs.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:  # closing: answer what we hold, then stop
                self._jobs.put(None)
                break
            jobs.append(job)
            crops += len(job.boxes)
        return jobs

    def _loop(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            jobs = self._collect(first)
            for flip in (True, False):
                group = [j for j in jobs if j.flip == flip]
                if group:
                    self._run(group, flip)

    def _run(self, group: list[Job], flip: bool) -> None:
        """One `predict_batch` for the group; each future gets its Poses. Where the shared
        pass fails, each job runs alone, so only the job at fault gets the exception (a 500
        for that request alone)."""
        try:
            self.predictor.flip_test = flip
            poses = self.predictor.predict_batch(
                [j.image for j in group], [j.boxes for j in group], [j.scores for j in group]
            )
        except Exception as e:
            if len(group) > 1:
                for job in group:
                    self._run_alone(job, flip)
            else:
                self._answer(group[0], error=e)
            return
        self.on_batch(sum(len(j.boxes) for j in group))
        for job, p in zip(group, poses):
            self._answer(job, p)

    def _run_alone(self, job: Job, flip: bool) -> None:
        """`job` in a pass of its own: its Poses, or its exception (the thread goes on)."""
        try:
            self.predictor.flip_test = flip
            poses = self.predictor.predict_batch([job.image], [job.boxes], [job.scores])[0]
        except Exception as e:
            self._answer(job, error=e)
            return
        self._answer(job, poses)

    def _answer(self, job: Job, poses: object = None, error: BaseException | None = None) -> None:
        """The job leaves the queue, then its request hears: a request answered is never still
        counted as waiting (`pending`, the /metrics queue depth)."""
        with self._lock:
            self._pending -= 1
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(poses)
