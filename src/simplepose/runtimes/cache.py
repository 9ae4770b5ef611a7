"""`auto`'s decisions and its ONNX export kept on disk, so the next process reuses them.

Layout: `zoo.cache_dir()/runtimes/<model digest>/model.onnx` (the BN-folded fp32 export of those
weights) and `.../<signature>.json` (a `Decision`: which runtimes won at that speed signature,
their crops/s, eager's, and how long each takes to load from the file). The model digest covers
the weights; the signature covers what speed depends on (architecture, input and batch size,
threads, CPU, package versions). A decision is written only after its runtimes were checked
against eager fp32 on these very weights, so a process that reads it skips the check, the
export and the timing. Any file that cannot be read or written is ignored: the cache only saves time.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
from torch import nn

from ..fileio import atomic_write_json
from ..hardware import cpu_features

#: Bumped when the meaning of a cached file changes.
CACHE_VERSION = 1


@dataclass
class Decision:
    """kept: the runtimes `auto` keeps (two = a switch at `threshold` crops per call);
    rates: crops/s of each kept runtime at a batch of 2 (one crop and its mirror);
    eager_rate: eager fp32's crops/s at 2; load_seconds: each kept runtime's build from the file."""

    kept: Tuple[str, ...]
    threshold: int = 0
    rates: Dict[str, float] = field(default_factory=dict)
    eager_rate: float = 0.0
    load_seconds: Dict[str, float] = field(default_factory=dict)

    def cheaper_than_eager(self, crops: int) -> bool:
        """Whether loading the kept runtime and running `crops` crops on it beats eager (which
        loads nothing); True when the figures are missing."""
        first = self.kept[0]
        if not crops or not self.eager_rate or not self.rates.get(first):
            return True
        own = sum(self.load_seconds.get(k, 0.0) for k in self.kept) + crops / self.rates[first]
        return own < crops / self.eager_rate


def runtimes_dir() -> Path:
    from ..zoo import cache_dir

    return cache_dir() / "runtimes"


def model_digest(model: nn.Module) -> str:
    """A digest of the weights (parameters and buffers): names, shapes, the float64 sum of each
    tensor (every element counts) and a 1-in-61 sample of its bytes. Hashing all 100 MB of a
    ResNet-50 takes ~0.12 s here, a large part of the time a one-photo run may add to eager."""
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for name, t in model.state_dict().items():
        a = t.detach().cpu().contiguous().numpy().reshape(-1)
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(np.float64(a.sum(dtype=np.float64) if a.dtype.kind == "f" else a.sum()).tobytes())
        h.update(np.ascontiguousarray(a[::61]).tobytes())
    return h.hexdigest()[:20]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def signature_name(signature: tuple) -> str:
    """A file name for a speed signature on this CPU with these package versions."""
    text = repr((signature, cpu_features().summary(), *(_version(p) for p in ("torch", "onnxruntime", "openvino"))))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def export_file(digest: str) -> Path:
    return runtimes_dir() / digest / "model.onnx"


def save_export(digest: str, data: bytes) -> Optional[Path]:
    """Write the export (atomically); its path, or None where the cache is not writable."""
    from ..fileio import atomic_write_bytes

    path = export_file(digest)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    except OSError:
        return None
    return path


def load_decision(digest: str, signature: tuple) -> Optional[Decision]:
    path = runtimes_dir() / digest / f"{signature_name(signature)}.json"
    try:
        raw = json.loads(path.read_text())
        return Decision(tuple(raw["kept"]), int(raw["threshold"]), dict(raw["rates"]), float(raw["eager_rate"]),
                        dict(raw["load_seconds"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_decision(digest: str, signature: tuple, decision: Decision) -> None:
    path = runtimes_dir() / digest / f"{signature_name(signature)}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, asdict(decision), indent=1)
    except OSError:
        pass
