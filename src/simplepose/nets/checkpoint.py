"""Checkpoints: atomic writing, the project's own self-describing format, and release files.

A simplepose checkpoint is a dict saved with `torch.save`:
    {"format": "simplepose", "version": 1, "config": <config_to_dict(cfg)>,
     "state_dict": <model state>, ...training state ("optimizer", "scheduler", "scaler",
     "epoch", "rng", "best", ...) when written by the training engine}
so that `load_checkpoint(path)` rebuilds the model alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..config import Config, config_to_dict
from ..core.fileio import atomic_write
from ..core.version import VERSION_KEY, package_version

FORMAT = "simplepose"
VERSION = 1


def atomic_save(obj: Any, path: str | Path) -> None:
    """`torch.save` atomically: a run killed mid-write leaves the previous file intact."""
    atomic_write(path, lambda f: torch.save(obj, f))


def save_checkpoint(path: str | Path, model: torch.nn.Module, config: Config, **state: Any) -> None:
    """Write a self-describing checkpoint: model weights, the config, and any extra state."""
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        VERSION_KEY: package_version(),  # which simplepose wrote it
        "config": config_to_dict(config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    payload.update(state)
    atomic_save(payload, path)


def save_release(
    path: str | Path, checkpoint: dict[str, Any], dtype: torch.dtype = torch.float16, **info: Any
) -> dict[str, Any]:
    """A release file from a training checkpoint: weights (floating tensors stored as `dtype`),
    the config, and `info` (how it was trained); no optimizer or RNG state.

    It loads with the same safe loader as every checkpoint; `load_state_dict` copies the
    stored values into the fp32 model, so the model a user gets is exactly the one the
    release's figures were measured with (measure them from the release file, not from the
    fp32 checkpoint). Returns what was written.
    """
    if checkpoint.get("format") != FORMAT:
        raise ValueError("a release is made from a simplepose training checkpoint (format 'simplepose')")
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "config": checkpoint["config"],
        "state_dict": {k: v.to(dtype) if v.is_floating_point() else v for k, v in checkpoint["state_dict"].items()},
        "release": {**info, VERSION_KEY: package_version()},
    }
    atomic_save(payload, path)
    return payload
