"""Samples per second per core of the training data pipeline (TopDownDataset) at 256x192.

Generates JPEGs of COCO-like size (640x480) with random people (boxes and 17 joints), then
times `dataset[i]` in one process with one OpenCV / torch thread: JPEG decode, the paper's
full augmentation (scale, rotation, flip; half-body on), one affine warp, normalisation and
heatmap encoding. Run it alone: other processes on the machine distort the figure.

    PYTHONPATH=src python benchmarks/data_pipeline.py [--samples 400] [--images 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from simplepose.core.codec import HeatmapCodec
from simplepose.core.fileio import read_image
from simplepose.core.skeleton import COCO
from simplepose.data.dataset import TopDownDataset
from simplepose.data.records import PersonRecord


def make_images(folder: Path, count: int, rng: np.random.Generator) -> list:
    paths = []
    for i in range(count):
        # smooth noise + shapes: compresses like a photo rather than like white noise
        small = rng.integers(0, 255, size=(30, 40, 3), dtype=np.uint8)
        image = cv2.resize(small, (640, 480), interpolation=cv2.INTER_CUBIC)
        for _ in range(8):
            c = tuple(int(v) for v in rng.integers(0, 640, 2))
            cv2.circle(image, c, int(rng.integers(10, 80)), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
        path = folder / f"{i:04d}.jpg"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(str(path))
    return paths


def make_records(paths: list, per_image: int, rng: np.random.Generator) -> list:
    records = []
    for i, p in enumerate(paths):
        for _ in range(per_image):
            w, h = rng.uniform(60, 250), rng.uniform(120, 400)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            kps = np.stack([rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17)], axis=1)
            vis = (rng.random(17) < 0.8).astype(np.int64) * 2
            records.append(PersonRecord(p, i, np.array([x, y, w, h]), kps, vis))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--images", type=int, default=40)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_images(Path(tmp), args.images, rng)
        records = make_records(paths, 3, rng)
        ds = TopDownDataset(
            records, COCO, HeatmapCodec((192, 256), (48, 64), 2.0), (192, 256), train=True, half_body=True
        )
        for i in range(20):  # warm-up
            ds[i]
        n = args.samples
        t = time.perf_counter()
        for i in range(n):
            ds.set_epoch(i // len(ds))
            ds[i % len(ds)]
        full = n / (time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(n):
            read_image(paths[i % len(paths)])
        decode = n / (time.perf_counter() - t)
        cached = TopDownDataset(records, COCO, ds.codec, (192, 256), train=True, half_body=True, cache_images=True)
        for i in range(len(cached)):
            cached[i]
        t = time.perf_counter()
        for i in range(n):
            cached[i % len(cached)]
        no_decode = n / (time.perf_counter() - t)
    print("TopDownDataset 256x192, full augmentation, 640x480 JPEGs, 1 thread:")
    print(f"  full sample (decode + augment + warp + normalise + encode): {full:7.1f} samples/s/core")
    print(f"  JPEG decode alone:                                          {decode:7.1f} images/s/core")
    print(f"  sample from decoded images (cache):                         {no_decode:7.1f} samples/s/core")


if __name__ == "__main__":
    main()
