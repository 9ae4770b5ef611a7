"""`simplepose <command> ...`: parse the command line, then call the library.

Each command lives in `simplepose.commands.<name>` with `add_parser(subparsers)` and
`run(args) -> int`; this file only lists them, so `simplepose --help` stays cheap (the
commands import torch and friends lazily).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, Optional

COMMANDS = ("synth", "train", "eval", "predict", "track", "track-eval", "info", "demo", "release", "export", "bench", "models")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simplepose", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"simplepose.commands.{name.replace('-', '_')}").add_parser(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    # OpenCV logs a warning line for every unreadable image before we raise our own one-line
    # error; keep its errors, drop the duplicate warnings (a user's setting wins).
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        return int(args.run(args) or 0)
    except BrokenPipeError:
        # `simplepose info --table | head`: the reader left; nothing to say, nothing went wrong.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (FileNotFoundError, ValueError) as e:
        # User errors (bad file, bad field) get one clear line, not a traceback.
        print(f"simplepose {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
