"""Images per second of the synthetic people generator, on one core.

    PYTHONPATH=src python benchmarks/synth_speed.py [--images 300] [--frames 60]

Prints: rendering alone (in memory), rendering + JPEG + writing files (the `synth` command's
work, annotations included), and video frames (rendering, JPEG, mp4, PoseTrack files).
Run it alone: other processes on the same cores change the figures a lot.
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

    start = time.perf_counter()
    people = 0
    for i in range(args.images):
        people += len(render_scene(np.random.default_rng([123, i])).annotations)
    t = time.perf_counter() - start
    print(f"render only:          {args.images / t:7.1f} images/s  ({people / args.images:.2f} people per image)")

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate_dataset(tmp, args.images, seed=123)
        t = time.perf_counter() - start
        print(f"render + JPEG + files: {args.images / t:7.1f} images/s")
        dets = json.loads((Path(tmp) / "annotations/val_detections.json").read_text())
        val = json.loads((Path(tmp) / "annotations/val.json").read_text())
        gt = [a for a in val["annotations"] if a["num_keypoints"] > 0]
        found = sum(any(_iou(a["bbox"], d["bbox"]) >= 0.5 for d in dets if d["image_id"] == a["image_id"])
                    for a in gt)
        print(f"val detections: {len(dets)} boxes for {len(gt)} people with keypoints; "
              f"{1 - found / max(1, len(gt)):.1%} of them missed (no box at IoU >= 0.5)")

        start = time.perf_counter()
        generate_videos(tmp, 1, frames=args.frames, seed=123)
        t = time.perf_counter() - start
        print(f"video (640x360):      {args.frames / t:7.1f} frames/s")


if __name__ == "__main__":
    main()
