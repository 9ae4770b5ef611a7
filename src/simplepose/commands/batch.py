"""What the commands that read many inputs share: unreadable members skipped and said in one
line each (or, with --strict, the first one an error before any output), and one run's claim
on its outputs in an --out folder (`--overwrite`; see `fileio.OutputClaim`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..core.fileio import OutputClaim, Unreadable

if TYPE_CHECKING:
    from ..core.frames import FrameSource


def add_overwrite_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace the {what} of an earlier run in --out (default: such a folder is refused)",
    )


def warn(line: str) -> None:
    """One warning line on stderr, above a progress bar rather than through it."""
    from tqdm import tqdm

    tqdm.write(f"warning: {line}", file=sys.stderr)


def unreadable_inputs(strict: bool) -> Unreadable:
    """The collector of a command's unreadable inputs: each said in one warning line."""
    return Unreadable(strict=strict, say=warn)


def check_readable(sources: Iterable[FrameSource], unreadable: Unreadable) -> None:
    """--strict: every source read through before any output; the first unreadable one raises."""
    for src in sources:
        src.check(unreadable)


def output_claim(args: argparse.Namespace, name: str, markers: Iterable[str]) -> OutputClaim:
    """The run's claim on `name` in --out, an earlier run's results refused now, before any work."""
    claim = OutputClaim(args.out, name, markers, overwrite=args.overwrite)
    claim.check()
    return claim
