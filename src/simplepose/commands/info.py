"""`simplepose info CONFIG_OR_CHECKPOINT`: parameters and multiply-adds of a model.

Prints the true multiply-adds (split backbone / deconv head / final conv) and, beside them,
the paper's "GFLOPs" convention so the figures can be matched with its table.
`simplepose info --table` prints R18-R152 at 256x192 and 384x288 beside the paper's figures.
The figures come from `simplepose.nets.complexity`; this module only parses and prints.
"""

from __future__ import annotations

import argparse

from .paths import FILE, PathArg


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="parameters and multiply-adds of a model")
    p.add_argument(
        "source",
        nargs="?",
        type=PathArg(FILE, "config or checkpoint"),
        help="a YAML config or a checkpoint file (default: the paper's R50)",
    )
    p.add_argument(
        "--model", metavar="NAME", help="a model of the zoo by name (downloaded once) instead of SOURCE (default: none)"
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="open no connection: a --model must be in the cache already (default: online)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, e.g. model.depth=101 (configs only; repeatable; default: none)",
    )
    p.add_argument(
        "--input-size",
        nargs=2,
        type=int,
        metavar=("W", "H"),
        help="network input; default: the config's data.input_size",
    )
    p.add_argument(
        "--style",
        choices=("pytorch", "caffe"),
        help="Bottleneck style of a checkpoint without config, which keys cannot tell (default: pytorch)",
    )
    p.add_argument(
        "--trusted", action="store_true", help="allow full unpickling of the checkpoint (only for files you trust)"
    )
    p.add_argument(
        "--table", action="store_true", help="print R18-R152 at 256x192 and 384x288 beside the paper's figures"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..nets.complexity import describe_source, format_table  # torch loads only when a command runs

    if args.table:
        print(format_table())
    else:
        if args.input_size is not None and min(args.input_size) < 1:
            raise ValueError(
                f"--input-size {args.input_size[0]} {args.input_size[1]}: width and height must be positive"
            )
        source = args.source
        if args.model:
            if source:
                raise ValueError("give SOURCE or --model NAME, not both")
            from ..zoo import model_file

            source = str(model_file(args.model, offline=True if args.offline else None))
        print(describe_source(source, args.overrides, args.input_size, args.style, args.trusted))
    return 0
