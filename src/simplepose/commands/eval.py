"""`simplepose eval`: evaluate a checkpoint on a config's validation set, or score a results file.

    simplepose eval CONFIG --checkpoint CKPT [--boxes gt|DETECTIONS.json] [--no-flip] [--out DIR]
    simplepose eval --gt ANNOTATIONS.json --results RESULTS.json [--out DIR]

Both print the COCO table (or the PCKh table for MPII) and write metrics.json (the first form
also results.json) to --out (default: the current folder, or the checkpoint's folder).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="COCO AP/AR or MPII PCKh of a checkpoint, or of a results file")
    p.add_argument("config", nargs="?", help="experiment YAML (its data/test sections are used)")
    p.add_argument("--checkpoint", help="model checkpoint (project or official format)")
    p.add_argument("--boxes", help="'gt' for ground-truth boxes, or a detections file (COCO results format)")
    p.add_argument("--no-flip", action="store_true", help="turn the flip test off")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--precision", choices=("bf16", "fp16"), default=None, help="reduced-precision forward pass")
    p.add_argument("--gt", help="ground-truth COCO keypoints file (with --results)")
    p.add_argument("--results", help="keypoint results file in the COCO results format (with --gt)")
    p.add_argument("--out", help="folder for results.json / metrics.json")
    p.add_argument("--trusted", action="store_true", help="allow pickled objects in the checkpoint (only for files you trust)")
    p.add_argument("--runtime", dest="overrides", action="append", default=[], type=lambda v: f"test.runtime={v}", metavar="NAME", help="inference runtime: auto (default), eager, fast, compile, onnx, onnx-int8 (sets test.runtime)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.gt or args.results:
        if not (args.gt and args.results):
            raise ValueError("--gt and --results go together")
        return _score_file(args)
    if not (args.config and args.checkpoint):
        raise ValueError("give CONFIG --checkpoint CKPT, or --gt ANNOTATIONS.json --results RESULTS.json")
    return _evaluate(args)


def _score_file(args: argparse.Namespace) -> int:
    from ..evaluation.coco import write_json
    from ..evaluation.cocoeval import evaluate_coco_keypoints, format_table

    for what, path in (("ground-truth", args.gt), ("results", args.results)):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{what} file not found: {path}")
    t0 = time.perf_counter()
    metrics = evaluate_coco_keypoints(args.gt, args.results, _sigmas_of(args.gt))
    print(format_table(metrics))
    print(f"evaluated in {time.perf_counter() - t0:.2f} s")
    out = Path(args.out or ".")
    write_json(metrics, out / "metrics.json")
    print(f"wrote {out / 'metrics.json'}")
    return 0


def _sigmas_of(gt_path: str):
    """OKS sigmas of the file's skeleton (COCO's for COCO files, CrowdPose's for CrowdPose)."""
    import json

    from ..skeleton import skeleton_from_category

    with open(gt_path) as f:
        cats = [c for c in json.load(f).get("categories", []) if c.get("keypoints")]
    if not cats:
        return None
    return skeleton_from_category(cats[0]).sigmas


def _evaluate(args: argparse.Namespace) -> int:
    import torch

    from ..config import load_config
    from ..evaluation.cocoeval import format_table
    from ..evaluation.runner import evaluate_model
    from ..weights import load_checkpoint

    overrides = list(args.overrides)
    if args.no_flip:
        overrides.append("test.flip_test=false")
    cfg = load_config(args.config, overrides)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = load_checkpoint(args.checkpoint, trusted=args.trusted).model
    out = Path(args.out) if args.out else Path(args.checkpoint).resolve().parent
    t0 = time.perf_counter()
    metrics = evaluate_model(model, cfg, device, out_dir=out, detections=args.boxes, progress=True,
                             precision=args.precision)
    if "AP" in metrics:
        print(format_table(metrics))
    else:
        from ..evaluation.pckh import format_pckh

        print(format_pckh(metrics))
    print(f"evaluated in {time.perf_counter() - t0:.1f} s; wrote {out / 'results.json'} and {out / 'metrics.json'}")
    return 0
