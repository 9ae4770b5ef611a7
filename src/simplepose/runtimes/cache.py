"""`auto`'s decisions and its ONNX exports kept on disk, so the next process reuses them.

Layout: `zoo.cache_dir()/runtimes/<model digest>/` holds, for these weights,
  * `export-<W>x<H>-<key>.onnx`: the BN-folded fp32 export at one input size, with
    `export-<W>x<H>-<key>.json`, its manifest: the request it answers (weights digest, input
    size, opset, cache version, torch and onnx versions: everything that shapes the graph;
    `key` is their hash) and the file's sha256 (checked as `zoo.download.check_cached` does:
    re-hashed only when its size or mtime changed). An export is used only when its manifest
    matches the request and the file is intact; otherwise it is written again.
    (Heatmap size and the flip test do not shape it: the graph's output is what the network
    gives for that input, and the mirrored crops run through the same graph.)
  * `<signature>.json`: a `Decision` (which runtimes won at that speed signature, their
    crops/s, eager's, and how long each takes to load from the file), with the signature's
    text stored in it and compared on load. The signature covers what speed depends on
    (architecture, input and batch size (flip test included), device, threads, precision, CPU,
    package versions).
A decision is written only after its runtimes were checked against eager fp32 on these very
weights, so a process that reads it skips the check, the export and the timing. Any file that
cannot be read or written is ignored: the cache only saves time. Folders of an older layout
(cache version 1: `model.onnx` keyed on the weights alone) sit under other digests and are
never read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TypedDict

import numpy as np
from torch import nn

from ..core.fileio import atomic_write_json
from ..core.hardware import cpu_features

#: Bumped when the meaning of a cached file changes (it is part of every digest and key).
CACHE_VERSION = 2
#: The packages whose versions shape an export or a speed decision.
PACKAGES = ("torch", "onnx", "onnxruntime", "openvino", "nncf")


@dataclass
class Decision:
    """kept: the runtimes `auto` keeps (two = a switch at `threshold` crops per call);
    rates: crops/s of each kept runtime at a batch of 2 (one crop and its mirror);
    eager_rate: eager fp32's crops/s at 2; load_seconds: each kept runtime's build from the file."""

    kept: tuple[str, ...]
    threshold: int = 0
    rates: dict[str, float] = field(default_factory=dict)
    eager_rate: float = 0.0
    load_seconds: dict[str, float] = field(default_factory=dict)

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
    ResNet-50 takes ~0.12 s here, a large part of the time a one-photo run may add to eager.
    The structure counts too (`structure_text`): two models with equal weights but another
    stride, padding or setting of their own compute other heatmaps and export other graphs."""
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    h.update(structure_text(model).encode())
    for name, t in model.state_dict().items():
        a = t.detach().cpu().contiguous().numpy().reshape(-1)
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(np.float64(a.sum(dtype=np.float64) if a.dtype.kind == "f" else a.sum()).tobytes())
        h.update(np.ascontiguousarray(a[::61]).tobytes())
    return h.hexdigest()[:20]


_PLAIN = (bool, int, float, str, type(None))


def structure_text(model: nn.Module) -> str:
    """Each submodule's class and its plain settings (ints, floats, strings, tuples of them:
    a conv's stride and padding, a model's own flags), in order; `training` left out."""

    def plain(v: object) -> bool:
        return isinstance(v, _PLAIN) or (isinstance(v, tuple) and all(isinstance(x, _PLAIN) for x in v))

    parts = []
    for name, module in model.named_modules():
        settings = sorted(
            (k, v) for k, v in vars(module).items() if k != "training" and not k.startswith("_") and plain(v)
        )
        parts.append(f"{name}:{type(module).__module__}.{type(module).__qualname__}{settings}")
    return "\n".join(parts)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def library_versions() -> dict[str, str]:
    """{package: version or "-"} of `PACKAGES`."""
    return {p: _version(p) for p in PACKAGES}


def _hash(text: str, n: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def signature_text(signature: tuple) -> str:
    """A speed signature on this CPU with these package versions, as text (stored in a decision)."""
    return repr((CACHE_VERSION, signature, cpu_features().summary(), tuple(library_versions().values())))


def signature_name(signature: tuple) -> str:
    """A file name for a speed signature on this CPU with these package versions."""
    return _hash(signature_text(signature))


# ---------------------------------------------------------------- exports
class ExportRequest(TypedDict):
    """What shapes an export (written into its manifest as JSON)."""

    cache_version: int
    weights: str  # the weights' digest
    input_size: list[int]  # (w, h)
    opset: int
    torch: str
    onnx: str


def export_request(digest: str, input_size: Sequence[int], opset: int) -> ExportRequest:
    """Everything that shapes an export of the weights `digest` (see the module docstring)."""
    versions = library_versions()
    return {
        "cache_version": CACHE_VERSION,
        "weights": digest,
        "input_size": [int(v) for v in input_size],
        "opset": int(opset),
        "torch": versions["torch"],
        "onnx": versions["onnx"],
    }


def export_file(request: ExportRequest) -> Path:
    """Where the export answering `request` lives (its manifest: the same name, `.json`)."""
    w, h = request["input_size"]
    key = _hash(json.dumps(request, sort_keys=True))
    return runtimes_dir() / request["weights"] / f"export-{w}x{h}-{key}.onnx"


def _manifest(path: Path) -> Path:
    return path.with_suffix(".json")


def load_export(request: ExportRequest) -> Path | None:
    """The cached export answering `request`, or None when there is none, its manifest is
    missing or answers another request, or the file is not the one the manifest names."""
    from ..zoo.download import check_cached

    path = export_file(request)
    try:
        manifest = json.loads(_manifest(path).read_text())
        if manifest.get("request") != request or check_cached(path, str(manifest["sha256"])) is not None:
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return path


def save_export(request: ExportRequest, data: bytes) -> Path | None:
    """Write the export and its manifest (atomically); its path, or None where the cache is not writable."""
    from ..core.fileio import atomic_write_bytes
    from ..zoo import ZooError
    from ..zoo.download import record_digest

    path = export_file(request)
    digest = hashlib.sha256(data).hexdigest()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        record_digest(path, digest)
        atomic_write_json(_manifest(path), {"request": request, "sha256": digest}, indent=1)
    except (OSError, ZooError):
        return None
    return path


# ---------------------------------------------------------------- decisions
def load_decision(digest: str, signature: tuple) -> Decision | None:
    """The decision kept for these weights at this speed signature, or None (none, unreadable,
    or written for another signature)."""
    path = runtimes_dir() / digest / f"{signature_name(signature)}.json"
    try:
        raw = json.loads(path.read_text())
        if raw.get("signature") != signature_text(signature):
            return None
        return Decision(
            tuple(raw["kept"]),
            int(raw["threshold"]),
            dict(raw["rates"]),
            float(raw["eager_rate"]),
            dict(raw["load_seconds"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save_decision(digest: str, signature: tuple, decision: Decision) -> None:
    path = runtimes_dir() / digest / f"{signature_name(signature)}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {**asdict(decision), "signature": signature_text(signature)}, indent=1)
    except OSError:
        pass
