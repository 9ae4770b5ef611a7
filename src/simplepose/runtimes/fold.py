"""BatchNorm folding: an inference copy of a model with every BatchNorm merged into the
convolution (or transposed convolution) that feeds it.

In eval mode a BatchNorm is a per-channel affine map, y = a * x + b with
a = gamma / sqrt(running_var + eps) and b = beta - a * running_mean, so it can be merged into
the preceding layer's weight and bias: one pass over the activations fewer, and the same
arithmetic up to float rounding. The per-output-channel scale goes along the weight's *output*
dimension, which is dim 0 for Conv2d (out, in/groups, kh, kw) but dim 1 for ConvTranspose2d
(in, out/groups, kh, kw). Folding a transposed conv along dim 0 is what inductor's freezing
pass got wrong (about 11% output error on R50's square 256->256 deconvolutions, where both
dimensions have the same size and nothing fails loudly); tests/test_runtimes.py compares
every fast path with eager fp32 on a model with random BN statistics to catch exactly that.
"""

from __future__ import annotations

import copy
from collections import Counter

import torch
from torch import fx, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)  # all eval-mode affine maps
FOLDABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def output_channel_scale(weight: torch.Tensor, scale: torch.Tensor, transposed: bool, groups: int) -> torch.Tensor:
    """`weight` with output channel o multiplied by `scale[o]` (scale: (out,)).

    Conv weight (out, in/groups, *k): scale along dim 0. Transposed-conv weight
    (in, out/groups, *k): output channel o = g * out/groups + j lives in group g's rows at
    column j, so the scale is reshaped to (groups, 1, out/groups, 1, ...) over the weight
    viewed as (groups, in/groups, out/groups, *k).
    """
    k = [1] * (weight.dim() - 2)
    if not transposed:
        return weight * scale.reshape(-1, 1, *k)
    cin, cout_g = weight.shape[0], weight.shape[1]
    grouped = weight.reshape(groups, cin // groups, cout_g, *weight.shape[2:])
    return (grouped * scale.reshape(groups, 1, cout_g, *k)).reshape(weight.shape)


def folded_parameters(conv: _ConvNd, bn: _BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of one conv equal to `bn(conv(x))` in eval mode; conv and bn unchanged.

    Computed in float64 and returned in the conv's dtype: the fold itself adds no rounding.
    """
    transposed = isinstance(conv, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d))
    running_mean, running_var = bn.running_mean, bn.running_var
    if running_mean is None or running_var is None:
        raise ValueError("folded_parameters: the BatchNorm keeps no running statistics (track_running_stats=False)")
    with torch.no_grad():
        std = torch.sqrt(running_var.double() + bn.eps)
        gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(std)
        beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(std)
        scale = gamma / std
        bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(std)
        weight = output_channel_scale(conv.weight.double(), scale, transposed, conv.groups)
        new_bias = (bias - running_mean.double()) * scale + beta
    dtype = conv.weight.dtype
    return weight.to(dtype), new_bias.to(dtype)


def fold_batchnorm(model: nn.Module) -> fx.GraphModule:
    """An eval-mode copy of `model` with each BatchNorm that follows a conv folded into it.

    The model is traced with torch.fx; a BatchNorm is folded when its input is the output of
    a conv that is called only there and read by nothing else (a conv output that also feeds
    a residual sum must keep its own value). Other BatchNorms stay. `model` itself is not changed. Input and output
    shapes are the model's own: (N, 3, H, W) -> (N, K, h, w) for PoseResNet.
    """
    source = copy.deepcopy(model).eval()
    gm = fx.symbolic_trace(source)
    modules = dict(gm.named_modules())
    # A conv module called at several places cannot take one call's BatchNorm.
    calls = Counter(n.target for n in gm.graph.nodes if n.op == "call_module")
    for node in list(gm.graph.nodes):
        if node.op != "call_module":
            continue
        bn = modules[str(node.target)]
        prev = node.args[0]
        if not (isinstance(bn, BATCHNORMS) and isinstance(prev, fx.Node) and prev.op == "call_module"):
            continue
        conv = modules[str(prev.target)]  # a module of the private copy: changed in place
        if not (
            len(prev.users) == 1
            and calls[prev.target] == 1
            and isinstance(conv, FOLDABLE)
            and bn.track_running_stats
            and bn.running_mean is not None
        ):
            continue
        weight, bias = folded_parameters(conv, bn)
        conv.weight = nn.Parameter(weight, requires_grad=False)
        conv.bias = nn.Parameter(bias, requires_grad=False)
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
    gm.graph.eliminate_dead_code()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm.eval()


def count_batchnorms(model: nn.Module) -> int:
    """BatchNorm layers left in `model` (0 after folding a PoseResNet)."""
    return sum(isinstance(m, BATCHNORMS) for m in model.modules())


def fold_or_copy(model: nn.Module) -> nn.Module:
    """`fold_batchnorm(model)`, or an unfolded eval-mode copy where torch.fx cannot trace the
    model (Python control flow on tensor values): folding is an optimisation, not a must."""
    try:
        return fold_batchnorm(model)
    except Exception:  # noqa: BLE001 - fx raises many error types on user code
        return copy.deepcopy(model).eval()
