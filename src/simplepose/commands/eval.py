"""`simplepose eval`: evaluate a checkpoint on a config's validation set, or score a results file.

    simplepose eval [CONFIG] --checkpoint CKPT|--model NAME [--boxes gt|DETECTIONS.json] [--no-flip] [--out DIR]
    simplepose eval --gt ANNOTATIONS.json --results RESULTS.json [--out DIR]

The first form uses CONFIG's data/test sections (default: the checkpoint's own config), with
--set overrides on top. Both print the COCO table (or the PCKh table for MPII) and write
metrics.json (the first form also results.json) to --out (default: `evaluation/` in the
current folder, never beside an input: a shipped model's folder is inside the package).

An image of the set that cannot be read is skipped (it counts as missed), named in one
warning line and counted in the summary; --strict makes it an error (nothing is written).
An evaluation replaces the results.json / metrics.json in --out (as training's validation
does); two evaluations into one folder at once are refused (lock .metrics.lock). Ctrl-C or
SIGTERM stops it with one line and nothing written; exit 130 (SIGINT) or 143 (SIGTERM).

Under torchrun (`torchrun --nproc_per_node=N -m simplepose eval ...`) each process predicts its
share of the images; rank 0 scores them all and writes the files.
"""

from __future__ import annotations

import argparse
import time

from .batch import unreadable_inputs
from .common import add_model_options, describe_runtime, leaves_no_empty_folder, load_model_and_config
from .paths import COCO, OUT_DIR, RESULTS, YAML, PathArg
from .ranks import Ranks, joined


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="COCO AP/AR or MPII PCKh of a checkpoint, or of a results file")
    p.add_argument(
        "config",
        nargs="?",
        type=YAML,
        help="experiment YAML file; its data/test sections are used (default: the checkpoint's config)",
    )
    add_model_options(p, config_flag=False, checkpoint_required=False)  # --gt/--results need none
    p.add_argument(
        "--boxes",
        type=PathArg(RESULTS.kind, RESULTS.content, ("gt",)),
        metavar="gt|DETECTIONS.json",
        help="'gt' for ground-truth boxes, or a detections file (COCO results format) "
        "(default: the config's test.use_gt_boxes / test.detections)",
    )
    p.add_argument(
        "--gt",
        type=COCO,
        metavar="ANNOTATIONS.json",
        help="ground-truth COCO keypoints file (with --results; default: none, evaluate a checkpoint)",
    )
    p.add_argument(
        "--results",
        type=RESULTS,
        metavar="RESULTS.json",
        help="keypoint results file in the COCO results format (with --gt; default: none)",
    )
    p.add_argument(
        "--out", default="evaluation", type=OUT_DIR, metavar="DIR", help="folder for results.json / metrics.json"
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="an image of the set that cannot be read is an error (default: skipped and reported)",
    )
    p.set_defaults(run=run)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    if args.gt or args.results:
        if not (args.gt and args.results):
            raise ValueError("--gt and --results go together")
        return _score_file(args)
    if not (args.checkpoint or args.model):
        raise ValueError(
            "give [CONFIG] --checkpoint CKPT (or --model NAME), or --gt ANNOTATIONS.json --results RESULTS.json"
        )
    return _evaluate(args)


def _score_file(args: argparse.Namespace) -> int:
    from ..core.fileio import atomic_write_json, prepare_output_dir
    from ..core.version import VERSION_KEY, package_version
    from ..evaluation.cocoeval import format_table, score_results_file

    t0 = time.perf_counter()
    metrics = score_results_file(args.gt, args.results)
    out = prepare_output_dir(args.out)  # after the files are read: a failed run leaves no folder
    print(format_table(metrics))
    print(f"evaluated in {time.perf_counter() - t0:.2f} s")
    atomic_write_json(out / "metrics.json", {**metrics, VERSION_KEY: package_version()})
    print(f"wrote {out / 'metrics.json'}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    with joined(args) as ranks:  # under torchrun each rank predicts its share of the images
        return _evaluate_on(args, ranks)


def _evaluate_on(args: argparse.Namespace, ranks: Ranks) -> int:
    from ..core.fileio import OutputClaim, prepare_output_dir
    from ..data.checks import check_data_found
    from ..evaluation.runner import evaluate_model, format_metrics
    from ..inference.predictor import TopDownPredictor

    def load() -> tuple:
        model, cfg, device = load_model_and_config(args)
        check_data_found(cfg, "val")  # a wrong data.root is one line, before the output folder
        # The runtime is built once here, so the summary can say which one `auto` chose.
        runtime = TopDownPredictor.from_config(model, cfg, device=str(device), precision=args.precision)
        return model, cfg, device, runtime

    model, cfg, device, runtime = ranks.main_first(load)
    out = ranks.main_first(lambda: prepare_output_dir(args.out))
    t0 = time.perf_counter()
    unreadable = unreadable_inputs(args.strict)
    # Replacing is what an evaluation does; the claim keeps two at once from mixing their files.
    claim = OutputClaim(out, "metrics", ())
    ranks.agree(lambda: claim.claim() if ranks.is_main else None)
    try:
        metrics = ranks.agree(
            lambda: evaluate_model(
                model,
                cfg,
                device,
                out_dir=out,
                detections=args.boxes,
                progress=True,
                on_bad=unreadable,
                precision=args.precision,
                runtime=runtime.runtime,
            )
        )
    finally:
        claim.release()
    unreadable.names = [n for part in ranks.gather(unreadable.names) for n in part]
    if not ranks.is_main:
        return 0
    print(format_metrics(metrics))
    print(
        f"evaluated in {time.perf_counter() - t0:.1f} s with {describe_runtime(runtime)}; "
        f"wrote {out / 'results.json'} and {out / 'metrics.json'}"
    )
    if unreadable:
        print(f"{unreadable.summary()} (each counts as missed)")
    return 0
