"""Experiment configuration: frozen dataclasses, YAML files and `--set key=value` overrides.

A config file is flat YAML with up to five sections (`model`, `data`, `train`, `test`,
`track`); any key left out keeps its default below. Defaults are the paper's COCO
ResNet-50 256x192 recipe. Modules never take the whole config: `build_*` functions translate
the relevant section into plain keyword arguments.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .config_official import official_to_dict
from .core.fileio import ConfigError  # re-exported: callers catch `config.ConfigError`
from .core.suggest import did_you_mean


@dataclass(frozen=True)
class ModelConfig:
    depth: int = 50
    num_joints: int = 17
    num_deconv_layers: int = 3
    deconv_filters: int = 256
    deconv_kernels: int = 4
    final_conv_kernel: int = 1
    style: str = "pytorch"  # where a Bottleneck strides: "pytorch" (3x3) or "caffe" (1x1)
    pretrained: str = ""  # ImageNet ResNet weights: a torchvision-format file, a zoo name (resnet50), or ""
    width: int = 64  # stem/first-stage channels: 64 = standard ResNet (ImageNet weights); 32 for the CPU demo
    output_stride: int = 32  # 32 (paper) or 16: the last stage unstrided (dilated); give it one deconv layer fewer
    # "resnet" (the paper's PoseResNet: depth, width, deconv_* above) or "hrnet" (HRNet: the hrnet_* keys,
    # num_joints and final_conv_kernel; no deconvolutions, heatmaps at 1/4 of the input)
    backbone: str = "resnet"
    hrnet_width: int = 32  # channels of the 1/4 branch: 32 or 48 published; branches have x1, x2, x4, x8
    hrnet_modules: tuple[int, int, int] = (1, 4, 3)  # HighResolutionModules in stages 2, 3, 4 (published)
    hrnet_blocks: int = 4  # BasicBlocks per branch in every module (published)
    # Top-level modules an ImageNet file (model.pretrained) initialises: the official PRETRAINED_LAYERS;
    # empty = every HRNet module but final_layer; ["*"] = every key the file shares with the model
    pretrained_layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "coco"  # coco (any COCO-format keypoints file) | mpii | posetrack
    root: str = ""  # prefix for the relative paths below
    train_ann: str = ""
    train_images: str = ""
    val_ann: str = ""
    val_images: str = ""
    skeleton: str = ""  # built-in skeleton name; "" = from the annotation file / dataset
    input_size: tuple[int, int] = (192, 256)  # (w, h)
    heatmap_size: tuple[int, int] = (48, 64)  # (w, h)
    sigma: float = 2.0
    # The official checkpoints saw BGR pixels normalised with the RGB ImageNet mean/std.
    color: str = "bgr"  # channel order fed to the network: "bgr" (paper) or "rgb"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    scale_factor: float = 0.3  # scale ~ clip(N(1, f), 1 - f, 1 + f)
    rotation_factor: float = 40.0  # rot ~ clip(N(0, r), -2r, 2r) degrees
    rotation_prob: float = 0.6
    flip: bool = True
    half_body: bool = False
    half_body_prob: float = 0.3
    half_body_min_joints: int = 8
    # Train on plain box crops until this fraction of the run (of its epochs, or of its time
    # budget, whichever is further along), then augment as above: a short run from scratch
    # first learns to localise, then to cope with scale and mirror images. 0: from the start.
    augment_from: float = 0.0
    encoding: str = "paper"  # heatmap target: "paper" or "udp"
    workers: int = 2
    cache_images: bool = False  # keep decoded images in memory (tiny datasets, the demo)
    # A broken person record (NaN keypoints, a wrongly sized field) in a COCO-format file:
    # "raise" stops with one line naming it; "skip" leaves it out and counts it.
    on_error: str = "raise"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 140
    batch_size: int = 32  # per process; the paper's 128 is 4 GPUs x 32
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    lr_schedule: str = "step"  # "step" (paper: x lr_factor at each of lr_steps) | "cosine" (to ~0 at the last epoch)
    lr_steps: tuple[int, ...] = (90, 120)
    lr_factor: float = 0.1
    warmup_epochs: float = 0.0
    amp: str = (
        ""  # "" | "bf16" | "fp16" | "auto" (bf16 where native: CUDA with bf16, CPUs with avx512_bf16/amx; else fp32)
    )
    seed: int = 0
    val_every: int = 10
    ohkm: bool = False
    ohkm_topk: int = 8
    sync_bn: bool = False
    max_minutes: float = 0.0  # stop after the epoch in which this much time has passed; 0 = off
    log_every: int = 20
    init_from: str = ""  # checkpoint whose model weights start training (fine-tuning), or ""
    channels_last: bool = False  # NHWC memory layout: about 20% faster convolutions on CPU


@dataclass(frozen=True)
class TestConfig:
    batch_size: int = 64
    flip_test: bool = True
    shift_heatmap: bool = True  # shift the flipped heatmap one pixel right (paper); off under UDP
    decoder: str = "paper"  # "paper" | "dark" | "udp"
    use_gt_boxes: bool = False
    detections: str = ""  # COCO results file of person boxes
    det_score_thresh: float = 0.0
    in_vis_thre: float = 0.2  # joints above this count in the rescoring mean
    oks_thre: float = 0.9
    soft_nms: bool = False
    # How the network runs (simplepose.runtimes):
    # auto | eager | fast | compile | onnx | onnx-int8 | openvino | openvino-int8.
    # auto = the fastest path that matches eager fp32 on this machine (ONNX Runtime fp32 on a
    # CPU without native bf16 when installed, else BN folded + channels-last).
    runtime: str = "auto"
    onnx_model: str = ""  # a .onnx file for runtime onnx / onnx-int8 / openvino(-int8) ("" = export the model at start)
    calibration: str = ""  # folder of images calibrating runtime onnx-int8 / openvino-int8


@dataclass(frozen=True)
class TrackConfig:
    """The pose tracker (paper Algorithm 1). Values the paper leaves open carry their reason."""

    det_score_thresh: float = 0.5  # the paper's detector threshold
    keypoint_thresh: float = 0.4  # joints below are not written (paper); also which joints make boxes and count in OKS
    # Box propagation: joints of frame t-1 moved by optical flow give boxes in frame t.
    propagate: bool = True  # off = detector boxes only (the ablation's first row)
    flow: str = "dis"  # "dis" dense flow (default) or "lk" sparse Lucas-Kanade at the joints
    # OpenCV DIS preset (ultrafast | fast | medium): on the synthetic videos "fast" tracks as
    # well as "medium" (MOTA 92.9 vs 92.7, benchmarks/tracking_ablation.py --fake) at ~6x the speed.
    dis_preset: str = "fast"
    # Flow on frames shrunk to this longer side (0 = full size): PoseTrack's 1920-px frames cost
    # ~9x less at 640 px, and the 15% box enlargement absorbs the ~1-px coarser motion.
    flow_max_side: int = 640
    box_enlarge: float = 0.15  # the propagated joints' box grows by 15% (paper)
    # Score given to a propagated box: the detector threshold, so it ranks below every kept
    # detection in NMS (a fresh detector box wins over a propagated one of the same person).
    propagated_score: float = 0.5
    # Box NMS over detector + propagated boxes: a propagated box of a person the detector
    # found overlaps its box by ~0.7-0.8 IoU after the 15% growth; two people must overlap by
    # more than half before one hides the other (the usual detector NMS value).
    nms_thresh: float = 0.5
    # Poses whose mean joint score is below this are dropped (not tracked, not propagated):
    # poses estimated on background where a propagated box lost its person (left or hidden);
    # real people, even half hidden, score well above it with the paper's models.
    min_pose_score: float = 0.2
    # OKS-NMS over the estimated poses: two boxes on one person give the same pose twice; the
    # paper's COCO pipeline uses 0.9 for the same purpose.
    pose_nms_thresh: float = 0.9
    # Similarity: box_iou | pose_oks | flow_oks | multi_flow_oks (paper's best, default).
    similarity: str = "multi_flow_oks"
    # L_Q, the frames a track stays matchable after it was last seen: 5 bridges an occlusion
    # of up to 4 frames (the tests hide a person for 3); longer queues let a newcomer inherit
    # a stale id and pile up flow drift.
    queue_len: int = 5
    # Multi-frame scores combine by max: a track is as similar as its best recent view; the
    # mean would penalise a person whose older views drifted under the flow.
    multi_frame_combine: str = "max"
    # Greedy matching stops below this: an OKS of 0.2 means joints off by ~1.8 OKS scales on
    # average (different people), while the same person scores ~0.6-0.9 frame to frame; for
    # box IoU the same person at 25-30 fps overlaps far more than 0.2.
    min_similarity: float = 0.2


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    test: TestConfig = field(default_factory=TestConfig)
    track: TrackConfig = field(default_factory=TrackConfig)


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Convert a YAML value to the type of the field's default (tuples from lists)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            value = [value]
        item_type = type(default[0]) if default else type(value[0]) if value else int
        try:
            return tuple(item_type(v) for v in value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a list of {item_type.__name__}, got {value!r}") from None
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if not math.isfinite(number):  # .nan / .inf in YAML: no setting means that
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
        if isinstance(default, int) and not number.is_integer():
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return type(default)(number)
    if isinstance(default, str):
        if value is None:
            return ""
        return str(value)
    return value


#: Settings that take one word of a fixed set, checked with the rest of a config (`--set`
#: included) before any model or data loads. Literal here so that reading a config imports
#: nothing heavy; tests/test_configs.py keeps them equal to the registries they name
#: (`core.codec.ENCODINGS` and `DECODERS`, `tracking.tracker.SIMILARITIES`).
CHOICES: dict[str, tuple[str, ...]] = {
    "data.encoding": ("paper", "udp"),
    "test.decoder": ("dark", "mmpose", "paper", "udp", "udp-dark"),
    "track.similarity": ("box_iou", "flow_oks", "multi_flow_oks", "pose_oks"),
}


def _check_choice(key: str, value: Any, where: str) -> None:
    choices = CHOICES.get(key)
    if choices is not None and value not in choices:
        near = did_you_mean(str(value), choices)
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(choices)}{near}")


def config_from_dict(data: dict[str, Any], source: str = "<dict>") -> Config:
    """Build a Config from nested dicts; unknown sections or keys are errors naming them."""
    sections = {f.name: f for f in dataclasses.fields(Config)}
    kwargs = {}
    for sec, values in (data or {}).items():
        if sec not in sections:
            raise ConfigError(
                f"{source}: unknown section {sec!r}{did_you_mean(str(sec), sections)} (known: {sorted(sections)})"
            )
        cls: Any = sections[sec].default_factory  # every section is a field(default_factory=its class)
        defaults = cls()
        known = {f.name for f in dataclasses.fields(cls)}
        fields_ = {}
        for key, value in (values or {}).items():
            if key not in known:
                near = did_you_mean(f"{sec}.{key}", (f"{sec}.{k}" for k in known))
                raise ConfigError(f"{source}: unknown key {sec}.{key}{near} (known: {sorted(known)})")
            fields_[key] = _coerce(value, getattr(defaults, key), f"{source}: {sec}.{key}")
            _check_choice(f"{sec}.{key}", fields_[key], f"{source}: {sec}.{key}")
        kwargs[sec] = cls(**fields_)
    return Config(**kwargs)


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """Plain nested dicts (tuples as lists), the inverse of `config_from_dict`."""

    def plain(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return {
        sec.name: {k: plain(v) for k, v in dataclasses.asdict(getattr(cfg, sec.name)).items()}
        for sec in dataclasses.fields(cfg)
    }


def parse_overrides(overrides: Iterable[str]) -> dict[str, dict[str, Any]]:
    """["train.lr=5e-4", "data.input_size=[192,256]"] -> {"train": {"lr": 5e-4}, ...}."""
    out: dict[str, dict[str, Any]] = {}
    for item in overrides or ():
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"override {item!r} is not of the form section.key=value")
        key, raw = item.split("=", 1)
        sec, name = key.split(".", 1)
        out.setdefault(sec, {})[name] = yaml.safe_load(raw) if raw != "" else ""
    return out


def check_overrides(overrides: Iterable[str]) -> dict[str, dict[str, Any]]:
    """`parse_overrides`, with every key and value checked on its own (a ConfigError naming the
    override, and the nearest keys for an unknown one): cheap, before any model or data loads."""
    extra = parse_overrides(overrides)
    config_from_dict(extra, "--set")
    return extra


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v or {}) for k, v in (base or {}).items()}
    for sec, values in extra.items():
        out.setdefault(sec, {}).update(values)
    return out


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Config:
    """Read a YAML config (or start from the defaults when `path` is None), then apply overrides."""
    data: dict[str, Any] = {}
    source = "<defaults>"
    extra = check_overrides(overrides)  # a bad --set is named as such, not as the file's fault
    if path is not None:
        source = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except yaml.YAMLError as e:
            # One line: PyYAML's own message spans several, with a caret under the file's text.
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            problem = getattr(e, "problem", None) or " ".join(str(e).split())
            raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
        if data and all(isinstance(k, str) and k.isupper() for k in data):
            # An experiment file of the official code (GPUS, DATASET, MODEL, ...): map it.
            data = official_to_dict(data, source)
    return config_from_dict(merge(data, extra), source)


def build_model_kwargs(model: ModelConfig) -> dict[str, Any]:
    """`nets.build.build_network(**build_model_kwargs(cfg.model))`: a PoseResNet's arguments,
    or with `model.backbone: hrnet` a PoseHighResolutionNet's (`backbone="hrnet"` included)."""
    if model.backbone == "hrnet":
        return dict(
            backbone="hrnet",
            width=model.hrnet_width,
            num_joints=model.num_joints,
            final_conv_kernel=model.final_conv_kernel,
            stage_modules=list(model.hrnet_modules),
            stage_blocks=model.hrnet_blocks,
        )
    if model.backbone != "resnet":
        raise ConfigError(f"model.backbone = {model.backbone!r} is not one of 'resnet', 'hrnet'")
    return dict(
        depth=model.depth,
        num_joints=model.num_joints,
        num_deconv_layers=model.num_deconv_layers,
        deconv_filters=model.deconv_filters,
        deconv_kernels=model.deconv_kernels,
        final_conv_kernel=model.final_conv_kernel,
        style=model.style,
        width=model.width,
        output_stride=model.output_stride,
    )


def resolve_config(
    stored: Config | None,
    config_path: str | None = None,
    overrides: Sequence[str] = (),
    source: str = "checkpoint",
) -> Config:
    """The config of an inference command: checkpoint -> config file -> `--set` overrides.

    `config_path` (a YAML file) replaces the checkpoint's `stored` config when given; the
    overrides go on top of whichever is used. Overrides are checked on their own first, so a
    bad `--set` is reported as such, not as a fault of the checkpoint's stored config.
    """
    extra = check_overrides(overrides)
    if config_path:
        cfg = load_config(config_path, overrides)
    else:
        base = config_to_dict(stored) if stored is not None else {}
        cfg = config_from_dict(merge(base, extra), f"{source} (stored config)")
    note = size_change(stored, cfg, source)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    return cfg


def size_change(stored: Config | None, cfg: Config, source: str = "checkpoint") -> str:
    """One line when `cfg`'s input or heatmap size differs from the one the checkpoint was
    trained at (its `stored` config), else "": the network then sees people at another scale
    than it learned, and its accuracy can fall to nothing without any other sign."""
    if stored is None:
        return ""
    changed = [
        f"data.{name} {_wxh(getattr(cfg.data, name))} (the checkpoint's: {_wxh(getattr(stored.data, name))})"
        for name in ("input_size", "heatmap_size")
        if tuple(getattr(cfg.data, name)) != tuple(getattr(stored.data, name))
    ]
    if not changed:
        return ""
    return (
        f"{source}: the config gives {' and '.join(changed)}; the network was trained at the checkpoint's sizes, "
        "and predicting at others can lose most of its accuracy"
    )


def _wxh(size: Sequence[int]) -> str:
    return "x".join(str(int(v)) for v in size)
