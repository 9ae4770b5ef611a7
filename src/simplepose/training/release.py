"""Release files (compact models: fp16 weights + config + how they were trained) and the
model shipped with the package (`src/simplepose/models/`).

The shipped model is trained on synthetic people by `simplepose train`: 45 epochs at 96x64
(`configs/synthetic/shipped_res18_96x64.yaml`, that file stays beside it), then a few minutes at
128x96 on a GPU starting from it (`configs/synthetic/shipped_res18_128x96.yaml`; the README gives
the commands). The demo scores it beside the model it trains itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..nets.checkpoint import save_release
from ..nets.weights import read_weights_file
from .train_log import read_metrics

#: The model shipped with the package: PoseResNet-18 (width 32, 64-filter head) at 128x96,
#: trained on synthetic people.
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "synthetic_res18_128x96.pth"
DTYPES = {"fp16": torch.float16, "fp32": torch.float32}


def training_summary(run_dir: str | Path) -> dict[str, Any]:
    """Epochs, minutes of training and the best val AP from a run's metrics.jsonl (empty if none)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return {}
    rows = read_metrics(path)
    epochs = [r for r in rows if r.get("tag") == "epoch"]
    vals = [r for r in rows if r.get("tag") == "val" and r.get("AP") is not None]
    out: dict[str, Any] = {"epochs": len(epochs), "train_minutes": sum(r.get("seconds", 0.0) for r in epochs) / 60}
    if vals:
        best = max(vals, key=lambda r: r["AP"])
        out.update(val_AP=round(float(best["AP"]), 4), val_epoch=int(best["step"]))
    return out


def started_from(config: dict[str, Any]) -> dict[str, Any]:
    """The release record of the file a fine-tuning run started from (`train.init_from`), so
    that a release says all the training behind it, not only its last run; {} if none."""
    init = str((config.get("train") or {}).get("init_from") or "")
    if not init or not Path(init).is_file():
        return {}
    record = release_info(init)
    return {"file": Path(init).name, **{k: record[k] for k in ("epochs", "train_minutes", "val_AP") if k in record}}


def make_release(checkpoint: str | Path, out: str | Path, dtype: str = "fp16", command: str = "") -> dict[str, Any]:
    """Write the release file of a training checkpoint; returns the training info it records."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
    obj = read_weights_file(checkpoint)
    if not isinstance(obj, dict) or obj.get("format") != "simplepose":
        raise ValueError(f"{checkpoint}: not a simplepose training checkpoint (no 'format': 'simplepose')")
    info = training_summary(Path(checkpoint).parent)
    info.update(checkpoint_epoch=obj.get("epoch"), stored_as=dtype, command=command)
    parent = started_from(obj.get("config") or {})
    if parent:
        info["started_from"] = parent
    save_release(out, obj, DTYPES[dtype], **info)
    return info


def release_info(path: str | Path | None = None) -> dict[str, Any]:
    """The `release` record of a release file (the shipped model's by default)."""
    obj = read_weights_file(path or SHIPPED_MODEL)
    return dict(obj.get("release") or {}) if isinstance(obj, dict) else {}
