"""Optimizer, learning-rate schedule, loss, mixed precision and RNG helpers for training."""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import TrainConfig
from .loss import JointsMSELoss, JointsOHKMLoss


class StepDecay:
    """lr factor at an epoch: `factor` ** (number of `steps` reached). Picklable for resume."""

    def __init__(self, steps: Sequence[int], factor: float) -> None:
        self.steps, self.factor = tuple(int(s) for s in steps), float(factor)

    def __call__(self, epoch: int) -> float:
        return self.factor ** sum(epoch >= s for s in self.steps)


class CosineDecay:
    """lr factor at an epoch: half a cosine from 1 at epoch 0 to 0 at epoch `epochs`. Picklable."""

    def __init__(self, epochs: int) -> None:
        self.epochs = max(int(epochs), 1)

    def __call__(self, epoch: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(epoch, self.epochs) / self.epochs))


def build_optimizer(model: nn.Module, train: TrainConfig) -> torch.optim.Optimizer:
    if train.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    if train.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=train.lr, momentum=train.momentum, weight_decay=train.weight_decay
        )
    raise ValueError(f"train.optimizer = {train.optimizer!r} is not 'adam' or 'sgd'")


def build_scheduler(
    optimizer: torch.optim.Optimizer, train: TrainConfig, epochs_done: int = 0
) -> torch.optim.lr_scheduler.LambdaLR:
    """The epoch's lr factor, stepped once after each epoch, positioned after `epochs_done`
    epochs (a resumed run; its optimizer state must be loaded first, as it holds `initial_lr`).

    "step": epoch e runs at lr * factor^(number of lr_steps <= e) (the paper's schedule);
    "cosine": epoch e runs at lr * (1 + cos(pi e / epochs)) / 2, which suits short runs such
    as the CPU demo better than one late step.
    """
    factor: StepDecay | CosineDecay
    if train.lr_schedule == "step":
        factor = StepDecay(train.lr_steps, train.lr_factor)
    elif train.lr_schedule == "cosine":
        factor = CosineDecay(train.epochs)
    else:
        raise ValueError(f"train.lr_schedule = {train.lr_schedule!r} is not 'step' or 'cosine'")
    # PyTorch's schedulers take one step at construction: last_epoch = done - 1 lands on `done`.
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor, last_epoch=epochs_done - 1)


def build_loss(train: TrainConfig) -> nn.Module:
    return JointsOHKMLoss(topk=train.ohkm_topk) if train.ohkm else JointsMSELoss(use_target_weight=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every RNG's state as tensors and plain numbers only, so that checkpoints holding it
    still load with `torch.load(weights_only=True)`."""
    state = np.random.get_state(legacy=True)  # legacy=True is the default; numpy's stub assumes False
    assert isinstance(state, tuple)  # the global generator is MT19937, whose legacy state is a tuple
    name, keys, pos, has_gauss, cached = state
    state = {
        "python": random.getstate(),  # (version, tuple of ints, None)
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.int64).astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def autocast(amp: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision: "" off, "bf16" (CPU or CUDA), "fp16" (CUDA only, with a GradScaler)."""
    if not amp:
        return contextlib.nullcontext()
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("train.amp = 'fp16' needs CUDA; use 'bf16' on CPU")
    if amp not in ("bf16", "fp16"):
        raise ValueError(f"train.amp = {amp!r} is not '', 'bf16' or 'fp16'")
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
