"""`simplepose synth --out DIR ...`: write the synthetic people data set (images and videos).

Ctrl-C or SIGTERM stops it with one line: the annotations then list exactly the images made
(a smaller, consistent set), a video being written is removed; exit 130 / 143. Two runs into
one folder at once are refused (lock .synth.lock).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..core.words import count, plural
from .common import leaves_no_empty_folder
from .paths import OUT_DIR


def parse_size(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """'640x480' (fixed width x height) or '320-640' (each side drawn from the range)."""
    try:
        if "x" in text:
            w, h = (int(v) for v in text.lower().split("x"))
            return (w, w), (h, h)
        lo, hi = (int(v) for v in text.split("-")) if "-" in text else (int(text), int(text))
        return (lo, hi), (lo, hi)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size: expected WxH or MIN-MAX, got {text!r}") from None


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate the synthetic people data set (COCO images, PoseTrack videos)")
    p.add_argument("--out", required=True, type=OUT_DIR, metavar="DIR", help="output folder")
    p.add_argument("--images", type=int, default=2000, help="number of still images, train + val")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of the images in the validation split")
    p.add_argument("--videos", type=int, default=0, help="number of video clips")
    p.add_argument("--frames", type=int, default=60, help="frames per video clip")
    p.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same set)")
    p.add_argument(
        "--size",
        type=parse_size,
        default=None,
        metavar="WxH|MIN-MAX",
        help="still image size (default: each side 320-640)",
    )
    p.add_argument(
        "--video-size", type=parse_size, default=None, metavar="WxH", help="video frame size (default: 640x360)"
    )
    p.add_argument("--max-people", type=int, default=8, help="most people per still image")
    p.add_argument(
        "--person-height",
        type=parse_size,
        default=None,
        metavar="MIN-MAX",
        help="standing height of the people in pixels (default 40-480)",
    )
    p.add_argument("--clutter", type=float, default=1.0, help="scale of background clutter (0 = none)")
    p.add_argument("--workers", type=int, default=1, help="processes for the still images")
    p.set_defaults(run=run)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    import cv2

    # One image at a time per process: at these sizes OpenCV's own threads cost more CPU
    # (about a sixth more, mostly spinning) than they save; use --workers for parallelism.
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return _generate(args)
    finally:
        cv2.setNumThreads(threads)


def _generate(args: argparse.Namespace) -> int:
    from ..core.fileio import OutputClaim, prepare_output_dir

    for flag, value, low in (
        ("--images", args.images, 0),
        ("--videos", args.videos, 0),
        ("--frames", args.frames, 1),
        ("--max-people", args.max_people, 1),
        ("--workers", args.workers, 1),
    ):
        if value < low:
            raise ValueError(f"{flag} must be at least {low}, got {value}")
    if args.images == 0 and args.videos == 0:
        raise ValueError("nothing to generate: give --images N and/or --videos N")
    prepare_output_dir(args.out)
    with OutputClaim(args.out, "synth", ()):  # two writers at once would mix their sets: the second is refused
        return _write(args)


def _write(args: argparse.Namespace) -> int:
    from ..synthetic import SceneSettings, VideoSettings, generate_dataset, generate_videos

    # argparse's values are untyped: SceneSettings checks them (__post_init__).
    sizes: dict[str, Any] = dict(width=args.size[0], height=args.size[1]) if args.size else {}
    heights: dict[str, Any] = (
        dict(person_height=tuple(float(v) for v in args.person_height[0])) if args.person_height else {}
    )
    scene = SceneSettings(people=(1, args.max_people), clutter=args.clutter, **sizes, **heights)
    if args.images > 0:
        s = generate_dataset(args.out, args.images, args.seed, args.val_fraction, scene, args.workers)
        print(
            f"{count(args.images, 'image')} ({s['train']['people']} + {s['val']['people']} "
            f"{plural(s['train']['people'] + s['val']['people'], 'person')}, train + val) in {args.out}: "
            f"{s['images_per_second']} images/s"
        )
    if args.videos > 0:
        video = VideoSettings(clutter=min(args.clutter, VideoSettings().clutter))
        if args.video_size:
            video = VideoSettings(width=args.video_size[0][0], height=args.video_size[1][0], clutter=video.clutter)
        v = generate_videos(args.out, args.videos, args.frames, args.seed, video)
        print(
            f"{count(args.videos, 'video')} x {count(args.frames, 'frame')} in {args.out}: "
            f"{v['frames_per_second']} frames/s"
        )
    return 0
