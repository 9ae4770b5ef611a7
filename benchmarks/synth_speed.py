"""Images per second of the synthetic people generator, on one core.

    PYTHONPATH=src python benchmarks/synth_speed.py [--images 300] [--frames 60]

Prints: rendering alone (in memory), rendering + JPEG + writing files (the `synth` command's
work, annotations included), and video frames (rendering, JPEG, mp4, PoseTrack files).
Each figure is given per wall-clock second and per CPU second of this process (the second
is the per-core rate, and the one to trust when other processes share the cores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from simplepose.synthetic import generate_dataset, generate_videos, render_scene


def _report(what: str, n: int, start: float, cpu: float, unit: str) -> None:
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{what:22s} {n / wall:7.1f} {unit.split()[0]}/s wall, {n / cpu:7.1f} per CPU second  {unit}")


def _iou(a, b) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one core, as the figure is stated

    start, cpu = time.perf_counter(), time.process_time()
    people = 0
    for i in range(args.images):
        people += len(render_scene(np.random.default_rng([123, i])).annotations)
    _report("render only", args.images, start, cpu, f"images ({people / args.images:.2f} people per image)")

    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        generate_dataset(tmp, args.images, seed=123)
        _report("render + JPEG + files", args.images, start, cpu, "images")
        dets = json.loads((Path(tmp) / "annotations/val_detections.json").read_text())
        val = json.loads((Path(tmp) / "annotations/val.json").read_text())
        gt = [a for a in val["annotations"] if a["num_keypoints"] > 0]
        found = sum(any(_iou(a["bbox"], d["bbox"]) >= 0.5 for d in dets if d["image_id"] == a["image_id"]) for a in gt)
        print(
            f"val detections: {len(dets)} boxes for {len(gt)} people with keypoints; "
            f"{1 - found / max(1, len(gt)):.1%} of them missed (no box at IoU >= 0.5)"
        )

        start, cpu = time.perf_counter(), time.process_time()
        generate_videos(tmp, 1, frames=args.frames, seed=123)
        _report("video 640x360 + mp4", args.frames, start, cpu, "frames")


if __name__ == "__main__":
    main()
