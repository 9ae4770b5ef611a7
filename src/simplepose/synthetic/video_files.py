"""`generate_videos`: write synthetic clips with PoseTrack 2018 style ground truth and detections.

Layout under `out_dir` for clip NNNNNN_synth:
    videos/<name>/%06d.jpg (frames), videos/<name>.mp4,
    posetrack/annotations/val/<name>.json (PoseTrack 2018 format, COCO joint names),
    posetrack/detections/<name>.json (COCO results list, image_id = frame id).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..core.fileio import atomic_write_bytes
from ..core.skeleton import COCO
from ..formats.posetrack import PoseTrackFrame, PoseTrackPerson, PoseTrackVideo, write_posetrack
from .detections import detect
from .files import DETERMINISTIC_JSON, person_category, update_meta, write_json_atomic
from .render import MAX_PEOPLE
from .video import VideoSettings, head_box_in_image, render_video, track_misses

_VIDEO_STREAM, _DETECTION_STREAM = 10, 11


def video_name(index: int) -> str:
    return f"{index:06d}_synth"


def frame_id(video_index: int, frame: int) -> int:
    """PoseTrack's numbering: 1, then the 6-digit video number, then the 4-digit frame number."""
    return 10_000_000_000 + video_index * 10_000 + frame


def write_video(out_dir: Path, index: int, frames: int, seed: int, settings: VideoSettings) -> dict[str, Any]:
    """Render clip `index` (1-based) and write its frames, mp4, ground truth and detections."""
    if not 1 <= frames <= 9999:
        raise ValueError(f"frames per video must lie within 1..9999, got {frames}")
    name = video_name(index)
    frame_dir = out_dir / "videos" / name
    frame_dir.mkdir(parents=True, exist_ok=True)
    mp4 = out_dir / "videos" / f"{name}.mp4"
    tmp_mp4 = mp4.with_name(f".{name}.tmp.mp4")  # the writer picks its container from the suffix
    writer = cv2.VideoWriter(
        str(tmp_mp4), cv2.VideoWriter.fourcc(*"mp4v"), settings.fps, (settings.width, settings.height)
    )
    det_rng = np.random.default_rng([seed, _DETECTION_STREAM, index])
    gt_frames: list[PoseTrackFrame] = []
    detections: list[dict] = []
    misses = None
    for t, (image, people) in enumerate(
        render_video(np.random.default_rng([seed, _VIDEO_STREAM, index]), frames, settings)
    ):
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, settings.jpeg_quality])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {name} frame {t}")
        atomic_write_bytes(frame_dir / f"{t:06d}.jpg", buf.tobytes())
        if writer.isOpened():
            writer.write(image)
        fid = frame_id(index, t)
        image_record = {
            "vid_id": f"{index:06d}",
            "nframes": frames,
            "has_no_densepose": True,
            "ignore_regions_x": [],
            "ignore_regions_y": [],
            "width": settings.width,
            "height": settings.height,
        }
        people = [p for p in people if p.num_keypoints > 0]
        gt_people = []
        for p in people:
            track = p.label - 1
            kp = np.array(
                [round(float(v), 2) if i % 3 != 2 else int(v) for i, v in enumerate(p.keypoints.reshape(-1))]
            ).reshape(-1, 3)
            # Box and head box stay in the record as written (xywh), not rebuilt from corners.
            gt_people.append(
                PoseTrackPerson(
                    track,
                    kp,
                    annotation={
                        "id": fid * 100 + track,
                        "category_id": 1,
                        "bbox": [float(v) for v in p.bbox],
                        "bbox_head": head_box_in_image(p.head_box, settings.width, settings.height),
                        "num_keypoints": p.num_keypoints,
                        "area": float(p.area),
                        "iscrowd": 0,
                    },
                )
            )
        gt_frames.append(PoseTrackFrame(fid, f"videos/{name}/{t:06d}.jpg", True, gt_people, [], image_record))
        if misses is None:
            misses = track_misses(det_rng, frames, MAX_PEOPLE)
        vis = [float(np.mean(p.keypoints[:, 2] == 2)) for p in people]
        dets = detect(
            det_rng,
            [p.bbox for p in people],
            vis,
            settings.width,
            settings.height,
            miss_rate=0.03,
            false_positives=0.2,
            missed=[bool(misses[t, p.label - 1]) for p in people],
        )
        detections += [{"image_id": fid, "category_id": 1, **d} for d in dets]
    writer.release()
    if tmp_mp4.exists():
        os.replace(tmp_mp4, mp4)
    gt = PoseTrackVideo(name, COCO, gt_frames, person_category())
    write_posetrack(gt, out_dir / "posetrack" / "annotations" / "val" / f"{name}.json", **DETERMINISTIC_JSON)
    write_json_atomic(out_dir / "posetrack" / "detections" / f"{name}.json", detections)
    tracks = {p.track_id for f in gt_frames for p in f.people}
    return {
        "name": name,
        "frames": frames,
        "people": sum(len(f.people) for f in gt_frames),
        "tracks": len(tracks),
        "mp4": mp4.exists(),
    }


def generate_videos(
    out_dir: str | Path, num_videos: int, frames: int = 60, seed: int = 0, settings: VideoSettings = VideoSettings()
) -> dict[str, Any]:
    """Write `num_videos` clips of `frames` frames each; returns a summary with frames per second."""
    out_dir = Path(out_dir)
    start = time.perf_counter()
    clips: list[dict[str, Any]] = []
    for i in range(num_videos):
        try:
            clips.append(write_video(out_dir, i + 1, frames, seed, settings))
        except KeyboardInterrupt as e:
            # The clip being written goes (its frames without ground truth would mislead); the
            # clips before it are whole.
            import shutil

            from ..core.interrupts import Interrupted

            name = video_name(i + 1)
            shutil.rmtree(out_dir / "videos" / name, ignore_errors=True)
            (out_dir / "videos" / f".{name}.tmp.mp4").unlink(missing_ok=True)
            raise Interrupted.after(
                e, f"after {i} of {num_videos} videos: those are whole, the one being written was removed"
            ) from None
    elapsed = time.perf_counter() - start
    summary = {
        "seed": seed,
        "videos": num_videos,
        "frames": frames,
        "settings": dataclasses.asdict(settings),
        "clips": clips,
    }
    update_meta(out_dir, "videos", summary)
    summary["frames_per_second"] = round(num_videos * frames / elapsed, 1) if elapsed > 0 else None
    return summary
