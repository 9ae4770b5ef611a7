"""`generate_dataset`: write a synthetic COCO-format keypoint data set to disk.

Layout under `out_dir`:
    images/{train,val}/NNNNNN.jpg, annotations/{train,val}.json (COCO keypoints),
    annotations/val_detections.json (COCO results list of simulated detector boxes), meta.json.
Every image draws from its own random stream seeded by (seed, split, index), so the output
is the same for a seed whatever the number of worker processes.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..core.fileio import atomic_write_bytes
from .detections import detect
from .files import coco_annotation, coco_file, update_meta, write_json_atomic
from .scene import SceneSettings, render_scene

SPLITS = {"train": 0, "val": 1}
_DETECTIONS_STREAM = 2


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLITS[split], index])


def _make_image(job: tuple[str, int, str, int, SceneSettings]) -> tuple[int, int, list, list]:
    """Render, compress and write one image; returns (width, height, annotations, detections)."""
    out_dir, seed, split, index, settings = job
    scene = render_scene(image_rng(seed, split, index), settings)
    ok, buf = cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, scene.jpeg_quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for {split} image {index}")
    atomic_write_bytes(Path(out_dir) / "images" / split / f"{index:06d}.jpg", buf.tobytes())
    h, w = scene.image.shape[:2]
    anns = [coco_annotation(a, 0, 0) for a in scene.annotations]
    dets: list = []
    if split == "val":
        rng = np.random.default_rng([seed, _DETECTIONS_STREAM, index])
        vis = [float(np.mean(a.keypoints[:, 2] == 2)) for a in scene.annotations]
        dets = detect(rng, [a.bbox for a in scene.annotations], vis, w, h)
    return w, h, anns, dets


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which stops them (no traceback per worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _write_split(
    out_dir: Path, split: str, seed: int, images: list[dict], annotations: list[dict], detections: list[dict]
) -> None:
    """annotations/SPLIT.json (and, for val, val_detections.json) of the images made."""
    write_json_atomic(
        out_dir / "annotations" / f"{split}.json",
        coco_file(images, annotations, f"simplepose synthetic people, {split}, seed {seed}"),
    )
    if split == "val":
        write_json_atomic(out_dir / "annotations" / "val_detections.json", detections)


def generate_dataset(
    out_dir: str | Path,
    num_images: int,
    seed: int = 0,
    val_fraction: float = 0.2,
    settings: SceneSettings = SceneSettings(),
    workers: int = 1,
) -> dict[str, Any]:
    """Write `num_images` images (a `val_fraction` of them for val) with annotations; returns a summary.

    The summary holds per-split image and person counts and the images per second reached.
    """
    if num_images < 0 or not 0.0 <= val_fraction <= 1.0:
        raise ValueError(f"need num_images >= 0 and 0 <= val_fraction <= 1, got {num_images}, {val_fraction}")
    out_dir = Path(out_dir)
    n_val = int(round(num_images * val_fraction))
    counts = {"train": num_images - n_val, "val": n_val}
    start = time.perf_counter()
    summary: dict[str, Any] = {"seed": seed, "val_fraction": val_fraction, "settings": dataclasses.asdict(settings)}
    pool = ProcessPoolExecutor(workers, initializer=_ignore_sigint) if workers > 1 else None
    made = 0
    try:
        for split, n in counts.items():
            jobs = [(str(out_dir), seed, split, i, settings) for i in range(n)]
            results = pool.map(_make_image, jobs, chunksize=16) if pool else map(_make_image, jobs)
            images: list[dict] = []
            annotations: list[dict] = []
            detections: list[dict] = []
            try:
                for i, (w, h, anns, dets) in enumerate(results):
                    image_id = i + 1
                    images.append({"id": image_id, "file_name": f"{i:06d}.jpg", "width": w, "height": h})
                    for a in anns:
                        a["id"], a["image_id"] = len(annotations) + 1, image_id
                        annotations.append(a)
                    detections += [{"image_id": image_id, "category_id": 1, **d} for d in dets]
                    made += 1
            except KeyboardInterrupt as e:
                # A consistent smaller set: the split's annotations list exactly the images made.
                from ..core.interrupts import Interrupted

                if pool:
                    pool.shutdown(cancel_futures=True)
                for late in (out_dir / "images" / split).glob("*.jpg"):
                    if int(late.stem) >= len(images):  # written by a worker ahead of the list
                        late.unlink(missing_ok=True)
                _write_split(out_dir, split, seed, images, annotations, detections)
                raise Interrupted.after(
                    e, f"after {made} of {num_images} images: the annotations of {out_dir} list exactly those made"
                ) from None
            _write_split(out_dir, split, seed, images, annotations, detections)
            summary[split] = {"images": n, "people": len(annotations)}
    finally:
        if pool:
            pool.shutdown()
    elapsed = time.perf_counter() - start
    summary["images_per_second"] = round(num_images / elapsed, 1) if elapsed > 0 else None
    update_meta(out_dir, "images", {k: v for k, v in summary.items() if k != "images_per_second"})
    return summary
