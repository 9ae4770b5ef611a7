"""Training losses on heatmaps: the paper's target-weighted MSE and online hard keypoint mining."""

from __future__ import annotations

import torch
from torch import nn


def _weighted_sq_error(
    pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, use_target_weight: bool
) -> torch.Tensor:
    """0.5 * (w * pred - w * gt)^2 averaged over pixels: (N, K, h, w) -> (N, K)."""
    n, k = pred.shape[:2]
    pred = pred.reshape(n, k, -1).float()  # fp32 loss even under autocast
    target = target.reshape(n, k, -1).float()
    if use_target_weight:
        w = weight.reshape(n, k, 1).float()
        pred, target = pred * w, target * w
    return 0.5 * (pred - target).pow(2).mean(dim=2)


class JointsMSELoss(nn.Module):
    """The paper's loss: 0.5 * mean over batch, joints and pixels of (w*pred - w*gt)^2.

    The official code takes the MSE of each joint over batch and pixels, then averages the
    joints; with equal-sized heatmaps that is the same single mean, computed here at once.

    Args (forward): pred, target (N, K, h, w); target_weight (N, K) or (N, K, 1).
    Returns: a scalar tensor.
    """

    def __init__(self, use_target_weight: bool = True) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        return _weighted_sq_error(pred, target, target_weight, self.use_target_weight).mean()


class JointsOHKMLoss(nn.Module):
    """Online hard keypoint mining: per sample, the mean of its `topk` largest joint losses.

    As the official OHKM loss (HRNet's code): each joint's loss is the pixel mean of
    0.5 * (w*pred - w*gt)^2; the `topk` largest per sample are averaged, then the samples.
    """

    def __init__(self, use_target_weight: bool = True, topk: int = 8) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.topk = int(topk)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        per_joint = _weighted_sq_error(pred, target, target_weight, self.use_target_weight)
        k = min(self.topk, per_joint.shape[1])
        return per_joint.topk(k, dim=1).values.mean()
