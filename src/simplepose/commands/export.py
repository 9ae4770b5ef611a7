"""`simplepose export --checkpoint CKPT|--model NAME --onnx OUT.onnx [--int8 --calibration DIR]`

Writes the model as ONNX (BatchNorm folded, dynamic batch axis; input "image" (N, 3, H, W)
normalised as the checkpoint's config says, output "heatmaps"), checked against PyTorch with
ONNX Runtime before it is written (the max abs difference is printed). `--int8` quantises
it statically (ONNX Runtime, QOperator, per-channel) on crops of the images in DIR. onnx and
onnxruntime come with the base install. Run the file with `simplepose predict --runtime onnx
--set test.onnx_model=OUT.onnx`, or with onnxruntime directly.
"""

from __future__ import annotations

import argparse

from .common import add_model_source, checkpoint_source, leaves_no_empty_folder
from .paths import IMAGES, OUT, YAML


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX (fp32 or static int8), checked against PyTorch")
    add_model_source(p)
    p.add_argument("--onnx", required=True, type=OUT, metavar="OUT.onnx", help="ONNX file to write")
    p.add_argument("--int8", action="store_true", help="static int8 quantisation (needs --calibration)")
    p.add_argument(
        "--calibration",
        metavar="DIR",
        type=IMAGES,
        help="folder of images whose crops calibrate --int8 (default: none)",
    )
    p.add_argument(
        "--config", type=YAML, help="YAML config file for input size and normalisation (default: the checkpoint's)"
    )
    p.add_argument(
        "--trusted", action="store_true", help="allow pickled objects in the checkpoint (only for files you trust)"
    )
    p.set_defaults(run=run)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    from ..inference.export import check_export_options, export_checkpoint

    check_export_options(args.int8, args.calibration)  # before a zoo model downloads
    r = export_checkpoint(
        checkpoint_source(args),
        args.onnx,
        int8=args.int8,
        calibration=args.calibration,
        config=args.config,
        trusted=args.trusted,
    )
    kind = "int8" if r.int8 else "fp32"
    print(
        f"wrote {r.path} ({kind}, {r.size_bytes / 1e6:.1f} MB; input (N, 3, {r.input_size[1]}, {r.input_size[0]}), "
        f"output (N, {r.num_joints}, {r.heatmap_size[1]}, {r.heatmap_size[0]}), batch axis dynamic)"
    )
    print(
        f"max abs difference ONNX Runtime {kind} vs PyTorch fp32: {r.max_abs_diff:.3g} "
        f"(largest heatmap value {r.max_abs_output:.3g}; {r.check})"
    )
    return 0
