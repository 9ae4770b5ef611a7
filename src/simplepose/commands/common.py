"""Options shared by the commands that run a model (eval, predict, track), spelled once.

Every such command resolves its config the same way (`config.resolve_config`): the
checkpoint's stored config, replaced by `--config FILE` when given, then `--set` overrides.
"""
from __future__ import annotations

import argparse
from typing import Any, Tuple

from .paths import CHECKPOINT, YAML


def add_model_options(p: argparse.ArgumentParser, config_flag: bool = True, checkpoint_required: bool = True) -> None:
    """--checkpoint, --config, --set, --device, --precision, --runtime, --no-flip, --trusted."""
    p.add_argument("--checkpoint", type=CHECKPOINT, required=checkpoint_required,
                   help="model checkpoint file (project or official format)" + ("" if checkpoint_required else " (default: none)"))
    if config_flag:
        p.add_argument("--config", type=YAML,
                       help="YAML config file replacing the checkpoint's own, e.g. for official checkpoints "
                            "(default: the checkpoint's stored config)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set test.flip_test=false (repeatable; default: none)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--precision", choices=("bf16", "fp16"), default=None, help="reduced-precision forward pass (default: fp32)")
    p.add_argument("--runtime", metavar="NAME",
                   help="inference runtime: auto, eager, fast, compile, onnx, onnx-int8 (sets test.runtime; default: the "
                        "config's test.runtime, auto)")
    p.add_argument("--no-flip", action="store_true", help="turn the flip test off")
    p.add_argument("--trusted", action="store_true",
                   help="allow pickled objects in the checkpoint (they can run code: only for files you trust)")


def load_model_and_config(args: argparse.Namespace) -> Tuple[Any, Any, str]:
    """(model, config, device) from the options of `add_model_options`."""
    import torch

    from ..config import resolve_config
    from ..weights import load_checkpoint

    overrides = list(args.overrides) + (["test.flip_test=false"] if args.no_flip else []) \
        + ([f"test.runtime={args.runtime}"] if args.runtime else [])
    loaded = load_checkpoint(args.checkpoint, trusted=args.trusted)
    cfg = resolve_config(loaded.config, args.config, overrides, source=str(args.checkpoint))
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    return loaded.model, cfg, device


def build_predictor(args: argparse.Namespace):
    """(TopDownPredictor, config) from the options of `add_model_options`."""
    from ..predictor import TopDownPredictor

    model, cfg, device = load_model_and_config(args)
    return TopDownPredictor.from_config(model, cfg, device=device, precision=args.precision), cfg
