"""`simplepose predict INPUT... [--model NAME | --checkpoint CKPT]
[--detector NAME|FILE.onnx|none | --boxes FILE] [--out DIR]`

With nothing but the input, the default pose model (COCO ResNet-50 256x192 of the model zoo)
and the default person detector (YOLOX-m) are used, each downloaded once into the cache.

INPUT: images, folders of images, videos. Writes to --out (default `predictions/`):
results.json (COCO results format, each entry also naming its `file_name`; video frames are
`NAME.mp4#FRAME`), each image with skeletons drawn (repeated names get _2, _3 ...), and each
video re-encoded with them as NAME_poses.mp4. A folder's pictures and videos are all read.

An input that cannot be read (a picture that does not decode, a video that does not open or
is cut short) is skipped, named in one warning line and counted in the summary; --strict
makes it an error, checked before any output is written. A folder that holds an earlier
run's results.json is refused (--overwrite replaces that run's files); two runs into one
folder at once are refused too (the first holds the lock .results.lock). Ctrl-C or SIGTERM
stops between frames: results.json then holds the results of the frames drawn so far, and
the command exits 130 (SIGINT) or 143 (SIGTERM) after one line saying so.

Person boxes, in this order of preference:
  --boxes FILE   a COCO keypoints file (its ground-truth boxes; images matched by the file
                 names of its `images` list) or a detections file in the COCO results format
                 (it names no files: add --id-from stem, 000000000785.jpg -> id 785, or
                 --id-from ANNOTATIONS.json, whose `images` list gives the ids). An input that
                 matches no image of the file gets no people and is reported (--strict: an error).
  --detector D   a person detector run on every picture: a zoo name (default yolox-m), an
                 mmdeploy YOLOX .onnx file, a torchvision Faster R-CNN .pth file (needs a
                 CPU build of torchvision), or `none`: one box covering the whole image.
"""

from __future__ import annotations

import argparse

from .batch import add_overwrite_option, output_claim, unreadable_inputs
from .common import (
    DEFAULT_MODEL,
    add_model_options,
    build_predictor,
    check_model_options,
    describe_setup,
    leaves_no_empty_folder,
)
from .paths import COCO, DETECTOR, JSON, MEDIA, OUT_DIR, PathArg

#: A generous guess of the people in a photo, for `auto`'s choice by the work ahead.
PEOPLE_PER_PHOTO = 8


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="poses on images, folders and videos, drawn and as COCO results")
    p.add_argument("inputs", nargs="+", metavar="INPUT", type=MEDIA, help="image files, folders of images, video files")
    add_model_options(p, default_model=DEFAULT_MODEL)
    p.add_argument(
        "--boxes",
        type=JSON,
        metavar="FILE",
        help="person boxes: a COCO keypoints file (its GT boxes) or a detections file (COCO results "
        "format, needs --id-from) (default: none, use --detector)",
    )
    p.add_argument(
        "--id-from",
        metavar="stem|ANNOTATIONS.json",
        type=PathArg(COCO.kind, COCO.content, ("stem",)),
        help="how the image ids of a --boxes detections file match the inputs: 'stem' (000000000785.jpg "
        "is id 785) or a COCO file whose images list names them (default: none; needed with a "
        "detections file)",
    )
    p.add_argument(
        "--detector",
        metavar="NAME|FILE.onnx|none",
        type=DETECTOR,
        help="person detector run on every frame: a zoo name, an .onnx file, a torchvision .pth file "
        "(needs torchvision), or none for one whole-image box (default: yolox-m, unless --boxes is given)",
    )
    p.add_argument(
        "--det-thresh",
        type=float,
        default=None,
        metavar="SCORE",
        help="boxes scoring this or less are dropped (default: 0.3 for a detector, as rtmlib; 0.5 for --boxes)",
    )
    p.add_argument(
        "--out",
        default="predictions",
        type=OUT_DIR,
        metavar="DIR",
        help="folder for results.json and the drawn images and videos",
    )
    p.add_argument(
        "--kpt-thresh", type=float, default=0.3, metavar="SCORE", help="joints under this confidence are not drawn"
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="an input that cannot be read, an input or video frame that got no person box, or a box skipped "
        "(zero size, outside its image), is an error (default: reported and skipped)",
    )
    add_overwrite_option(p, "results.json and drawings")
    p.set_defaults(run=run)


def _boxes(args: argparse.Namespace):
    from ..inference.detector import DEFAULT_DETECTOR
    from ..inference.person_boxes import open_detector
    from ..inference.prediction import BoxLookup, boxes_from_file

    if args.boxes:
        if args.detector:
            raise ValueError("give person boxes with --boxes FILE or --detector, not both")
        return boxes_from_file(
            args.boxes, 0.5 if args.det_thresh is None else args.det_thresh, args.id_from, args.strict
        )
    args.detector = args.detector or DEFAULT_DETECTOR
    det = open_detector(
        args.detector,
        0.3 if args.det_thresh is None else args.det_thresh,
        device=args.device or "cpu",
        offline=True if args.offline else None,
    )
    return BoxLookup(detector=det)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    from ..core.fileio import atomic_write_json, prepare_output_dir
    from ..core.frames import open_inputs
    from ..core.interrupts import Interrupted
    from ..core.words import count
    from ..inference.detector import DEFAULT_DETECTOR
    from ..inference.prediction import predict_sources

    # Names, device and settings first: a typo is named before any download or model load.
    check_model_options(args, "" if args.boxes else (args.detector or DEFAULT_DETECTOR))
    sources = open_inputs(args.inputs)
    claim = output_claim(args, "results", ["results.json"])
    unreadable = unreadable_inputs(args.strict)
    if args.strict:  # the first unreadable input is an error before any output is written
        for src in sources:
            src.check(unreadable)
    boxes = _boxes(args)
    # Photos only: a guess of the people they hold lets `auto` run a short job eager.
    expected = 0 if any(s.is_video for s in sources) else len(sources) * PEOPLE_PER_PHOTO
    predictor, cfg = build_predictor(args, expected)
    out = prepare_output_dir(args.out)  # once every input has been read: a failed run leaves no folder
    with claim:
        if claim.replaced:
            print(f"replaced the {count(claim.replaced, 'file')} of the earlier run in {out} (--overwrite)")
        print(describe_setup(args, predictor))
        try:
            report = predict_sources(predictor, sources, boxes, out, cfg.test, args.kpt_thresh, on_bad=unreadable)
        except Exception:
            claim.discard()  # a failed run (--strict: a video cut short) leaves no half output
            raise
        atomic_write_json(out / "results.json", report.results)
        claim.finish([*report.written, out / "results.json"])
    if report.interrupted is not None:
        raise Interrupted.after(
            report.interrupted,
            f"after {report.inputs_done} of {count(len(sources), 'input')}: "
            f"{out / 'results.json'} holds the {count(len(report.results), 'person')} of the "
            f"{count(report.frames, 'frame')} drawn",
        )
    print(
        f"{count(len(report.results), 'person')} in {count(report.frames, 'frame')} of "
        f"{count(len(sources), 'input')}; wrote {out}"
    )
    if unreadable:
        print(unreadable.summary())
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
