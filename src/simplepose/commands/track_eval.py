"""`simplepose track-eval --gt DIR --pred DIR [--out DIR] [--compat poseval]`

PoseTrack evaluation of per-video prediction files against the GT files of the same names:
per-joint AP (mAP) and CLEAR-MOT MOTA, MOTP, precision, recall, in percent. Writes
`metrics.json` under --out (default `track-evaluation/` in the current folder) with the totals
(mAP, MOTA, MOTP, precision, recall) and the per-joint values. `--compat poseval` reproduces the
official tool's numbers, quirks included (see evaluation/posetrack.py).
"""

from __future__ import annotations

import argparse
import math

from .common import leaves_no_empty_folder
from .paths import OUT_DIR, POSETRACK_DIR


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("track-eval", help="PoseTrack mAP and MOTA of tracking predictions")
    p.add_argument(
        "--gt",
        required=True,
        type=POSETRACK_DIR,
        metavar="DIR",
        help="folder of PoseTrack 2018 GT files, one per video",
    )
    p.add_argument(
        "--pred",
        required=True,
        type=POSETRACK_DIR,
        metavar="DIR",
        help="folder of prediction files with the same names",
    )
    p.add_argument("--out", default="track-evaluation", type=OUT_DIR, metavar="DIR", help="folder for metrics.json")
    p.add_argument(
        "--compat",
        choices=("poseval",),
        default=None,
        help="reproduce the official tool exactly (default: the project's own evaluation)",
    )
    p.set_defaults(run=run)


def _finite(obj):
    """NaN -> None, so metrics.json is valid JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    from ..core.fileio import atomic_write_json, prepare_output_dir
    from ..core.version import VERSION_KEY, package_version
    from ..evaluation.posetrack import evaluate_dirs
    from ..evaluation.posetrack_report import format_tables

    metrics = evaluate_dirs(args.gt, args.pred, compat=args.compat == "poseval")
    out = prepare_output_dir(args.out)  # after the files are read: a failed run leaves no folder
    print(format_tables(metrics))
    path = out / "metrics.json"
    atomic_write_json(path, {**_finite(metrics), VERSION_KEY: package_version()})
    print(f"wrote {path}")
    return 0
