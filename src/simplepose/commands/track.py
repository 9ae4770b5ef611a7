"""`simplepose track VIDEO_OR_FRAME_DIR... [--model NAME | --checkpoint CKPT] [--detector D | --boxes FILE] [--out DIR]`

Multi-person pose tracking (the paper's flow-based tracker) on mp4/avi videos or folders of
frames, each tracked on its own. Writes to --out (default `tracking/`): NAME.json (PoseTrack 2018 predictions, one
entry per frame, track ids) and NAME.mp4 (skeletons, ids and short trails drawn). Prints
the frames per second of tracking (detection lookup, flow, pose estimation and matching).

With nothing but the video, the default pose model (COCO ResNet-50 256x192 of the model zoo)
and person detector (YOLOX-m) are used, each downloaded once into the cache.
Person boxes: --boxes FILE (detections in the COCO results format; image_id = the frame's id:
the `id` of the matching image record of --frames-like FILE when given, else the 0-based
frame index) or --detector NAME|FILE.onnx|FILE.pth|none (a zoo detector, default yolox-m; an mmdeploy
YOLOX .onnx; torchvision's Faster R-CNN, which needs a CPU build of torchvision; `none`: one box
covering every whole frame, for a video of one person, the flow-propagated boxes of the last
frame's poses joining it as they join a detector's boxes; as `PoseEstimator(detector="none")`). Tracker
values come from the `track` section of the config and --set track.KEY=VALUE (see
config.TrackConfig).

A frame that cannot be read is skipped (NAME.json keeps its record, without people), named in
one warning line and counted in the summary; a video cut short is tracked to where it ends and
reported; --strict makes either an error (the frames are checked before any output is
written). Videos inside a frames folder are not frames: each is named in a warning line. An
--out that holds NAME.json or NAME.mp4 of an earlier run is refused (--overwrite replaces
them); two runs of one NAME into one folder at once are refused (lock .NAME.lock). Ctrl-C or
SIGTERM stops between frames: NAME.json then holds the frames tracked and drawn so far; exit
130 (SIGINT) or 143 (SIGTERM) after one line saying so.

Under torchrun (`torchrun --nproc_per_node=N -m simplepose track VIDEO...`) each process tracks
whole videos of the list (a video is never split: each frame's boxes come partly from the last
frame's poses); rank 0 prints every video's lines in the order given.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.words import count
from .batch import add_overwrite_option, check_readable, output_claim, unreadable_inputs, warn
from .common import (
    DEFAULT_MODEL,
    add_model_options,
    build_predictor,
    check_model_options,
    describe_setup,
    leaves_no_empty_folder,
)
from .paths import DETECTOR, MEDIA, OUT_DIR, POSETRACK, RESULTS
from .ranks import Ranks, joined

if TYPE_CHECKING:
    from ..config import Config
    from ..core.fileio import OutputClaim, Unreadable
    from ..core.frames import FrameSource
    from ..formats.posetrack import PoseTrackVideo
    from ..inference.detector import Detector
    from ..inference.predictor import TopDownPredictor


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track", help="multi-person pose tracking in a video or a folder of frames")
    p.add_argument(
        "sources",
        nargs="+",
        metavar="VIDEO_OR_FRAME_DIR",
        type=MEDIA,
        help="video files or folders of frames, each tracked on its own (--boxes, --frames-like and --name take one)",
    )
    add_model_options(p, default_model=DEFAULT_MODEL)
    # --detections: the earlier spelling, kept working.
    p.add_argument(
        "--boxes",
        "--detections",
        dest="boxes",
        type=RESULTS,
        metavar="FILE",
        help="person boxes in the COCO results format; image_id = the frame's id in --frames-like, "
        "else the 0-based frame index (default: none, use --detector)",
    )
    p.add_argument(
        "--detector",
        metavar="NAME|FILE.onnx|none",
        type=DETECTOR,
        help="person detector: a zoo name, an .onnx file, a torchvision .pth file, or none for one "
        "whole-frame box (a video of one person); track.det_score_thresh filters its boxes "
        "(default: yolox-m, unless --boxes is given)",
    )
    p.add_argument(
        "--frames-like",
        metavar="POSETRACK_JSON",
        type=POSETRACK,
        help="a PoseTrack file of this video: its frame records (ids, file names) are used for "
        "the output and to match --boxes (default: none, frames numbered from 0)",
    )
    p.add_argument("--out", default="tracking", type=OUT_DIR, metavar="DIR", help="folder for NAME.json and NAME.mp4")
    p.add_argument("--name", help="output file name without suffix (default: the video's or folder's name)")
    p.add_argument(
        "--layout",
        choices=("auto", "model", "posetrack"),
        default="auto",
        help="joints written: the model's own or PoseTrack's layout (the official tool needs the latter)",
    )
    p.add_argument("--no-video", action="store_true", help="skip the drawn video")
    p.add_argument(
        "--strict",
        action="store_true",
        help="a frame that cannot be read, or a box skipped (zero size, outside its frame), is an error "
        "(default: reported and skipped)",
    )
    add_overwrite_option(p, "NAME.json and NAME.mp4")
    p.set_defaults(run=run)


def _detector(args: argparse.Namespace, frame_ids):
    from ..inference.detector import DEFAULT_DETECTOR, DetectionsFile
    from ..inference.person_boxes import open_detector

    if args.boxes:
        if args.detector:
            raise ValueError("give person boxes with --boxes FILE or --detector, not both")
        det = DetectionsFile(args.boxes, strict=args.strict)  # the tracker applies its own score threshold
        if frame_ids and not any(i in det.table for i in frame_ids):
            raise ValueError(
                f"{args.boxes}: no detection has an image_id of these frames "
                f"(frames are {frame_ids[0]}..{frame_ids[-1]}"
                + (
                    f", the ids of {args.frames_like})"
                    if args.frames_like
                    else "; pass --frames-like for PoseTrack ids)"
                )
            )
        return det
    args.detector = args.detector or DEFAULT_DETECTOR
    # The tracker keeps boxes above track.det_score_thresh (the paper's 0.5); the detector keeps all.
    return open_detector(args.detector, 0.0, device=args.device or "cpu", offline=True if args.offline else None)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    from ..core.fileio import output_path
    from ..core.frames import open_frames
    from ..inference.detector import DEFAULT_DETECTOR

    # Names, device and settings first: a typo is named before any download or model load.
    check_model_options(args, "" if args.boxes else (args.detector or DEFAULT_DETECTOR))
    if len(args.sources) > 1:
        given = [
            flag
            for flag, value in (("--boxes", args.boxes), ("--frames-like", args.frames_like), ("--name", args.name))
            if value
        ]
        if given:
            raise ValueError(f"{' and '.join(given)} describe one video: give one VIDEO_OR_FRAME_DIR with them")
    # Frames upright as a viewer shows them; a boxes file's coordinates are in the stored pixel order.
    sources = [open_frames(path, upright=not args.boxes) for path in args.sources]
    names = [args.name or (src.path.stem if src.is_video else src.path.name) for src in sources]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        paths = [str(src.path) for src, n in zip(sources, names) if n == twice[0]]
        raise ValueError(
            f"{' and '.join(paths)} would both write {twice[0]}.json: track them into different --out folders"
        )
    for name in names:
        output_path(args.out, f"{name}.json")  # a name that would leave --out is refused before any work
    with joined(args) as ranks:
        return _run(args, sources, names, ranks)


@dataclass
class Said:
    """What a rank's videos gave, for rank 0 to print in input order: each video's summary
    lines by its input index, and the interruption that stopped one (its message, itself)."""

    lines: dict[int, list[str]] = field(default_factory=dict)
    interrupted: tuple[str, KeyboardInterrupt] | None = None


def _run(args: argparse.Namespace, sources: list[FrameSource], names: list[str], ranks: Ranks) -> int:
    """Track this rank's share of the videos (each one whole, on one rank); rank 0 says what was done."""
    from ..core.fileio import prepare_output_dir
    from ..formats.posetrack import read_posetrack

    mine = [i for i, _ in ranks.share(sources)]
    claims = ranks.agree(lambda: {i: output_claim(args, names[i], _outputs(names[i])) for i in mine})
    for i in mine:
        for video in sources[i].videos:
            warn(f"ignored {sources[i].path / video}: a video in a frames folder is not a frame (track it on its own)")
    unreadable = unreadable_inputs(args.strict)
    if args.strict:  # the first unreadable frame is an error before any output is written
        ranks.agree(lambda: check_readable([sources[i] for i in mine], unreadable))
    frames_like = read_posetrack(args.frames_like) if args.frames_like else None
    frame_ids = [f.image_id for f in frames_like.frames] if frames_like else list(range(len(sources[0].names)))
    detector, (predictor, cfg) = ranks.main_first(lambda: (_detector(args, frame_ids), build_predictor(args)))
    # Once every input has been read: a failed run leaves no folder.
    out = ranks.main_first(lambda: prepare_output_dir(args.out))
    if ranks.is_main:
        print(describe_setup(args, predictor))

    def track_mine() -> Said:
        said = Said()
        for i in mine:
            lines, stop = _track_one(
                args,
                sources[i],
                names[i],
                claims[i],
                predictor,
                cfg,
                detector,
                out,
                frames_like,
                unreadable,
                progress=ranks.is_main,
            )
            said.lines[i] = lines
            if stop is not None:
                said.interrupted = stop
                break
        return said

    said = ranks.gather(ranks.agree(track_mine))
    unreadable.names = [n for part in ranks.gather(unreadable.names) for n in part]
    return ranks.agree(lambda: _finish(args, said, unreadable, detector) if ranks.is_main else 0)


def _outputs(name: str) -> list[str]:
    return [f"{name}.json", f"{name}.mp4"]


def _track_one(
    args: argparse.Namespace,
    source: FrameSource,
    name: str,
    claim: OutputClaim,
    predictor: TopDownPredictor,
    cfg: Config,
    detector: Detector,
    out: Path,
    frames_like: PoseTrackVideo | None,
    unreadable: Unreadable,
    progress: bool,
) -> tuple[list[str], tuple[str, KeyboardInterrupt] | None]:
    """Track one video under its claim: (its summary lines, (what an interruption leaves, itself) or None)."""
    from ..tracking.pipeline import track_video

    lines = []
    with claim:
        if claim.replaced:
            lines.append(
                f"replaced the {count(claim.replaced, 'file')} of the earlier run of {name} in {out} (--overwrite)"
            )
        try:
            done = track_video(
                source,
                predictor,
                cfg.track,
                detector,
                out,
                name,
                frames_like,
                args.layout,
                draw_video=not args.no_video,
                progress=progress,
                on_bad=unreadable,
            )
        except Exception:
            claim.discard(_outputs(name))  # a failed run (--strict: a video cut short) leaves no half output
            raise
        claim.finish([p for p in (done.json_path, done.video_path) if p is not None])
    result = done.run
    wrote = f"{done.json_path}" + ("" if done.video_path is None else f" and {done.video_path}")
    if result.interrupted is not None:
        total = len(frames_like.frames) if frames_like else len(source.names)
        held = f"{done.json_path} holds the frames tracked" + (
            "" if done.video_path is None else f", {done.video_path} the frames drawn"
        )
        return lines, (f"after {len(result.poses)} of {total} frames: {held}", result.interrupted)
    tracks = {int(i) for p in result.poses for i in (p.track_ids if p.track_ids is not None else [])}
    lines.append(
        f"{count(len(result.poses), 'frame')}, {count(len(tracks), 'track')}, {result.fps:.1f} frames/s "
        f"(detection lookup, flow, pose estimation, matching; {cfg.track.similarity}, device {predictor.device})"
    )
    lines.append(f"wrote {wrote}")
    return lines, None


def _finish(args: argparse.Namespace, said: list[Said], unreadable: Unreadable, detector: Detector) -> int:
    """Rank 0: every video's lines in input order, then what stopped the run or was skipped."""
    from ..core.interrupts import Interrupted

    lines = {i: text for part in said for i, text in part.lines.items()}
    for i in sorted(lines):
        for line in lines[i]:
            print(line)
    stops = [part.interrupted for part in said if part.interrupted is not None]
    if stops:
        message, stop = stops[0]
        raise Interrupted.after(stop, message)
    if unreadable:
        print(unreadable.summary())
    skips = getattr(detector, "skips", None)
    if skips:
        if args.strict:
            raise ValueError(f"{args.boxes}: {skips.summary()} (without --strict these are skipped)")
        print(f"skipped: {skips.summary()} of {args.boxes}")
    return 0
