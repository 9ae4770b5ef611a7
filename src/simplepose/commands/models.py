"""`simplepose models [--json]` and `simplepose models download NAME... | all`

The model zoo: pose models (mmpose's SimpleBaselines on COCO, MPII, PoseTrack18; the official
checkpoints, which are fetched by hand), torchvision's ImageNet ResNets for training, and
YOLOX person detectors. Files go to the cache folder ($SIMPLEPOSE_HOME, else
$XDG_CACHE_HOME/simplepose, else ~/.cache/simplepose), verified by sha256. $SIMPLEPOSE_MODELS
names a YAML file of extra rows; $SIMPLEPOSE_MIRROR a base URL tried first for every file.
Every command that runs a model takes `--model NAME` in place of `--checkpoint FILE`.
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the model zoo, or download models by name",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--json", action="store_true", help="print the table as JSON, one object per model (default: a text table)"
    )
    actions = p.add_subparsers(
        dest="action", metavar="ACTION", help="`download NAME...` fetches models into the cache (default: list the zoo)"
    )
    d = actions.add_parser("download", help="download (and convert) models into the cache")
    d.add_argument("names", nargs="+", metavar="NAME", help="zoo names, or `all` (every row with a URL)")
    d.add_argument(
        "--offline",
        action="store_true",
        help="open no connection: only check what the cache holds (also: SIMPLEPOSE_OFFLINE=1)",
    )
    d.set_defaults(run=run_download)
    p.set_defaults(run=run_list)


def _cell(row, cached: bool) -> dict:
    from ..zoo import final_path

    return {
        "name": row.name,
        "kind": row.kind,
        "dataset": row.dataset,
        "input": f"{row.input_size[1]}x{row.input_size[0]}",  # h x w, as the names say it
        "metric": row.metric,
        "size_mb": round(row.size / 1e6, 1) if row.size else row.approx_mb,
        "source": row.format + ("" if row.urls else " (by hand)"),
        "cached": cached,
        "sha256": row.sha256 or row.member_sha256,
        "decoder": row.decoder,
        "color": row.color,
        "urls": list(row.urls),
        "reported": row.reported,
        "manual": row.manual,
        "path": str(final_path(row)),
    }


def run_list(args: argparse.Namespace) -> int:
    from ..zoo import cache_dir, is_cached, rows

    table = [_cell(r, is_cached(r)) for r in rows()]
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    cols = ("name", "dataset", "input (hxw)", "metric", "size", "source", "cached")
    lines = [
        [
            c["name"],
            c["dataset"],
            c["input"],
            c["metric"],
            f"~{c['size_mb']:.0f} MB" if c["size_mb"] else "?",
            c["source"],
            "yes" if c["cached"] else "no",
        ]
        for c in table
    ]
    widths = [max(len(cols[i]), *(len(line[i]) for line in lines)) for i in range(len(cols))]
    for line in [list(cols)] + lines:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())
    print(f"cache: {cache_dir()}  (`simplepose models download NAME` fetches one; --model NAME uses it)")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from ..zoo import ZooError, backbone_file, detector_file, get_row, model_file, rows

    names = [r.name for r in rows() if r.urls] if args.names == ["all"] else args.names
    get = {"pose": model_file, "backbone": backbone_file, "detector": detector_file}
    offline = True if args.offline else None
    for name in names:
        get_row(name)  # an unknown name stops before any download
    for name in names:
        row = get_row(name)
        try:
            path = get[row.kind](name, offline)
        except ZooError as e:
            raise ZooError(f"{name}: {e}") from None
        print(f"{name}: {path}")
    return 0
