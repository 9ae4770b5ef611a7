"""Video jobs of `simplepose serve`: an uploaded video tracked as `simplepose track` does.

Each job has a folder of its own under one temporary folder (the only thing the service
writes): the upload, NAME.json (PoseTrack, `tracking.pipeline.track_video`) and NAME.mp4
(drawn). Jobs run on `workers` threads beside the image requests, with a predictor of their
own sharing the service's built runtime; finished jobs are deleted `keep_minutes` after they
end. States: queued, running, done, failed (with its reason).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .uploads import RequestError


class Cancelled(KeyboardInterrupt):
    """Raised between frames when a job is deleted or the service stops (the tracker stops there)."""


@dataclass
class VideoJob:
    """One uploaded video's tracking: what `GET /v1/videos/{id}` reports."""

    id: str
    folder: Path
    name: str
    frames_total: int
    state: str = "queued"
    reason: str = ""
    frames_done: int = 0
    seconds: float = 0.0
    fps: float = 25.0  # the video's own rate, for playing the drawn frames
    ended: float = 0.0  # time.monotonic() when done or failed
    cancel: threading.Event = field(default_factory=threading.Event)

    def status(self) -> dict[str, Any]:
        fps = self.frames_done / self.seconds if self.seconds > 0 else 0.0
        out = {
            "id": self.id,
            "state": self.state,
            "frames_done": self.frames_done,
            "frames_total": self.frames_total,
            "frames_per_second": round(fps, 2),
            "video_fps": self.fps,
            "name": self.name,
        }
        return {**out, "reason": self.reason} if self.state == "failed" else out


class _Counted:
    """A FrameSource whose frames count into `job` and stop when it is cancelled."""

    def __init__(self, source, job: VideoJob) -> None:
        self._source, self._job = source, job

    def __getattr__(self, name: str):
        return getattr(self._source, name)

    def frames(self, on_bad=None):
        start = time.perf_counter()
        for frame in self._source.frames(on_bad):
            if self._job.cancel.is_set():
                raise Cancelled()
            yield frame
            self._job.frames_done += 1
            self._job.seconds = time.perf_counter() - start


class VideoJobs:
    """The jobs of one service. `track(job_folder, source, job)` runs one job's tracking."""

    def __init__(
        self,
        track: Callable[[Any, VideoJob], None],
        workers: int = 1,
        keep_minutes: float = 30.0,
        max_frames: int = 10_000,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="simplepose-serve-videos-"))
        self._track = track
        self.keep_seconds = keep_minutes * 60.0
        self.max_frames = max_frames
        self.jobs: dict[str, VideoJob] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="simplepose-video")
        self._stop = threading.Event()
        threading.Thread(target=self._sweeper, name="simplepose-video-sweep", daemon=True).start()

    def _sweeper(self, every: float = 10.0) -> None:
        """Sweep now and then, so finished jobs go even when no client asks about videos."""
        while not self._stop.wait(min(every, max(self.keep_seconds, 0.5))):
            self.sweep()

    def add(self, filename: str, data: bytes) -> VideoJob:
        """A queued job for an uploaded video; 422 when it does not open or has no frames,
        413 over `max_frames`. The client's file name gives only the suffix."""
        from ..core.frames import VIDEO_SUFFIXES, open_frames

        self.sweep()
        suffix = Path(filename or "").suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise RequestError(415, f"video: a file ending in {', '.join(VIDEO_SUFFIXES)}, not {suffix or 'no suffix'}")
        job_id = uuid.uuid4().hex[:16]
        folder = self.root / job_id
        folder.mkdir()
        path = folder / f"upload{suffix}"
        path.write_bytes(data)
        try:
            source = open_frames(path)
        except (OSError, ValueError) as e:
            shutil.rmtree(folder, ignore_errors=True)
            raise RequestError(422, f"video: cannot be opened ({str(e).replace(str(path), 'the upload')})") from None
        total = len(source.names)
        if total < 1 or total > self.max_frames:
            shutil.rmtree(folder, ignore_errors=True)
            status, why = (413, f"is over --max-video-frames {self.max_frames}") if total else (422, "holds no frame")
            raise RequestError(status, f"video: {total} frames {why}" if total else f"video: {why}")
        # The output's name (PoseTrack's vid_id) from the client's file name, made safe as a file name.
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(filename).stem)[:64].strip(".") or "video"
        job = VideoJob(job_id, folder, name, total, fps=float(source.fps))
        with self._lock:
            self.jobs[job_id] = job
        self._pool.submit(self._run, job, source)
        return job

    def _run(self, job: VideoJob, source) -> None:
        if job.cancel.is_set():
            return
        job.state = "running"
        try:
            self._track(_Counted(source, job), job)
            job.state = "failed" if job.cancel.is_set() else "done"
            job.reason = "the service stopped" if job.cancel.is_set() else ""
        except Exception as e:  # this job fails; the service goes on
            job.state, job.reason = "failed", f"{type(e).__name__}: {e}"
        job.ended = time.monotonic()

    def get(self, job_id: str) -> VideoJob:
        self.sweep()
        job = self.jobs.get(job_id)
        if job is None:
            raise RequestError(404, f"no video job {job_id[:40]!r} (finished jobs are kept --keep-minutes)")
        return job

    def file(self, job_id: str, suffix: str) -> Path:
        """The job's NAME.json or NAME.mp4; 409 while it is not done."""
        job = self.get(job_id)
        if job.state != "done":
            raise RequestError(409, f"video job {job_id} is {job.state}" + (f": {job.reason}" if job.reason else ""))
        return job.folder / f"{job.name}{suffix}"

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        job.cancel.set()
        with self._lock:
            self.jobs.pop(job_id, None)
        if job.state != "running":
            shutil.rmtree(job.folder, ignore_errors=True)
        else:  # its worker stops at the next frame; the folder goes with the next sweep
            threading.Thread(target=self._remove_when_ended, args=(job,), daemon=True).start()

    @staticmethod
    def _remove_when_ended(job: VideoJob) -> None:
        while job.state == "running":
            time.sleep(0.1)
        shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self) -> None:
        """Forget the jobs that ended more than keep-minutes ago, with their files."""
        now = time.monotonic()
        with self._lock:
            old = [j for j in self.jobs.values() if j.ended and now - j.ended > self.keep_seconds]
            for j in old:
                self.jobs.pop(j.id, None)
        for j in old:
            shutil.rmtree(j.folder, ignore_errors=True)

    def close(self) -> None:
        """Stop: running jobs fail with "the service stopped", queued ones never start; files removed."""
        self._stop.set()
        for job in list(self.jobs.values()):
            job.cancel.set()
            if job.state == "queued":
                job.state, job.reason = "failed", "the service stopped"
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)
