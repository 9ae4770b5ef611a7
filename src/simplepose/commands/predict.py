"""`simplepose predict --checkpoint CKPT INPUT... [--boxes FILE [--id-from stem|ANN.json]] [--out DIR]`

INPUT: images, folders of images, videos. Writes to --out (default `predictions/`):
results.json (COCO results format, each entry also naming its `file_name`; video frames are
`NAME.mp4#FRAME`), each image with skeletons drawn (repeated names get _2, _3 ...), and each
video re-encoded with them as NAME_poses.mp4.

Person boxes, in this order of preference:
  --boxes FILE   a COCO keypoints file (its ground-truth boxes; images matched by the file
                 names of its `images` list) or a detections file in the COCO results format
                 (it names no files: add --id-from stem, 000000000785.jpg -> id 785, or
                 --id-from ANNOTATIONS.json, whose `images` list gives the ids). An input that
                 matches no image of the file gets no people and is reported (--strict: an error).
  --detector W   a torchvision detector with local weights W (needs torchvision).
  otherwise      one box covering the whole image (one person per picture).
"""
from __future__ import annotations

import argparse

from .common import add_model_options, build_predictor
from .paths import CHECKPOINT, COCO, JSON, MEDIA, OUT_DIR, PathArg


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="poses on images, folders and videos, drawn and as COCO results")
    p.add_argument("inputs", nargs="+", metavar="INPUT", type=MEDIA, help="image files, folders of images, video files")
    add_model_options(p)
    p.add_argument("--boxes", type=JSON, metavar="FILE",
                   help="person boxes: a COCO keypoints file (its GT boxes) or a detections file (COCO results "
                        "format, needs --id-from) (default: --detector, else one box per whole image)")
    p.add_argument("--id-from", metavar="stem|ANNOTATIONS.json", type=PathArg(COCO.kind, COCO.content, ("stem",)),
                   help="how the image ids of a --boxes detections file match the inputs: 'stem' (000000000785.jpg "
                        "is id 785) or a COCO file whose images list names them (default: none; needed with a "
                        "detections file)")
    p.add_argument("--detector", metavar="WEIGHTS", type=CHECKPOINT,
                   help="torchvision Faster R-CNN weights file, run on every frame (needs torchvision; default: none)")
    p.add_argument("--det-thresh", type=float, default=0.5, metavar="SCORE", help="score threshold of the detector's or the detections file's boxes")
    p.add_argument("--out", default="predictions", type=OUT_DIR, metavar="DIR",
                   help="folder for results.json and the drawn images and videos")
    p.add_argument("--kpt-thresh", type=float, default=0.3, metavar="SCORE", help="joints under this confidence are not drawn")
    p.add_argument("--strict", action="store_true",
                   help="an input or video frame that got no person box, or a box skipped (zero size, outside its image), "
                        "is an error (default: reported and skipped)")
    p.set_defaults(run=run)


def _boxes(args: argparse.Namespace):
    from ..detector import TorchvisionDetector, WholeImage
    from ..prediction import BoxLookup, boxes_from_file

    if args.boxes:
        return boxes_from_file(args.boxes, args.det_thresh, args.id_from, args.strict)
    if args.detector:
        det = TorchvisionDetector(args.detector, score_thresh=args.det_thresh, device=args.device or "cpu")
        return BoxLookup(detector=det)
    return BoxLookup(detector=WholeImage())


def run(args: argparse.Namespace) -> int:
    import json

    from ..fileio import atomic_write_json, prepare_output_dir
    from ..frames import open_inputs
    from ..prediction import predict_sources

    sources = open_inputs(args.inputs)
    boxes = _boxes(args)
    predictor, cfg = build_predictor(args)
    out = prepare_output_dir(args.out)  # once every input has been read: a failed run leaves no folder
    report = predict_sources(predictor, sources, boxes, out, cfg.test, args.kpt_thresh)
    atomic_write_json(out / "results.json", report.results)
    print(f"{len(report.results)} people in {report.frames} frame(s) of {len(sources)} input(s); wrote {out}")
    if boxes.skips:
        if args.strict:
            raise ValueError(f"{args.boxes}: {boxes.skips.summary()} (without --strict these are skipped)")
        print(f"skipped: {boxes.skips.summary()} of {args.boxes}")
    if report.unmatched or report.no_boxes:
        message = report.no_boxes_summary(args.boxes)
        if args.strict:
            raise ValueError(f"{message} (without --strict these get no people)")
        print(f"no people: {message}")
    return 0
