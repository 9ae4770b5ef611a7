"""`simplepose demo [--out DIR]`: synthetic data -> training -> COCO AP -> tracking -> report."""

from __future__ import annotations

import argparse

from .common import leaves_no_empty_folder
from .paths import OUT_DIR, YAML


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..demo import DemoSettings

    d = DemoSettings()
    p = sub.add_parser("demo", help="train, evaluate and track on the built-in synthetic people, from nothing")
    p.add_argument("--out", default=d.out_dir, type=OUT_DIR, metavar="DIR", help="report folder")
    p.add_argument(
        "--data",
        default=d.data_dir,
        type=OUT_DIR,
        metavar="DIR",
        help="synthetic data folder (made, or reused when it holds the same set)",
    )
    p.add_argument("--config", default=d.config, type=YAML, help="the demo model's YAML config file")
    p.add_argument("--images", type=int, default=d.images, help="synthetic still images to generate")
    p.add_argument("--videos", type=int, default=d.videos, help="synthetic video clips to generate")
    p.add_argument("--frames", type=int, default=d.frames, help="frames per video clip")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed of the data and the training")
    p.add_argument("--device", default=d.device, help="cpu, cuda or cuda:N")
    p.add_argument(
        "--runtime",
        dest="overrides",
        action="append",
        default=[],
        type=lambda v: f"test.runtime={v}",
        metavar="NAME",
        help="inference runtime: auto, eager, fast, compile, onnx, onnx-int8, openvino, openvino-int8 "
        "(sets test.runtime; default: the config's, auto)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, e.g. --set train.max_minutes=2 (repeatable; default: none)",
    )
    p.set_defaults(run=run)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    from ..demo import DemoSettings, run_demo
    from ..runtimes import check_inference_settings

    # What this machine runs, before the data, the training and the output folder.
    check_inference_settings(args.device or None, None, args.overrides, ("--device", "--precision", "--runtime"))
    run_demo(
        DemoSettings(
            args.out,
            args.data,
            args.config,
            args.images,
            args.videos,
            args.frames,
            args.seed,
            tuple(args.overrides),
            args.device,
        )
    )
    return 0
