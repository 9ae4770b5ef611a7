"""`simplepose predict INPUT... [--model NAME | --checkpoint CKPT]
[--detector NAME|FILE.onnx|none | --boxes FILE] [--out DIR]`

With nothing but the input, the default pose model (COCO ResNet-50 256x192 of the model zoo)
and the default person detector (YOLOX-m) are used, each downloaded once into the cache.

INPUT: images, videos, folders of them. Writes to --out (default `predictions/`):
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

Under torchrun (`torchrun --nproc_per_node=N -m simplepose predict ...`) each process predicts
and draws its share of the inputs; rank 0 writes results.json, equal to one process's.

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
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.words import count
from .batch import add_overwrite_option, check_readable, output_claim, unreadable_inputs
from .common import (
    DEFAULT_MODEL,
    add_model_options,
    build_predictor,
    check_model_options,
    describe_setup,
    leaves_no_empty_folder,
)
from .paths import COCO, DETECTOR, JSON, MEDIA, OUT_DIR, PathArg
from .ranks import Ranks, joined

if TYPE_CHECKING:
    from ..core.fileio import OutputClaim, Unreadable
    from ..core.frames import FrameSource
    from ..inference.prediction import BoxLookup, PredictReport

#: A generous guess of the people in a photo, for `auto`'s choice by the work ahead.
PEOPLE_PER_PHOTO = 8


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="poses on images, folders and videos, drawn and as COCO results")
    p.add_argument("inputs", nargs="+", metavar="INPUT", type=MEDIA, help="image files, video files, folders of them")
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
    from ..core.frames import open_inputs
    from ..inference.detector import DEFAULT_DETECTOR

    # Names, device and settings first: a typo is named before any download or model load.
    check_model_options(args, "" if args.boxes else (args.detector or DEFAULT_DETECTOR))
    # Photos upright, as a viewer shows them; a boxes file's coordinates are in the stored pixel order.
    sources = open_inputs(args.inputs, upright=not args.boxes)
    with joined(args) as ranks:
        return _run(args, sources, ranks)


def _run(args: argparse.Namespace, sources: list[FrameSource], ranks: Ranks) -> int:
    """The run on this rank's share of `sources`; rank 0 claims --out, merges and writes results.json."""
    from ..inference.prediction import PredictReport, predict_sources

    claim = ranks.agree(lambda: output_claim(args, "results", ["results.json"]) if ranks.is_main else None)
    mine = [i for i, _ in ranks.share(sources)]
    unreadable = unreadable_inputs(args.strict)
    if args.strict:  # the first unreadable input is an error before any output is written
        ranks.agree(lambda: check_readable([sources[i] for i in mine], unreadable))
    # Photos only: a guess of the people they hold lets `auto` run a short job eager (every
    # rank decides for the whole job, as one process would).
    expected = 0 if any(s.is_video for s in sources) else len(sources) * PEOPLE_PER_PHOTO
    boxes, (predictor, cfg) = ranks.main_first(lambda: (_boxes(args), build_predictor(args, expected)))
    try:
        # Once every input has been read: a failed run leaves no folder. Rank 0 holds the lock.
        out = ranks.main_first(lambda: _open_output(args, claim))
        if claim is not None and claim.replaced:
            print(f"replaced the {count(claim.replaced, 'file')} of the earlier run in {out} (--overwrite)")
        if ranks.is_main:
            print(describe_setup(args, predictor))
        try:
            mine_done = ranks.agree(
                lambda: predict_sources(
                    predictor, sources, boxes, out, cfg.test, args.kpt_thresh, ranks.is_main, unreadable, mine
                )
            )
        except BaseException:
            if claim is not None:
                claim.discard()  # a failed run (--strict: a video cut short) leaves no half output
            raise
        report = PredictReport.combine(ranks.gather(mine_done))
        unreadable.names = [n for names in ranks.gather(unreadable.names) for n in names]
        return ranks.agree(lambda: _finish(args, len(sources), out, report, unreadable, boxes, claim))
    finally:
        if claim is not None:
            claim.release()


def _open_output(args: argparse.Namespace, claim: OutputClaim | None) -> Path:
    """--out made and writable; the claim (rank 0's) taken on it."""
    from ..core.fileio import prepare_output_dir

    out = prepare_output_dir(args.out)
    if claim is not None:
        claim.claim()
    return out


def _finish(
    args: argparse.Namespace,
    inputs: int,
    out: Path,
    report: PredictReport,
    unreadable: Unreadable,
    boxes: BoxLookup,
    claim: OutputClaim | None,
) -> int:
    """Rank 0: results.json, the files listed for a later --overwrite, the summary lines."""
    from ..core.fileio import atomic_write_json
    from ..core.interrupts import Interrupted, deferred

    if claim is None:
        return 0
    with deferred():  # a second Ctrl-C waits until results.json and its listing are written
        atomic_write_json(out / "results.json", report.results)
        claim.finish([*report.written, out / "results.json"])
    if report.interrupted is not None:
        raise Interrupted.after(
            report.interrupted,
            f"after {report.inputs_done} of {count(inputs, 'input')}: "
            f"{out / 'results.json'} holds the {count(len(report.results), 'person')} of the "
            f"{count(report.frames, 'frame')} drawn",
        )
    print(
        f"{count(len(report.results), 'person')} in {count(report.frames, 'frame')} of "
        f"{count(inputs, 'input')}; wrote {out}"
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
