"""Parameters and multiply-adds of a model, counted by forward hooks on a meta-device input.

Two figures are counted in one pass:

* **True multiply-adds (MACs)**, what a dense kernel executes: a Conv2d does
  (output pixels) x (k*k*Cin/groups) x Cout, a ConvTranspose2d (input pixels) x
  (k*k*Cout/groups) x Cin, since each input pixel is multiplied by the whole kernel once, and a
  Linear in x out per row. Taps that fall on zero padding (conv) or on the cropped border
  (transposed conv) are counted, as is usual. Bias additions, BatchNorm, ReLU, pooling and the
  residual additions are not counted: they are a few tenths of a percent of the total and foldable.
* **The paper's convention**, what the authors' hook-based summary printed (the "GFLOPs" of the
  Simple Baselines and HRNet tables): every Conv*-named module charged its whole weight tensor
  at every *output* pixel, Linear in x out per output row, summed and divided by 1024**3.
  For a transposed convolution of stride 2 that is 4x its true cost, and the divisor is a GiB
  rather than 1e9.

Meta tensors carry shapes but no data, so counting R152 at 384x288 costs milliseconds.

`describe_source` (one model from a config or a checkpoint) and `format_table` (R18-R152 beside
the paper's figures) are what `simplepose info` prints.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import torch
from torch import nn

from ..config import ConfigError, DataConfig, build_model_kwargs, load_config
from ..core.per_layer import collapse_per_layer
from .build import build_network
from .hrnet import PoseHighResolutionNet
from .model import RESNET_SPECS, PoseResNet
from .weights import load_checkpoint

#: Parts of a PoseResNet, by module-name prefix; everything else is the backbone.
HEAD_PARTS = ("deconv_layers", "final_layer")
GIB = 1024**3
#: The paper's Table (COCO, 17 joints): (depth, h, w) -> (params in M, "GFLOPs").
PAPER_FIGURES: dict[tuple[int, int, int], tuple[float, float]] = {
    (50, 256, 192): (34.0, 8.9),
    (101, 256, 192): (53.0, 12.4),
    (152, 256, 192): (68.6, 15.7),
    (50, 384, 288): (34.0, 20.0),
    (101, 384, 288): (53.0, 27.9),
    (152, 384, 288): (68.6, 35.3),
}
TABLE_SIZES = ((256, 192), (384, 288))  # (h, w)
CONFIG_SUFFIXES = (".yaml", ".yml")


@dataclass
class Cost:
    """Counts for one model and input size (h, w); macs/params are split by part name."""

    input_hw: tuple[int, int]
    output_shape: tuple[int, ...]
    params: dict[str, int] = field(default_factory=dict)  # part -> parameter count
    macs: dict[str, int] = field(default_factory=dict)  # part -> true multiply-adds
    paper_macs: int = 0  # the authors' convention, before dividing by 1024**3

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    @property
    def total_macs(self) -> int:
        return sum(self.macs.values())

    @property
    def paper_gflops(self) -> float:
        """The figure the paper's tables print ("GFLOPs")."""
        return self.paper_macs / GIB


def _part(name: str) -> str:
    top = name.split(".", 1)[0]
    return top if top in HEAD_PARTS else "backbone"


def true_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    """Multiply-adds of one conv / transposed conv / linear call (0 for other modules)."""
    if isinstance(module, nn.ConvTranspose2d):
        # weight (Cin, Cout/groups, k, k): each input value meets Cout/groups * k * k weights.
        return inp.numel() * module.weight[0].numel()
    if isinstance(module, nn.Conv2d):
        # weight (Cout, Cin/groups, k, k): each output value needs Cin/groups * k * k products.
        return out.numel() * module.weight[0].numel()
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    return 0


def paper_macs(module: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> int:
    """The authors' per-module charge: whole weight x output pixels (convs), in x out (linear)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        return module.weight.numel() * out[0, 0].numel()
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    return 0


def _pair(size: Sequence[int]) -> tuple[int, int]:
    """A config's (w, h) input size as the pair of ints the counts take."""
    return int(size[0]), int(size[1])


def count_cost(model: nn.Module, input_hw: tuple[int, int] = (256, 192)) -> Cost:
    """Parameters and multiply-adds of `model` for one (1, 3, h, w) input.

    The model is copied to the meta device (the original is untouched), so no data moves.
    """
    meta = copy.deepcopy(model).to("meta").eval()
    cost = Cost(input_hw=(int(input_hw[0]), int(input_hw[1])), output_shape=())
    for name, p in meta.named_parameters():
        cost.params[_part(name)] = cost.params.get(_part(name), 0) + p.numel()

    handles = []
    for name, module in meta.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):

            def hook(m: nn.Module, args: tuple, out: torch.Tensor, part: str = _part(name)) -> None:
                if out.shape[0] != 1:
                    raise ValueError("count_cost expects a batch of one")
                cost.macs[part] = cost.macs.get(part, 0) + true_macs(m, args[0], out)
                cost.paper_macs += paper_macs(m, args[0], out)

            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = meta(torch.empty(1, 3, *input_hw, device="meta"))
    finally:
        for h in handles:
            h.remove()
    cost.output_shape = tuple(out.shape)
    return cost


def model_from_source(
    source: str | None = None, overrides: Iterable[str] = (), style: str | None = None, trusted: bool = False
) -> tuple[nn.Module, tuple[int, int], str]:
    """(model, input (w, h), where it came from) for a YAML config, a checkpoint, or None.

    None means the default config (the paper's R50 at 256x192). A config's model is built on
    the meta device: counting needs shapes only. A checkpoint is read with
    `weights.load_checkpoint` (`style` and `trusted` as there); one without a stored config
    (the official files) gets the default input size.
    """
    if source is None or Path(source).suffix.lower() in CONFIG_SUFFIXES:
        cfg = load_config(source, overrides)
        with torch.device("meta"):  # shapes only: nothing to allocate or initialise for real
            model = build_network(**build_model_kwargs(cfg.model))
        return model, _pair(cfg.data.input_size), source or "default config"
    if list(overrides):
        raise ConfigError("--set applies to configs; a checkpoint's architecture comes from the file")
    loaded = load_checkpoint(source, trusted=trusted, style=style)
    if loaded.config is not None:
        return loaded.model, _pair(loaded.config.data.input_size), source
    # Official checkpoints carry no input size: fall back to the default (COCO 192x256).
    return loaded.model, _pair(DataConfig().input_size), f"{source} (no stored config)"


def _title(arch: dict[str, object]) -> str:
    """The architecture line's opening: "PoseResNet-50 (pytorch style" or "HRNet-W32 (modules 1/4/3"."""
    if arch.get("backbone") == "hrnet":
        modules = "/".join(str(m) for m in cast(Iterable[int], arch["stage_modules"]))
        return (
            f"HRNet-W{arch['width']} (modules {modules}, {arch['stage_blocks']} blocks per branch), "
            f"{arch['num_joints']} joints, no deconv, final {arch['final_conv_kernel']}x{arch['final_conv_kernel']}"
        )
    return (
        f"PoseResNet-{arch['depth']} ({arch['style']} style"
        f"{'' if arch['width'] == 64 else ', width ' + str(arch['width'])}"
        f"{'' if arch.get('output_stride', 32) == 32 else ', output stride ' + str(arch['output_stride'])}), "
        f"{arch['num_joints']} joints, "
        f"deconv {arch['num_deconv_layers']} x {collapse_per_layer(cast(Sequence[int], arch['deconv_filters']))} "
        f"k{collapse_per_layer(cast(Sequence[int], arch['deconv_kernels']))}, "
        f"final {arch['final_conv_kernel']}x{arch['final_conv_kernel']}"
    )


def describe(model: PoseResNet | PoseHighResolutionNet, input_hw: tuple[int, int], what: str = "") -> str:
    """Several lines: architecture, parameters, true MACs by part, the paper's convention."""
    c = count_cost(model, input_hw)
    arch = model.architecture()
    h, w = input_hw
    head_p = c.params.get("deconv_layers", 0) + c.params.get("final_layer", 0)
    head_m = c.macs.get("deconv_layers", 0) + c.macs.get("final_layer", 0)
    lines = [
        f"{what}: {_title(arch)}",
        f"input {w}x{h} (w x h) -> heatmaps {c.output_shape[3]}x{c.output_shape[2]}",
        f"parameters        {c.total_params / 1e6:8.3f} M  (backbone {c.params.get('backbone', 0) / 1e6:.3f} M, "
        f"head {head_p / 1e6:.3f} M)",
        f"multiply-adds     {c.total_macs / 1e9:8.3f} G  (backbone {c.macs.get('backbone', 0) / 1e9:.3f} G, "
        f"head {head_m / 1e9:.3f} G = deconv {c.macs.get('deconv_layers', 0) / 1e9:.3f} "
        f"+ final {c.macs.get('final_layer', 0) / 1e9:.3f})",
        f'paper convention  {c.paper_gflops:8.2f} "GFLOPs" (transposed convs charged per output pixel, '
        f"/ 1024^3; the figure of the paper's table)",
    ]
    return "\n".join(lines)


def describe_source(
    source: str | None = None,
    overrides: Iterable[str] = (),
    input_size: Sequence[int] | None = None,
    style: str | None = None,
    trusted: bool = False,
) -> str:
    """`describe` of the model in `source` (see `model_from_source`) at `input_size` (w, h),
    by default the input size its config gives."""
    model, input_wh, what = model_from_source(source, overrides, style, trusted)
    assert isinstance(model, (PoseResNet, PoseHighResolutionNet)), type(model)  # the only networks built
    if input_size:
        input_wh = (int(input_size[0]), int(input_size[1]))
    return describe(model, (input_wh[1], input_wh[0]), what)


def table_rows() -> list[dict[str, object]]:
    """One row per depth and size: measured figures and the paper's (None where it gives none)."""
    rows = []
    for depth in RESNET_SPECS:
        with torch.device("meta"):
            model = PoseResNet(depth=depth, num_joints=17)
        for h, w in TABLE_SIZES:
            c = count_cost(model, (h, w))
            paper = PAPER_FIGURES.get((depth, h, w), (None, None))
            rows.append(
                dict(
                    depth=depth,
                    size=f"{h}x{w}",
                    params_m=c.total_params / 1e6,
                    gmacs=c.total_macs / 1e9,
                    head_gmacs=(c.total_macs - c.macs["backbone"]) / 1e9,
                    paper_convention=c.paper_gflops,
                    paper_params_m=paper[0],
                    paper_gflops=paper[1],
                )
            )
    return rows


def format_table() -> str:
    """`table_rows` as the text table `simplepose info --table` prints."""

    def fmt(v: object, spec: str) -> str:
        return "-" if v is None else format(v, spec)

    header = (
        f"{'model':<8}{'input':>9}{'params M':>10}{'paper M':>9}{'true GMACs':>12}"
        f"{'(head)':>8}{'paper conv.':>13}{'paper GFLOPs':>14}"
    )
    lines = [header, "-" * len(header)]
    for r in table_rows():
        lines.append(
            f"{'R' + str(r['depth']):<8}{r['size']:>9}{r['params_m']:>10.2f}"
            f"{fmt(r['paper_params_m'], '.1f'):>9}{r['gmacs']:>12.2f}{r['head_gmacs']:>8.2f}"
            f"{r['paper_convention']:>13.2f}{fmt(r['paper_gflops'], '.1f'):>14}"
        )
    lines.append(
        "true GMACs: multiply-adds / 1e9 of convs, transposed convs and linears (head = deconvs + "
        "final conv); paper conv.: the authors' counter (transposed convs charged per output "
        "pixel, / 1024^3). K = 17 joints."
    )
    return "\n".join(lines)
