"""Track a whole video: frames in, PoseTrack JSON and a drawn video (ids, short trails) out.

Frames come from a video file (mp4, avi, ...) or a folder of images (sorted by name). Person
boxes come from a detector callable `(image_bgr, image_id) -> (boxes (N, 4) xyxy, scores (N,))`,
for instance `detector.DetectionsFile`; a frame's id is the `id` of its image record in the
PoseTrack file given as `frames_like`, else its 0-based index.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.fileio import output_path
from ..core.frames import FrameSource
from ..core.poses import Poses
from ..core.skeleton import Skeleton, get_skeleton
from ..formats.posetrack import POSEVAL_JOINTS, PoseTrackFrame, PoseTrackVideo, write_posetrack
from ..inference.detector import Detector
from .predictions import poses_to_people, prediction_video
from .tracker import PoseTracker


class TrailDrawer:
    """Draws tracked poses with their ids and a trail of each id's last `length` box centres."""

    def __init__(self, skeleton: Skeleton, kpt_thresh: float, length: int = 15) -> None:
        self.skeleton, self.kpt_thresh, self.length = skeleton, kpt_thresh, length
        self.trails: dict[int, deque[tuple[int, int]]] = defaultdict(lambda: deque(maxlen=self.length))

    def __call__(self, frame: np.ndarray, poses: Poses) -> np.ndarray:
        import cv2

        from ..core.visualize import draw_poses, id_color, image_diagonal

        out = draw_poses(frame, poses, self.skeleton, self.kpt_thresh, show_ids=True)
        width = max(2, int(round(image_diagonal(frame.shape[1], frame.shape[0]) / 500)))  # as visible as the limbs
        for box, tid in zip(poses.boxes, poses.track_ids if poses.track_ids is not None else []):
            self.trails[int(tid)].append((int((box[0] + box[2]) / 2), int(box[3])))  # feet: bottom centre
        seen = set(int(t) for t in (poses.track_ids if poses.track_ids is not None else []))
        for tid in list(self.trails):
            if tid not in seen:
                del self.trails[tid]  # a trail ends with its track's last frame
                continue
            pts = np.array(self.trails[tid], dtype=np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [pts], False, id_color(tid), width, cv2.LINE_AA)
        return out


@dataclass
class TrackingRun:
    """What `track_frames` returns: the tracked poses per frame and the time it took."""

    poses: list[Poses] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: KeyboardInterrupt | None = None  # the Ctrl-C / SIGTERM that stopped it early

    @property
    def fps(self) -> float:
        return len(self.poses) / self.seconds if self.seconds > 0 else float("nan")


def track_frames(
    frames: Iterator[np.ndarray | None],
    frame_ids: Sequence[object],
    tracker: PoseTracker,
    detector: Detector,
    draw: Callable[[np.ndarray, Poses], np.ndarray] | None = None,
    write: Callable[[np.ndarray], None] | None = None,
    progress: bool = False,
) -> TrackingRun:
    """Run the tracker over frames; `draw` + `write` receive each frame's drawing when given.

    The reported time covers detection lookup, flow, pose estimation and matching; not
    decoding the frames, drawing or writing the video. A None frame (unreadable) gets no
    people and no drawing. A Ctrl-C or SIGTERM stops the run between frames: `run.poses` then
    holds the frames done and `run.interrupted` the exception.
    """
    from tqdm import tqdm

    run = TrackingRun()
    bar = tqdm(total=len(frame_ids), unit="frame", disable=not progress, dynamic_ncols=True)
    start = time.perf_counter()
    busy = 0.0
    try:
        for frame, poses, seconds in tracked_frames(frames, frame_ids, tracker, detector):
            busy += seconds
            if draw is not None and write is not None and frame is not None:
                write(draw(frame, poses))
            run.poses.append(poses)  # once drawn: an interruption leaves the frames drawn
            bar.update(1)
            bar.set_postfix(fps=f"{len(run.poses) / max(busy, 1e-9):.1f}", people=len(poses))
    except KeyboardInterrupt as e:
        run.interrupted = e
    finally:
        bar.close()
    run.seconds = busy if busy > 0 else time.perf_counter() - start
    return run


def tracked_frames(
    frames: Iterator[np.ndarray | None],
    frame_ids: Sequence[object],
    tracker: PoseTracker,
    detector: Detector,
) -> Iterator[tuple[np.ndarray | None, Poses, float]]:
    """(frame, its tracked poses, seconds of detection + tracking) for each frame, as they come.

    A frame's id (given to the detector) is `frame_ids[t]`, else its index t. A None frame (one
    that could not be read, see `FrameSource.frames`) gets no people; the tracker goes on from
    the frame before it.
    """
    for t, frame in enumerate(frames):
        if frame is None:
            yield None, Poses.empty(tracker.skeleton.num_joints), 0.0
            continue
        tic = time.perf_counter()
        image_id = frame_ids[t] if t < len(frame_ids) else t
        boxes, scores = detector(frame, image_id)
        poses = tracker.step(frame, boxes, scores)
        yield frame, poses, time.perf_counter() - tic


def run_to_posetrack(
    name: str,
    run: TrackingRun,
    skeleton: Skeleton,
    keypoint_thresh: float,
    frames_like: PoseTrackVideo | None = None,
    file_names: Sequence[str] = (),
    layout: str = "auto",
) -> PoseTrackVideo:
    """The prediction file of a run, frames as in `frames_like` (same order, same records).

    Without `frames_like`, frame records are numbered from 0 with `file_names`.
    `layout`: "model" writes the model's own joints (our evaluation matches them by name, so a
    COCO model is scored on the joints PoseTrack shares with it); "posetrack" writes
    PoseTrack's 17-joint layout, joints the model lacks left empty (what the official tool
    requires); "auto" is "posetrack" when the model has all of PoseTrack's 15 evaluated joints.
    """
    posetrack = get_skeleton("posetrack")
    if layout == "auto":
        layout = "posetrack" if all(n in skeleton.joints for n in POSEVAL_JOINTS) else "model"
    if layout not in ("model", "posetrack"):
        raise ValueError(f"unknown PoseTrack output layout {layout!r}; known: auto, model, posetrack")
    out = posetrack if layout == "posetrack" else skeleton
    if frames_like is not None:
        frames = frames_like.frames
        if len(frames) != len(run.poses):
            raise ValueError(f"{name}: {len(run.poses)} frames tracked but the PoseTrack file lists {len(frames)}")
    else:
        frames = [
            PoseTrackFrame(
                t,
                file_names[t] if t < len(file_names) else f"{name}/{t:06d}.jpg",
                True,
                [],
                [],
                {"id": t, "frame_id": t, "vid_id": name, "nframes": len(run.poses)},
            )
            for t in range(len(run.poses))
        ]
    people = [poses_to_people(p, skeleton, out, keypoint_thresh) for p in run.poses]
    return prediction_video(name, frames, people, out)


def save_run(video: PoseTrackVideo, out_dir: str | Path) -> Path:
    path = output_path(out_dir, f"{video.name}.json")
    write_posetrack(video, path)
    return path


@dataclass
class TrackedVideo:
    """What `track_video` returns: the prediction file's content, the run, and the files written."""

    prediction: PoseTrackVideo
    run: TrackingRun
    json_path: Path
    video_path: Path | None


def track_video(
    source: FrameSource,
    predictor,
    settings,
    detector: Detector,
    out_dir: str | Path,
    name: str,
    frames_like: PoseTrackVideo | None = None,
    layout: str = "auto",
    draw_video: bool = True,
    progress: bool = True,
    on_bad: Callable[[str, str], None] | None = None,
) -> TrackedVideo:
    """Track one video with `predictor` (a TopDownPredictor) and the `settings` (TrackConfig).

    Writes `out_dir/name.json` (PoseTrack predictions) and, with `draw_video`, `out_dir/name.mp4`
    (skeletons, ids, trails). The one code path of `simplepose track` and the demo.
    An unreadable frame raises, or with `on_bad(name, problem)` is reported there and kept in
    the JSON as a frame without people (not drawn); a video cut short ends early (with
    `frames_like`, its missing frames are written without people). A Ctrl-C or SIGTERM stops
    between frames: the JSON then holds the frames tracked and drawn so far, and
    `run.interrupted` the exception (the caller raises it).
    """
    from ..core.visualize import VideoWriter

    frame_ids = [f.image_id for f in frames_like.frames] if frames_like else list(range(len(source.names)))
    tracker = PoseTracker(predictor.skeleton, predictor, settings)
    out = Path(out_dir)
    writer = VideoWriter(output_path(out, f"{name}.mp4"), source.fps) if draw_video else None
    draw = TrailDrawer(predictor.skeleton, settings.keypoint_thresh) if draw_video else None
    try:
        run = track_frames(
            source.frames(on_bad),
            frame_ids,
            tracker,
            detector,
            draw,
            writer.write if writer else None,
            progress=progress,
        )
    finally:
        if writer is not None:
            writer.close()
    if frames_like is not None and len(run.poses) < len(frames_like.frames):
        if run.interrupted is not None:  # the frames tracked, as a PoseTrack file of them
            frames_like = replace(frames_like, frames=frames_like.frames[: len(run.poses)])
        else:  # a video cut short (reported by on_bad): its lost frames have no people
            run.poses += [Poses.empty(predictor.skeleton.num_joints)] * (len(frames_like.frames) - len(run.poses))
    video = run_to_posetrack(
        name,
        run,
        predictor.skeleton,
        settings.keypoint_thresh,
        frames_like,
        [] if source.is_video else source.names,
        layout,
    )
    drawn = writer.path if writer is not None and writer.path.exists() else None
    return TrackedVideo(video, run, save_run(video, out), drawn)
