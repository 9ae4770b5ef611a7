"""`simplepose bench [--quick] [--checkpoint CKPT|--model NAME] [--data DIR] [--out DIR]`

Measures every inference runtime (eager, fast, compile, onnx, onnx-int8, auto), the predictor
end to end, training set-ups and data loading in one run, on the same inputs, and prints
Markdown tables with ratios to eager fp32, the CPU features as detected, and each fast
runtime's keypoint displacement and COCO AP change against eager fp32 (on the synthetic val
set; with `--checkpoint` a trained model, else random weights, which the report says). Writes
OUT/bench.txt and OUT/bench.json. Run it alone: other work on the machine distorts it.
`--quick` is a smoke test of a few seconds. Same as `python benchmarks/runtimes.py`.
"""

from __future__ import annotations

import argparse

from .common import add_model_source, checkpoint_source, leaves_no_empty_folder
from .paths import FOLDER_IN, OUT_DIR, YAML


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..bench.settings import BenchSettings

    d = BenchSettings()
    p = sub.add_parser(
        "bench", help="speed of every runtime, training and data loading, with accuracy against eager fp32"
    )
    p.add_argument(
        "--quick", action="store_true", help="a smoke test: tiny sizes, the demo model only, no torch.compile"
    )
    add_model_source(p, required=False)  # a trained model for the accuracy figures (e.g. the demo's best.pth)
    p.add_argument(
        "--data",
        default="",
        type=FOLDER_IN,
        metavar="DIR",
        help="a `simplepose synth` folder (default: generate a small one under --out)",
    )
    p.add_argument("--out", default=d.out_dir, type=OUT_DIR, metavar="DIR", help="report folder")
    # choices: a misspelt name stops at once, not after the synthetic set is generated.
    p.add_argument(
        "--models",
        nargs="+",
        default=None,
        choices=d.models,
        metavar="M",
        help="network tables: r18 r50 hrnet-w32 demo (default all; --quick: demo)",
    )
    p.add_argument(
        "--runtimes",
        nargs="+",
        default=list(d.runtimes),
        choices=d.runtimes,
        metavar="R",
        help="runtimes to measure (default all and auto)",
    )
    p.add_argument(
        "--no-compile", action="store_true", help="skip torch.compile (its warm-up takes tens of seconds per model)"
    )
    p.add_argument("--demo-config", default=d.demo_config, type=YAML, help="the demo model's YAML config file")
    p.add_argument("--threads", type=int, default=0, help="torch and ONNX Runtime threads (default: torch's)")
    p.set_defaults(run=run)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    from ..bench.run import run_bench
    from ..bench.settings import BenchSettings
    from ..core.fileio import OutputClaim, prepare_output_dir

    models = tuple(args.models) if args.models else (("demo",) if args.quick else BenchSettings().models)
    out = prepare_output_dir(args.out)
    with OutputClaim(out, "bench", ()):  # two benches into one folder would mix their reports
        run_bench(
            BenchSettings(
                args.out,
                args.quick,
                checkpoint_source(args),
                args.data,
                args.demo_config,
                models,
                tuple(args.runtimes),
                not args.no_compile,
                threads=args.threads,
            )
        )
    return 0
