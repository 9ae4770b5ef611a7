"""Weights from files: safe reading, state-dict extraction, architecture inference, loading.

Four kinds of file are understood:
  * the official Simple Baselines checkpoints (`pose_resnet_50_256x192.pth.tar` and
    siblings): a bare state dict, or the training code's `{"state_dict": ..., "epoch": ...}`
    with keys prefixed `module.` (saved from DataParallel);
  * mmpose's SimpleBaseline checkpoints (`{"meta", "state_dict"}`, legacy pickle, keys
    prefixed `backbone.` / `head.`): they load with mmpose's RGB input and decoder
    (`foreign.py`), the input size read from the file name when it says it;
  * ImageNet ResNets in torchvision's format (`resnet50-19c8e357.pth`), backbone only;
  * the project's own checkpoints (`format: simplepose`, see `checkpoint.py`), which carry
    their config.

Reading is safe by default (`torch.load(..., weights_only=True)`, with numpy's array
rebuilding allowed for the arrays in mmpose's `meta`): a file that needs full unpickling, which
can run arbitrary code, is refused unless the caller passes `trusted=True` (`--trusted` on the
command line).

`load_checkpoint(path)` is the one entry point that predict, eval, track and info use.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import torch

from ..config import Config, build_model_kwargs, config_from_dict
from ..core.per_layer import collapse_per_layer
from .build import build_network
from .checkpoint import FORMAT
from .foreign import input_size_from_name, numpy_globals, pose_config, strip_mmpose_keys
from .hrnet import PRETRAINED_LAYERS, PoseHighResolutionNet
from .model import RESNET_SPECS

PathLike = Union[str, Path]
StateDict = dict[str, torch.Tensor]

#: How the formats `torch.save` has written begin: a zip archive (PyTorch >= 1.6), a pickle
#: stream (the legacy format up to 1.5, opening with the PROTO opcode), and, before 0.2, a tar.
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTO = 0x80
_TAR_MAGIC, _TAR_OFFSET = b"ustar", 257

#: Prefixes wrappers add to every key: DataParallel / DDP, then torch.compile.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_BACKBONE_PREFIXES = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")


class WeightsError(ValueError):
    """A weights file that cannot be read, or whose content does not fit the model."""


def read_weights_file(path: PathLike, trusted: bool = False, map_location: Any = "cpu") -> Any:
    """`torch.load` a file safely; every failure becomes one clear error naming the file.

    With `trusted=False` (the default) only tensors and plain containers are unpickled
    (`weights_only=True`); a file holding other Python objects raises `WeightsError` saying
    which object and how to opt in. Truncated, empty or foreign files raise `WeightsError`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    with open(path, "rb") as f:
        head = f.read(_TAR_OFFSET + len(_TAR_MAGIC))
    if not head:
        raise WeightsError(f"{path}: the file is empty")
    if not (head.startswith(_ZIP_MAGIC) or head[0] == _PICKLE_PROTO or head[_TAR_OFFSET:] == _TAR_MAGIC):
        raise WeightsError(
            f"{path}: not a PyTorch weights file (it starts with {head[:8]!r}, "
            "neither a torch.save zip archive nor a legacy torch pickle)"
        )
    try:
        if trusted:
            return torch.load(path, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(numpy_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
        if not trusted and found:
            raise WeightsError(
                f"{path}: the file holds a Python object ({found.group(1)}) that only full unpickling "
                "can rebuild, and full unpickling can run arbitrary code. If you trust where the "
                "file came from, load it with trusted=True (command line: --trusted)"
            ) from None
        detail = re.search(r"WeightsUnpickler error: *\n*(.+)", str(e))
        hint = "" if trusted else "; if you trust the file, full unpickling may read it (trusted=True, --trusted)"
        raise WeightsError(
            f"{path}: corrupted, or not a PyTorch weights file "
            f"({detail.group(1).strip() if detail else _first_line(e)}){hint}"
        ) from None
    except (RuntimeError, EOFError, KeyError, ValueError, OSError) as e:
        # Zip central directory missing, unexpected EOF, ...: a truncated or damaged file.
        raise WeightsError(f"{path}: truncated or corrupted weights file ({_first_line(e)})") from None


def extract_state_dict(obj: Any, source: str = "<object>") -> StateDict:
    """The state dict inside a loaded file, without the prefixes wrappers add.

    The prefixes are `module.` (DataParallel, DDP) and `_orig_mod.` (torch.compile). Accepts a
    bare state dict, or a dict holding one under `state_dict` or `model` (a non-mapping `model`
    entry, such as the official trainer's model-name string, is skipped).
    """
    sd = obj
    if isinstance(obj, dict) and not _all_tensors(obj):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                sd = obj[key]
                break
        else:
            raise WeightsError(
                f"{source}: no state dict found (top-level keys: {_preview(obj)}); "
                "expected a bare state dict or a dict with 'state_dict' or 'model'"
            )
    if not isinstance(sd, dict) or not sd:
        raise WeightsError(f"{source}: expected a state dict (name -> tensor), got {type(sd).__name__}")
    out: StateDict = {}
    for key, value in sd.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise WeightsError(f"{source}: state dict entry {key!r} is {type(value).__name__}, not a tensor")
        for prefix in _WRAPPER_PREFIXES:
            key = key[len(prefix) :] if key.startswith(prefix) else key
        out[key] = value
    return out


def backbone_depth(sd: StateDict, source: str = "<state dict>") -> int:
    """ResNet depth from the block type (conv3 present = Bottleneck) and blocks per stage."""
    if "conv1.weight" not in sd or "layer1.0.conv1.weight" not in sd:
        raise WeightsError(
            f"{source}: not a ResNet state dict (no conv1.weight / layer1.0.conv1.weight; keys: {_preview(sd)})"
        )
    kind = "bottleneck" if "layer1.0.conv3.weight" in sd else "basic"
    counts = []
    for stage in range(1, 5):
        blocks = {int(m.group(1)) for k in sd for m in [re.match(rf"layer{stage}\.(\d+)\.", k)] if m}
        counts.append(len(blocks))
    for depth, spec in RESNET_SPECS.items():
        if spec == (kind, tuple(counts)):
            return depth
    raise WeightsError(
        f"{source}: {kind} blocks per stage {tuple(counts)} match no supported ResNet depth {sorted(RESNET_SPECS)}"
    )


def infer_architecture(sd: StateDict, style: str = "pytorch", source: str = "<state dict>") -> dict[str, Any]:
    """PoseResNet keyword arguments that fit a pose state dict (keys without `module.`).

    Depth comes from the blocks, the width from conv1's output channels, the head from
    `deconv_layers.*` (ConvTranspose2d weights are
    (in, out, k, k); every layer is weight/BN/ReLU, so layer i sits at index 3i) and the joints
    and final kernel from `final_layer.weight` (K, C, k, k). `style` cannot be inferred: the
    two styles have identical keys and shapes and differ only in where a Bottleneck strides,
    so it is the caller's to give (the official COCO/MPII releases are "pytorch").
    """
    if "transition1.0.0.weight" in sd:
        return hrnet_architecture(sd, source)
    depth = backbone_depth(sd, source)
    final = sd.get("final_layer.weight")
    if final is None or final.dim() != 4:
        raise WeightsError(
            f"{source}: no final_layer.weight, so not a pose model "
            "(an ImageNet backbone loads with load_imagenet_backbone or model.pretrained)"
        )
    filters: list[int] = []
    kernels: list[int] = []
    while f"deconv_layers.{3 * len(filters)}.weight" in sd:
        i = 3 * len(filters)
        w = sd[f"deconv_layers.{i}.weight"]
        if f"deconv_layers.{i}.bias" in sd:
            raise WeightsError(
                f"{source}: deconv_layers.{i} has a bias; deconvolutions with bias (DECONV_WITH_BIAS) are not supported"
            )
        filters.append(int(w.shape[1]))
        kernels.append(int(w.shape[2]))
    return dict(
        depth=depth,
        num_joints=int(final.shape[0]),
        num_deconv_layers=len(filters),
        deconv_filters=collapse_per_layer(filters, 256),
        deconv_kernels=collapse_per_layer(kernels, 4),
        final_conv_kernel=int(final.shape[2]),
        style=style,
        width=int(sd["conv1.weight"].shape[0]),
    )


def hrnet_architecture(sd: StateDict, source: str = "<state dict>") -> dict[str, Any]:
    """PoseHighResolutionNet keyword arguments that fit an HRNet pose state dict.

    The width is `transition1.0.0`'s output channels (the 1/4 branch), modules per stage the
    distinct `stage{s}.{m}.` indices, blocks per branch those of `stage2.0.branches.0`; the
    joints and final kernel come from `final_layer.weight` (K, C, k, k).
    """
    final = sd.get("final_layer.weight")
    if final is None or final.dim() != 4 or final.shape[1] != sd["transition1.0.0.weight"].shape[0]:
        raise WeightsError(
            f"{source}: an HRNet without a pose final_layer (K, width, k, k); an ImageNet HRNet "
            "loads with model.pretrained"
        )
    modules = []
    for stage in (2, 3, 4):
        modules.append(len({int(m.group(1)) for k in sd for m in [re.match(rf"stage{stage}\.(\d+)\.", k)] if m}))
    blocks = len({int(m.group(1)) for k in sd for m in [re.match(r"stage2\.0\.branches\.0\.(\d+)\.", k)] if m})
    return dict(
        backbone="hrnet",
        width=int(sd["transition1.0.0.weight"].shape[0]),
        num_joints=int(final.shape[0]),
        final_conv_kernel=int(final.shape[2]),
        stage_modules=modules,
        stage_blocks=blocks,
    )


@dataclass
class BackboneReport:
    """What `load_imagenet_backbone` did: keys loaded, keys ignored (the classifier)."""

    source: str
    depth: int  # 0 for an HRNet
    loaded: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        """One line: the file, how many tensors loaded, which were ignored."""
        if not self.depth:  # an HRNet file's head is hundreds of tensors: name its modules
            modules = _preview(sorted({k.split(".")[0] for k in self.ignored}))
            return f"{self.source}: loaded {len(self.loaded)} HRNet tensors; ignored {len(self.ignored)} ({modules})"
        ignored = ", ".join(self.ignored) if self.ignored else "nothing"
        return f"{self.source}: loaded {len(self.loaded)} ResNet-{self.depth} tensors; ignored {ignored}"


def load_imagenet_backbone(
    model: torch.nn.Module, path: PathLike, trusted: bool = False, layers: Sequence[str] = ()
) -> BackboneReport:
    """Copy an ImageNet ResNet (torchvision format) or HRNet into `model`'s backbone; the head is untouched.

    ResNet: the classifier (`fc.*`) is ignored and listed in the report; a file of another depth,
    a tensor of another shape or any other unexpected key is an error naming it. HRNet: see
    `load_imagenet_hrnet` (`layers` is the official PRETRAINED_LAYERS, empty = all but the head).
    """
    sd = extract_state_dict(read_weights_file(path, trusted), str(path))
    if isinstance(model, PoseHighResolutionNet):
        return load_imagenet_hrnet(model, sd, str(path), layers)
    depth = backbone_depth(sd, str(path))
    if depth != model.depth:
        raise WeightsError(
            f"{path}: the file is a ResNet-{depth} but the model is a ResNet-{model.depth}; "
            f"set model.depth={depth} or use a ResNet-{model.depth} file"
        )
    if model.width != int(sd["conv1.weight"].shape[0]):
        raise WeightsError(
            f"{path}: the file's ResNet has width {int(sd['conv1.weight'].shape[0])} "
            f"(conv1 channels) but the model has width {model.width}; set model.width to match"
        )
    own = model.state_dict()
    report = BackboneReport(str(path), depth)
    for key, value in sd.items():
        if key.startswith("fc."):
            report.ignored.append(key)
            continue
        if key not in own or not key.startswith(_BACKBONE_PREFIXES):
            raise WeightsError(f"{path}: unexpected key {key!r} for a ResNet-{depth} backbone")
        if value.shape != own[key].shape:
            raise WeightsError(
                f"{path}: {key} has shape {tuple(value.shape)}, the model expects {tuple(own[key].shape)}"
            )
        own[key] = value
        report.loaded.append(key)
    missing = [
        k for k in own if k.startswith(_BACKBONE_PREFIXES) and k not in sd and not k.endswith("num_batches_tracked")
    ]  # older files predate this counter
    if missing:
        raise WeightsError(f"{path}: missing backbone tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    model.load_state_dict(own, strict=True)
    return report


def load_imagenet_hrnet(
    model: PoseHighResolutionNet, sd: StateDict, source: str, layers: Sequence[str] = ()
) -> BackboneReport:
    """Load the keys of an ImageNet HRNet file whose first name is in `layers`.

    As the official `init_weights` does (`["*"]`: every key the model has); the rest (the
    classification head: `incre_modules`, `downsamp_modules`, `final_layer`, `classifier`) is
    skipped and reported.

    A file of another width, or a named layer the file lacks, is an error naming it.
    """
    layers = tuple(layers) or PRETRAINED_LAYERS
    own = model.state_dict()
    if "transition1.0.0.weight" not in sd:
        raise WeightsError(f"{source}: not an HRNet file (no transition1.0.0.weight; keys: {_preview(sd)})")
    width = int(sd["transition1.0.0.weight"].shape[0])
    if width != model.width:
        raise WeightsError(
            f"{source}: the file is an HRNet-W{width} but the model is W{model.width}; set model.hrnet_width={width}"
        )
    report = BackboneReport(source, 0)
    for key, value in sd.items():
        take = (layers[0] == "*" and key in own) or key.split(".")[0] in layers
        if not take:
            report.ignored.append(key)
            continue
        if key not in own or value.shape != own[key].shape:
            raise WeightsError(
                f"{source}: {key} {tuple(value.shape)} does not fit the model "
                f"({tuple(own[key].shape) if key in own else 'no such key'})"
            )
        own[key] = value
        report.loaded.append(key)
    missing = [k for k in own if k.split(".")[0] in layers and k not in sd and not k.endswith("num_batches_tracked")]
    if missing:
        raise WeightsError(f"{source}: missing backbone tensors {_preview(missing)}")
    model.load_state_dict(own, strict=True)
    return report


@dataclass
class LoadedCheckpoint:
    """`load_checkpoint`'s result.

    Attributes:
        model: the rebuilt network, in eval mode.
        config: the file's config; None for files that carry none (the official ones).
        format: "simplepose", "mmpose" or "state_dict".
        payload: the whole loaded object (the training state of project checkpoints included).
    """

    model: torch.nn.Module  # PoseResNet or PoseHighResolutionNet
    config: Config | None
    format: str  # "simplepose", "mmpose" or "state_dict"
    payload: Any


def load_checkpoint(
    path: PathLike, trusted: bool = False, style: str | None = None, map_location: Any = "cpu"
) -> LoadedCheckpoint:
    """Rebuild the model stored in `path` without being told its architecture; eval mode.

    Project checkpoints rebuild from their stored config; any other pose state dict (the
    official checkpoints, bare or wrapped, `module.` prefixed or not; mmpose's, which also get
    mmpose's input config) from its keys and shapes. Loading is strict: a missing or
    unexpected key is an error. Old files without BatchNorm's `num_batches_tracked` counters
    load (the counter only matters for momentum=None).

    Args:
        path: the checkpoint file (simplepose, official or mmpose; `.pth`, `.pth.tar`).
        trusted: allow full unpickling (it can run code), as `--trusted`; by default only
            tensors, numpy arrays and plain containers load.
        style: "pytorch" or "caffe" (where a Bottleneck strides), the one thing keys cannot
            tell; None: a project checkpoint's stored config, else "pytorch". A style that
            contradicts the stored config is an error.
        map_location: the device the model is moved to (the file is always read on the CPU).

    Returns:
        LoadedCheckpoint: `.model`, `.config`, `.format` and `.payload`.

    Raises:
        WeightsError: one line naming the file, for a missing, truncated or untrusted file or
            for weights that fit no architecture.
    """
    obj = read_weights_file(path, trusted, map_location="cpu")
    source = str(path)
    sd, mmpose = strip_mmpose_keys(extract_state_dict(obj, source))
    config: Config | None = None
    if mmpose:
        kwargs = infer_architecture(sd, style or "pytorch", source)
        config = pose_config(kwargs, input_size_from_name(source), "rgb", "mmpose", source=source)
        fmt = "mmpose"
    elif isinstance(obj, dict) and obj.get("format") == FORMAT:
        config = config_from_dict(obj.get("config") or {}, f"{source} (stored config)")
        if style is not None and style != config.model.style:
            raise WeightsError(
                f"{source}: style={style!r} given but the checkpoint's config says {config.model.style!r}"
            )
        kwargs = build_model_kwargs(config.model)
        fmt = FORMAT
    else:
        kwargs = infer_architecture(sd, style or "pytorch", source)
        fmt = "state_dict"
    model = build_network(**kwargs)
    load_state_dict_strict(model, sd, source)
    return LoadedCheckpoint(model.to(map_location).eval(), config, fmt, obj)


def load_state_dict_strict(model: torch.nn.Module, sd: StateDict, source: str) -> None:
    """`load_state_dict(strict=True)` that tolerates absent `num_batches_tracked` and explains errors."""
    own = model.state_dict()
    sd = dict(sd)
    for key in own:
        if key.endswith("num_batches_tracked") and key not in sd:
            sd[key] = torch.zeros_like(own[key])
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    wrong = [
        f"{k} {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in sd and sd[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong:
        parts = [
            f"{name}: {_preview(items)}"
            for name, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong))
            if items
        ]
        raise WeightsError(f"{source}: weights do not fit the model ({'; '.join(parts)})")
    model.load_state_dict(sd, strict=True)


def _all_tensors(d: dict) -> bool:
    return bool(d) and all(isinstance(v, torch.Tensor) for v in d.values())


def _preview(items: Any, n: int = 5) -> str:
    items = list(items)
    return ", ".join(map(str, items[:n])) + (f", ... ({len(items)} in all)" if len(items) > n else "")


def _first_line(e: BaseException) -> str:
    """The first sentence of an error: torch's messages go on for a paragraph."""
    text = str(e).strip().splitlines()
    return text[0].split(". ")[0].rstrip(".") if text else type(e).__name__
