"""`simplepose predict --checkpoint CKPT INPUT... [--boxes FILE] [--out DIR]`

INPUT: images, folders of images, videos. Writes to --out (default `predictions/`):
results.json (COCO results format, each entry also naming its `file_name`; video frames are
`NAME.mp4#FRAME`), each image with skeletons drawn, and each video re-encoded with them.

Person boxes, in this order of preference:
  --boxes FILE   a COCO keypoints file (its ground-truth boxes) or a detections file in the
                 COCO results format; images are matched by file name, or by image id = the
                 file name's number (000000000785.jpg -> 785).
  --detector W   a torchvision detector with local weights W (needs torchvision).
  otherwise      one box covering the whole image (one person per picture).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="poses on images, folders and videos, drawn and as COCO results")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders of images, video files")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--config", help="YAML config overriding the checkpoint's (needed for official checkpoints not at 256x192)")
    p.add_argument("--boxes", help="person boxes: a COCO keypoints file or a detections file (COCO results format)")
    p.add_argument("--detector", metavar="WEIGHTS", help="torchvision Faster R-CNN weights file (needs torchvision)")
    p.add_argument("--det-thresh", type=float, default=0.5, help="detector / detections score threshold")
    p.add_argument("--out", default="predictions")
    p.add_argument("--kpt-thresh", type=float, default=0.3, help="joints under this confidence are not drawn")
    p.add_argument("--no-flip", action="store_true")
    p.add_argument("--device", default=None)
    p.add_argument("--precision", choices=("bf16", "fp16"), default=None)
    p.add_argument("--runtime", metavar="NAME", help="inference runtime: auto, eager, fast, compile, onnx, onnx-int8 (default: the config's test.runtime)")
    p.add_argument("--trusted", action="store_true", help="allow pickled objects in the checkpoint")
    p.set_defaults(run=run)


def _expand(inputs: List[str]) -> List[Path]:
    files: List[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES))
        elif p.is_file():
            if p.suffix.lower() not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                raise ValueError(f"{p}: not an image or video suffix ({sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES)})")
            files.append(p)
        else:
            raise FileNotFoundError(f"input not found: {p}")
    return files


def _box_source(args: argparse.Namespace):
    """(detector, names: file name -> image id)."""
    from ..detector import DetectionsFile, GTBoxes, TorchvisionDetector, WholeImage

    if args.boxes:
        import json

        with open(args.boxes) as f:
            head = json.load(f)
        if isinstance(head, dict):
            from ..data.coco import load_coco_keypoints

            coco = load_coco_keypoints(args.boxes, for_training=False)
            names = {Path(im.path).name: iid for iid, im in coco.images.items()}
            return GTBoxes(coco), names
        return DetectionsFile(args.boxes, args.det_thresh), {}
    if args.detector:
        return TorchvisionDetector(args.detector, score_thresh=args.det_thresh, device=args.device or "cpu"), None
    return WholeImage(), None


def _image_id(name: str, names: Optional[Dict[str, int]], fallback: int) -> int:
    if names and name in names:
        return int(names[name])
    stem = Path(name).stem
    return int(stem) if stem.isdigit() else fallback


def _frames(path: Path) -> Iterator[Tuple[str, np.ndarray, float, int]]:
    """(name, BGR frame, fps, frame count) for an image (one frame) or each frame of a video."""
    import cv2

    if path.suffix.lower() in IMAGE_SUFFIXES:
        from ..evaluation.runner import read_image

        yield path.name, read_image(str(path)), 0.0, 1
        return
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    fps, count = cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    try:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield f"{path.name}#{i}", frame, fps, count
            i += 1
    finally:
        cap.release()


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from ..config import load_config
    from ..evaluation.coco import postprocess, poses_to_results, write_json
    from ..predictor import TopDownPredictor
    from ..visualize import VideoWriter, draw_poses, write_image
    from ..weights import load_checkpoint

    files = _expand(args.inputs)
    loaded = load_checkpoint(args.checkpoint, trusted=args.trusted)
    cfg = load_config(args.config) if args.config else (loaded.config or load_config(None))
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    overrides = {"flip_test": False} if args.no_flip else {}
    predictor = TopDownPredictor.from_config(loaded.model, cfg, device=device, precision=args.precision, runtime=args.runtime or cfg.test.runtime, **overrides)
    detector, names = _box_source(args)
    out = Path(args.out)
    results: List[dict] = []
    counter = 0
    for path in tqdm(files, desc="predict", unit="file"):
        video = path.suffix.lower() in VIDEO_SUFFIXES
        writer = VideoWriter(out / f"{path.stem}_poses.mp4") if video else None
        frames = _frames(path)
        if video:
            frames = tqdm(frames, desc=path.name, unit="frame", leave=False)
        for name, frame, fps, _count in frames:
            counter += 1
            image_id = counter if video else _image_id(name, names, counter)
            boxes, scores = _detect(detector, frame, name, image_id)
            poses = predictor(frame, boxes, scores)
            _, scales = predictor.crop_boxes(poses.boxes)
            poses = postprocess(poses, scales.prod(axis=1), cfg.test.in_vis_thre, cfg.test.oks_thre,
                                cfg.test.soft_nms, predictor.skeleton.sigmas)
            for r in poses_to_results(image_id, poses):
                r["file_name"] = name
                results.append(r)
            drawn = draw_poses(frame, poses, predictor.skeleton, args.kpt_thresh)
            if writer is not None:
                writer.fps = fps or writer.fps
                writer.write(drawn)
            else:
                write_image(out / path.name, drawn)
        if writer is not None:
            writer.close()
    write_json(results, out / "results.json")
    print(f"{len(results)} people in {len(files)} file(s); wrote {out}")
    return 0


def _detect(detector, frame: np.ndarray, name: str, image_id: int):
    """Boxes for a frame from a detector, or from a detections file keyed by file name or id."""
    from ..detector import BoxTable

    if isinstance(detector, BoxTable):
        boxes, scores = detector(frame, name)
        if len(boxes) == 0:
            boxes, scores = detector(frame, image_id)
        return boxes, scores
    return detector(frame)
