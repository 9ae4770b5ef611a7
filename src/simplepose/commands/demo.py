"""`simplepose demo [--out DIR]`: synthetic data -> training -> COCO AP -> tracking -> report."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..demo import DemoSettings

    d = DemoSettings()
    p = sub.add_parser("demo", help="train, evaluate and track on the built-in synthetic people, from nothing")
    p.add_argument("--out", default=d.out_dir, help=f"report folder (default {d.out_dir})")
    p.add_argument("--data", default=d.data_dir, help=f"synthetic data folder (default {d.data_dir})")
    p.add_argument("--config", default=d.config)
    p.add_argument("--images", type=int, default=d.images)
    p.add_argument("--videos", type=int, default=d.videos)
    p.add_argument("--frames", type=int, default=d.frames)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device)
    p.add_argument("--runtime", dest="overrides", action="append", default=[], type=lambda v: f"test.runtime={v}", metavar="NAME", help="inference runtime: auto (default), eager, fast, compile, onnx, onnx-int8 (sets test.runtime)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set train.max_minutes=2")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import DemoSettings, run_demo

    run_demo(DemoSettings(args.out, args.data, args.config, args.images, args.videos, args.frames,
                          args.seed, tuple(args.overrides), args.device))
    return 0
