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
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Dict, Tuple

import torch
from torch import nn

#: Parts of a PoseResNet, by module-name prefix; everything else is the backbone.
HEAD_PARTS = ("deconv_layers", "final_layer")
GIB = 1024 ** 3


@dataclass
class Cost:
    """Counts for one model and input size (h, w); macs/params are split by part name."""

    input_hw: Tuple[int, int]
    output_shape: Tuple[int, ...]
    params: Dict[str, int] = field(default_factory=dict)  # part -> parameter count
    macs: Dict[str, int] = field(default_factory=dict)  # part -> true multiply-adds
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


def count_cost(model: nn.Module, input_hw: Tuple[int, int] = (256, 192)) -> Cost:
    """Parameters and multiply-adds of `model` for one (1, 3, h, w) input.

    The model is copied to the meta device (the original is untouched), so no data moves.
    """
    meta = copy.deepcopy(model).to("meta").eval()
    cost = Cost(input_hw=tuple(input_hw), output_shape=())
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
