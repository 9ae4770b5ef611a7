"""`simplepose info CONFIG_OR_CHECKPOINT`: parameters and multiply-adds of a model.

Prints the true multiply-adds (split backbone / deconv head / final conv) and, beside them,
the paper's "GFLOPs" convention so the figures can be matched with its table.
`simplepose info --table` prints R18-R152 at 256x192 and 384x288 beside the paper's figures.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Tuple

#: The paper's Table (COCO, 17 joints): (depth, h, w) -> (params in M, "GFLOPs").
PAPER_FIGURES: Dict[Tuple[int, int, int], Tuple[float, float]] = {
    (50, 256, 192): (34.0, 8.9), (101, 256, 192): (53.0, 12.4), (152, 256, 192): (68.6, 15.7),
    (50, 384, 288): (34.0, 20.0), (101, 384, 288): (53.0, 27.9), (152, 384, 288): (68.6, 35.3),
}
TABLE_SIZES = ((256, 192), (384, 288))  # (h, w)
CONFIG_SUFFIXES = (".yaml", ".yml")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="parameters and multiply-adds of a model")
    p.add_argument("source", nargs="?", help="a YAML config or a checkpoint file (default: the paper's R50)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. model.depth=101 (configs only)")
    p.add_argument("--input-size", nargs=2, type=int, metavar=("W", "H"),
                   help="network input; default: the config's data.input_size")
    p.add_argument("--style", choices=("pytorch", "caffe"),
                   help="Bottleneck style of a checkpoint without config (keys cannot tell it)")
    p.add_argument("--trust", action="store_true",
                   help="allow full unpickling of the checkpoint (only for files you trust)")
    p.add_argument("--table", action="store_true",
                   help="print R18-R152 at 256x192 and 384x288 beside the paper's figures")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.table:
        print(format_table())
        return 0
    model, input_wh, what = _load(args)
    if args.input_size:
        input_wh = tuple(args.input_size)
    print(describe(model, (input_wh[1], input_wh[0]), what))
    return 0


def _load(args: argparse.Namespace):
    """(model, input (w, h), description of where it came from)."""
    import torch

    from ..config import ConfigError, build_model_kwargs, load_config
    from ..model import PoseResNet
    from ..weights import load_checkpoint

    source: Optional[str] = args.source
    if source is None or Path(source).suffix.lower() in CONFIG_SUFFIXES:
        cfg = load_config(source, args.overrides)
        with torch.device("meta"):  # shapes only: nothing to allocate or initialise for real
            model = PoseResNet(**build_model_kwargs(cfg.model))
        return model, tuple(cfg.data.input_size), source or "default config"
    if args.overrides:
        raise ConfigError("--set applies to configs; a checkpoint's architecture comes from the file")
    loaded = load_checkpoint(source, trusted=args.trust, style=args.style)
    if loaded.config is not None:
        return loaded.model, tuple(loaded.config.data.input_size), source
    from ..config import DataConfig
    # Official checkpoints carry no input size: fall back to the default (COCO 192x256).
    return loaded.model, tuple(DataConfig().input_size), f"{source} (no stored config)"


def describe(model, input_hw: Tuple[int, int], what: str = "") -> str:
    """Several lines: architecture, parameters, true MACs by part, the paper's convention."""
    from ..complexity import count_cost
    from ..per_layer import collapse_per_layer

    c = count_cost(model, input_hw)
    arch = model.architecture()
    h, w = input_hw
    head_p = c.params.get("deconv_layers", 0) + c.params.get("final_layer", 0)
    head_m = c.macs.get("deconv_layers", 0) + c.macs.get("final_layer", 0)
    lines = [
        f"{what}: PoseResNet-{arch['depth']} ({arch['style']} style"
        f"{'' if arch['width'] == 64 else ', width ' + str(arch['width'])}), {arch['num_joints']} joints, "
        f"deconv {arch['num_deconv_layers']} x {collapse_per_layer(arch['deconv_filters'])} "
        f"k{collapse_per_layer(arch['deconv_kernels'])}, "
        f"final {arch['final_conv_kernel']}x{arch['final_conv_kernel']}",
        f"input {w}x{h} (w x h) -> heatmaps {c.output_shape[3]}x{c.output_shape[2]}",
        f"parameters        {c.total_params / 1e6:8.3f} M  (backbone {c.params.get('backbone', 0) / 1e6:.3f} M, "
        f"head {head_p / 1e6:.3f} M)",
        f"multiply-adds     {c.total_macs / 1e9:8.3f} G  (backbone {c.macs.get('backbone', 0) / 1e9:.3f} G, "
        f"head {head_m / 1e9:.3f} G = deconv {c.macs.get('deconv_layers', 0) / 1e9:.3f} "
        f"+ final {c.macs.get('final_layer', 0) / 1e9:.3f})",
        f"paper convention  {c.paper_gflops:8.2f} \"GFLOPs\" (transposed convs charged per output pixel, "
        f"/ 1024^3; the figure of the paper's table)",
    ]
    return "\n".join(lines)


def table_rows() -> List[Dict[str, object]]:
    """One row per depth and size: measured figures and the paper's (None where it gives none)."""
    import torch

    from ..complexity import count_cost
    from ..model import RESNET_SPECS, PoseResNet

    rows = []
    for depth in RESNET_SPECS:
        with torch.device("meta"):
            model = PoseResNet(depth=depth, num_joints=17)
        for h, w in TABLE_SIZES:
            c = count_cost(model, (h, w))
            paper = PAPER_FIGURES.get((depth, h, w), (None, None))
            rows.append(dict(depth=depth, size=f"{h}x{w}", params_m=c.total_params / 1e6,
                             gmacs=c.total_macs / 1e9, head_gmacs=(c.total_macs - c.macs["backbone"]) / 1e9,
                             paper_convention=c.paper_gflops, paper_params_m=paper[0], paper_gflops=paper[1]))
    return rows


def format_table() -> str:
    def fmt(v: Optional[float], spec: str) -> str:
        return "-" if v is None else format(v, spec)

    header = (f"{'model':<8}{'input':>9}{'params M':>10}{'paper M':>9}{'true GMACs':>12}"
              f"{'(head)':>8}{'paper conv.':>13}{'paper GFLOPs':>14}")
    lines = [header, "-" * len(header)]
    for r in table_rows():
        lines.append(f"{'R' + str(r['depth']):<8}{r['size']:>9}{r['params_m']:>10.2f}"
                     f"{fmt(r['paper_params_m'], '.1f'):>9}{r['gmacs']:>12.2f}{r['head_gmacs']:>8.2f}"
                     f"{r['paper_convention']:>13.2f}{fmt(r['paper_gflops'], '.1f'):>14}")
    lines.append("true GMACs: multiply-adds / 1e9 of convs, transposed convs and linears (head = deconvs + "
                 "final conv); paper conv.: the authors' counter (transposed convs charged per output "
                 "pixel, / 1024^3). K = 17 joints.")
    return "\n".join(lines)
