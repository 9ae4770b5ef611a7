"""`simplepose release --checkpoint CKPT --out MODEL.pth [--dtype fp16|fp32]`

A release file from a training checkpoint: the weights (fp16 by default: half the size, and
the model is measured as it loads back), the config, and how it was trained (epochs, time,
the validation AP, the training command) from the run's folder; no optimizer state. It is
what `src/simplepose/models/` ships.
"""

from __future__ import annotations

import argparse

from ..core.words import count
from .common import leaves_no_empty_folder
from .paths import CHECKPOINT, OUT


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release", help="a compact model file (fp16 weights + config) from a training checkpoint")
    p.add_argument(
        "--checkpoint", required=True, type=CHECKPOINT, help="a simplepose training checkpoint (best.pth or last.pth)"
    )
    p.add_argument("--out", required=True, type=OUT, metavar="MODEL.pth", help="the release file to write")
    p.add_argument("--dtype", choices=("fp16", "fp32"), default="fp16", help="weights' precision in the file")
    # dest: `command` is the subcommand's name in cli.main
    p.add_argument(
        "--command", dest="train_command", default="", help="the training command, recorded in the file (default: none)"
    )
    p.set_defaults(run=run)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..core.fileio import prepare_output_dir
    from ..training.release import make_release

    prepare_output_dir(Path(args.out).parent)
    info = make_release(args.checkpoint, args.out, args.dtype, args.train_command)
    size = Path(args.out).stat().st_size / 2**20
    epochs = info.get("epochs")  # None: no metrics.jsonl beside the checkpoint (it was "None epochs")
    trained = (
        f"{count(epochs, 'epoch')}, {info.get('train_minutes', 0):.0f} min of training, val AP {info.get('val_AP')}"
        if epochs is not None
        else "no metrics.jsonl beside the checkpoint: epochs, training time and val AP unknown"
    )
    print(f"wrote {args.out} ({size:.1f} MiB, {args.dtype}): {trained}")
    return 0
