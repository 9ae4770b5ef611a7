"""The one function that builds a pose network from keyword arguments.

`config.build_model_kwargs(cfg.model)`, `weights.infer_architecture(state_dict)` and each
network's `architecture()` give plain keyword arguments; a `backbone` entry of "hrnet" picks
`PoseHighResolutionNet`, anything else (absent, "resnet") `PoseResNet`.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .hrnet import PoseHighResolutionNet
from .model import PoseResNet

BACKBONES = ("resnet", "hrnet")


def build_network(**kwargs: Any) -> nn.Module:
    """`PoseResNet(**kwargs)` or, with `backbone="hrnet"`, `PoseHighResolutionNet(**kwargs)`."""
    backbone = kwargs.pop("backbone", "resnet")
    if backbone == "hrnet":
        return PoseHighResolutionNet(**kwargs)
    if backbone != "resnet":
        raise ValueError(f"model.backbone must be one of {', '.join(BACKBONES)}, not {backbone!r}")
    return PoseResNet(**kwargs)


def is_hrnet(model: nn.Module) -> bool:
    return isinstance(model, PoseHighResolutionNet)
