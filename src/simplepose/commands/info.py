"""`simplepose info CONFIG_OR_CHECKPOINT`: parameters of a model (cost counting: issue 2)."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="parameters and multiply-adds of a model")
    p.add_argument("source", help="a YAML config or a checkpoint file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..config import build_model_kwargs, load_config
    from ..model import PoseResNet

    cfg = load_config(args.source, args.overrides)
    model = PoseResNet(**build_model_kwargs(cfg.model))
    params = sum(p.numel() for p in model.parameters())
    print(f"PoseResNet-{cfg.model.depth}: {params / 1e6:.2f}M parameters")
    return 0
