"""Our COCO keypoint evaluator against pycocotools on a generated 5,000-image case.

    PYTHONPATH=src python benchmarks/coco_eval_speed.py [--images 5000] [--seed 0]

Writes the case to a temporary folder, runs `simplepose eval --gt --results` (our evaluator,
through the CLI) and pycocotools on the same two files, and prints both tables, whether the
ten numbers are equal, and the wall time of each (file reading included for both).
Run it alone: on a shared 2-core machine anything else running distorts the times.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

from simplepose.cli import main as cli_main
from simplepose.evaluation.cases import generated_case
from simplepose.evaluation.cocoeval import METRIC_KEYS, format_table


def pycocotools_metrics(gt_path: Path, res_path: Path) -> dict:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(str(res_path)), "keypoints")
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(zip(METRIC_KEYS, (float(v) for v in ev.stats)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    gt, results = generated_case(args.images, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "gt.json").write_text(json.dumps(gt))
        (d / "results.json").write_text(json.dumps(results))
        print(
            f"case: {len(gt['images'])} images, {len(gt['annotations'])} people "
            f"({sum(a['iscrowd'] for a in gt['annotations'])} crowd regions), {len(results)} predictions"
        )
        print("\n== simplepose eval --gt gt.json --results results.json")
        t0 = time.perf_counter()
        cli_main(["eval", "--gt", str(d / "gt.json"), "--results", str(d / "results.json"), "--out", str(d)])
        ours_s = time.perf_counter() - t0
        ours = json.loads((d / "metrics.json").read_text())
        print("\n== pycocotools COCOeval (keypoints)")
        t0 = time.perf_counter()
        theirs = pycocotools_metrics(d / "gt.json", d / "results.json")
        theirs_s = time.perf_counter() - t0
        print(format_table(theirs))
    equal = all(ours[k] == theirs[k] for k in METRIC_KEYS)
    print(f"\nall ten numbers equal: {equal}")
    print(f"wall time: simplepose {ours_s:.2f} s, pycocotools {theirs_s:.2f} s ({theirs_s / ours_s:.1f}x)")


if __name__ == "__main__":
    main()
