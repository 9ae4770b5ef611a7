"""Experiment files of the official code (microsoft/human-pose-estimation.pytorch) -> our config.

`load_config` calls `official_to_dict` when a YAML file's top-level keys are all upper-case
(GPUS, DATASET, MODEL, ...), so `experiments/coco/resnet50/256x192_d256x3_adam_lr1e-3.yaml`
works as it is. Keys that only steer the official scripts (logging, cuDNN, debug images,
GPU ids: use torchrun instead) are accepted and ignored; a key we do not know is an error
naming it, and so is a value we cannot honour (a zip data format, a non-Gaussian target).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

from .core.fileio import ConfigError
from .core.per_layer import collapse_per_layer

Out = dict[str, dict[str, Any]]

#: Keys accepted and ignored, with why.
IGNORED = {
    "GPUS": "devices come from torchrun / CUDA_VISIBLE_DEVICES",
    "AUTO_RESUME": "use --resume",
    "DATA_DIR": "paths are relative to the working directory",
    "OUTPUT_DIR": "use --out",
    "LOG_DIR": "logs go to --out",
    "PRINT_FREQ": "see train.log_every",
    "CUDNN": "cuDNN flags",
    "DEBUG": "debug images",
    "MODEL.INIT_WEIGHTS": "weights are always initialised",
    "MODEL.EXTRA.DECONV_WITH_BIAS": "",
    "DATASET.HYBRID_JOINTS_TYPE": "",
    "TRAIN.SHUFFLE": "training always shuffles",
    "TRAIN.RESUME": "use --resume",
    "TRAIN.CHECKPOINT": "use --resume",
    "TRAIN.GAMMA1": "unused by the official code",
    "TRAIN.GAMMA2": "unused by the official code",
    "TRAIN.BEGIN_EPOCH": "use --resume",
    "TEST.MODEL_FILE": "give the checkpoint to `simplepose eval`",
    "TEST.NMS_THRE": "unused by the official code",
    "TEST.BBOX_THRE": "unused by the official code",
    "TEST.POST_PROCESS": "the paper decoder always applies the quarter-pixel step",
}


def _set(out: Out, dotted: str) -> Callable[[Any], None]:
    sec, key = dotted.split(".")
    return lambda v: out.setdefault(sec, {}).__setitem__(key, v)


def _half_body(out: Out, prob: Any) -> None:
    """DATASET.PROB_HALF_BODY: half-body augmentation on, with that probability, when above 0."""
    _set(out, "data.half_body")(float(prob) > 0)
    _set(out, "data.half_body_prob")(prob)


def _same(values: Any, where: str) -> Any:
    """The official per-layer lists (NUM_DECONV_FILTERS [256, 256, 256]) -> one value."""
    one = collapse_per_layer(values if isinstance(values, (list, tuple)) else [values])
    if isinstance(one, list):  # our config holds one value for all layers
        raise ConfigError(f"{where}: per-layer values {one} differ; only equal values are supported")
    return one


def _require(expected: Any, where: str) -> Callable[[Any], None]:
    def check(v: Any) -> None:
        if v != expected:
            raise ConfigError(f"{where} = {v!r} is not supported (only {expected!r})")

    return check


def _dataset_paths(ds: dict[str, Any], source: str) -> dict[str, Any]:
    """The official folder layouts: COCO annotations/person_keypoints_<set>.json + images/<set>;
    MPII annot/<set>.json + images."""
    name = str(ds.get("DATASET", "coco")).lower()
    train_set, test_set = ds.get("TRAIN_SET", "train2017"), ds.get("TEST_SET", "val2017")
    if name == "coco":
        return dict(
            dataset="coco",
            train_ann=f"annotations/person_keypoints_{train_set}.json",
            train_images=f"images/{train_set}",
            val_ann=f"annotations/person_keypoints_{test_set}.json",
            val_images=f"images/{test_set}",
        )
    if name == "mpii":
        return dict(
            dataset="mpii",
            skeleton="mpii",
            train_ann=f"annot/{train_set}.json",
            train_images="images",
            val_ann=f"annot/{test_set}.json",
            val_images="images",
        )
    raise ConfigError(f"{source}: DATASET.DATASET = {name!r} is not one of 'coco', 'mpii'")


def _hrnet_stages(out: Out, extra: dict[str, Any], source: str) -> None:
    """HRNet's MODEL.EXTRA.STAGE2..4 -> model.hrnet_width / hrnet_modules / hrnet_blocks.

    Our HRNet has the published shape: stage s has s branches of BASIC blocks with channels
    width x 1, 2, 4, 8 summed (FUSE_METHOD SUM), the same block count everywhere; anything else
    is an error naming the key.
    """
    modules: list[int] = []
    blocks: set[int] = set()
    width: Any = None  # the YAML's value, checked below
    for s in (2, 3, 4):
        where = f"{source}: MODEL.EXTRA.STAGE{s}"
        st = extra.get(f"STAGE{s}")
        if not isinstance(st, dict):
            raise ConfigError(f"{where} is missing (an HRNet needs STAGE2, STAGE3 and STAGE4)")
        unknown = sorted(
            set(st) - {"NUM_MODULES", "NUM_BRANCHES", "BLOCK", "NUM_BLOCKS", "NUM_CHANNELS", "FUSE_METHOD"}
        )
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown}")
        channels = list(st.get("NUM_CHANNELS") or [])
        width = width or (channels[0] if channels else None)
        if st.get("NUM_BRANCHES") != s or channels != [int(width or 0) * 2**b for b in range(s)]:
            raise ConfigError(
                f"{where}: NUM_BRANCHES {st.get('NUM_BRANCHES')} with NUM_CHANNELS {channels} is not "
                f"supported (only {s} branches of width x 1, 2, 4, 8 channels)"
            )
        if str(st.get("BLOCK", "BASIC")).upper() != "BASIC" or str(st.get("FUSE_METHOD", "SUM")).upper() != "SUM":
            raise ConfigError(f"{where}: only BLOCK BASIC and FUSE_METHOD SUM are supported")
        blocks.update(st.get("NUM_BLOCKS") or [])
        modules.append(int(st.get("NUM_MODULES", 1)))
    if len(blocks) != 1:
        raise ConfigError(
            f"{source}: MODEL.EXTRA NUM_BLOCKS differ across branches ({sorted(blocks)}); only one count "
            "for all is supported"
        )
    out.setdefault("model", {}).update(
        backbone="hrnet", hrnet_width=int(width or 0), hrnet_modules=modules, hrnet_blocks=int(blocks.pop())
    )


def official_to_dict(data: dict[str, Any], source: str = "<official>") -> Out:
    """Map an official experiment config (nested upper-case dicts) onto our sections."""
    out: Out = {}
    optimizer = str((data.get("TRAIN") or {}).get("OPTIMIZER", "adam")).lower()
    handlers: dict[str, Callable[[Any], None]] = {
        "WORKERS": _set(out, "data.workers"),
        "DATASET.ROOT": _set(out, "data.root"),
        "DATASET.FLIP": _set(out, "data.flip"),
        "DATASET.ROT_FACTOR": _set(out, "data.rotation_factor"),
        "DATASET.SCALE_FACTOR": _set(out, "data.scale_factor"),
        "DATASET.DATA_FORMAT": _require("jpg", f"{source}: DATASET.DATA_FORMAT"),
        "DATASET.SELECT_DATA": _require(False, f"{source}: DATASET.SELECT_DATA"),
        # pose_hrnet: the HRNet experiment files (deep-high-resolution-net.pytorch), the same layout
        "MODEL.NAME": lambda v: _require("pose_resnet", f"{source}: MODEL.NAME")(v) if v != "pose_hrnet" else None,
        "MODEL.PRETRAINED": _set(out, "model.pretrained"),
        "MODEL.IMAGE_SIZE": lambda v: _set(out, "data.input_size")(v if isinstance(v, list) else [v, v]),
        "MODEL.NUM_JOINTS": _set(out, "model.num_joints"),
        # The HRNet files give these at MODEL level, the Simple Baselines ones under MODEL.EXTRA.
        "MODEL.TARGET_TYPE": _require("gaussian", f"{source}: MODEL.TARGET_TYPE"),
        "MODEL.HEATMAP_SIZE": lambda v: _set(out, "data.heatmap_size")(v if isinstance(v, list) else [v, v]),
        "MODEL.SIGMA": _set(out, "data.sigma"),
        "MODEL.EXTRA.PRETRAINED_LAYERS": lambda v: _set(out, "model.pretrained_layers")(list(v)),
        "MODEL.EXTRA.STAGE2": lambda v: None,
        "MODEL.EXTRA.STAGE3": lambda v: None,
        "MODEL.EXTRA.STAGE4": lambda v: None,  # read together by _hrnet_stages
        "DATASET.COLOR_RGB": lambda v: _set(out, "data.color")("rgb" if v else "bgr"),
        "DATASET.PROB_HALF_BODY": lambda v: _half_body(out, v),
        "DATASET.NUM_JOINTS_HALF_BODY": _set(out, "data.half_body_min_joints"),
        "TRAIN.BATCH_SIZE_PER_GPU": _set(out, "train.batch_size"),
        "TEST.BATCH_SIZE_PER_GPU": _set(out, "test.batch_size"),
        "MODEL.STYLE": _set(out, "model.style"),
        "MODEL.EXTRA.TARGET_TYPE": _require("gaussian", f"{source}: MODEL.EXTRA.TARGET_TYPE"),
        "MODEL.EXTRA.HEATMAP_SIZE": lambda v: _set(out, "data.heatmap_size")(v if isinstance(v, list) else [v, v]),
        "MODEL.EXTRA.SIGMA": _set(out, "data.sigma"),
        "MODEL.EXTRA.FINAL_CONV_KERNEL": _set(out, "model.final_conv_kernel"),
        "MODEL.EXTRA.NUM_DECONV_LAYERS": _set(out, "model.num_deconv_layers"),
        "MODEL.EXTRA.NUM_DECONV_FILTERS": lambda v: _set(out, "model.deconv_filters")(
            _same(v, f"{source}: NUM_DECONV_FILTERS")
        ),
        "MODEL.EXTRA.NUM_DECONV_KERNELS": lambda v: _set(out, "model.deconv_kernels")(
            _same(v, f"{source}: NUM_DECONV_KERNELS")
        ),
        "MODEL.EXTRA.NUM_LAYERS": _set(out, "model.depth"),
        "LOSS.USE_TARGET_WEIGHT": _require(True, f"{source}: LOSS.USE_TARGET_WEIGHT"),
        "TRAIN.BATCH_SIZE": _set(out, "train.batch_size"),  # per GPU there, per process here
        "TRAIN.END_EPOCH": _set(out, "train.epochs"),
        "TRAIN.OPTIMIZER": lambda v: _set(out, "train.optimizer")(str(v).lower()),
        "TRAIN.LR": _set(out, "train.lr"),
        "TRAIN.LR_FACTOR": _set(out, "train.lr_factor"),
        "TRAIN.LR_STEP": _set(out, "train.lr_steps"),
        # The official code gives WD to SGD only; its Adam runs without weight decay.
        "TRAIN.WD": lambda v: _set(out, "train.weight_decay")(v if optimizer == "sgd" else 0.0),
        "TRAIN.MOMENTUM": _set(out, "train.momentum"),
        "TRAIN.NESTEROV": _require(False, f"{source}: TRAIN.NESTEROV"),
        "TEST.BATCH_SIZE": _set(out, "test.batch_size"),
        "TEST.FLIP_TEST": _set(out, "test.flip_test"),
        "TEST.SHIFT_HEATMAP": _set(out, "test.shift_heatmap"),
        "TEST.USE_GT_BBOX": _set(out, "test.use_gt_boxes"),
        "TEST.OKS_THRE": _set(out, "test.oks_thre"),
        "TEST.IN_VIS_THRE": _set(out, "test.in_vis_thre"),
        "TEST.COCO_BBOX_FILE": _set(out, "test.detections"),
        "TEST.IMAGE_THRE": _set(out, "test.det_score_thresh"),  # the official detection score cut
    }

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if dotted in IGNORED or (prefix == "" and key in IGNORED):
                continue
            if dotted in handlers:
                handlers[dotted](value)
            elif isinstance(value, dict) and dotted in ("DATASET", "MODEL", "MODEL.EXTRA", "LOSS", "TRAIN", "TEST"):
                walk(value, dotted + ".")
            elif dotted in ("DATASET.DATASET", "DATASET.TRAIN_SET", "DATASET.TEST_SET"):
                continue  # folded into the paths below
            else:
                raise ConfigError(f"{source}: unknown key {dotted} in an official experiment file")

    walk(data, "")
    model = data.get("MODEL") or {}
    if model.get("NAME") == "pose_hrnet":
        _hrnet_stages(out, model.get("EXTRA") or {}, source)
    ds = data.get("DATASET") or {}
    out.setdefault("data", {}).update(_dataset_paths(ds, source))
    if (data.get("TRAIN") or {}).get("BEGIN_EPOCH", 0):
        warnings.warn(f"{source}: TRAIN.BEGIN_EPOCH is ignored; resume a run with --resume", stacklevel=2)
    if optimizer not in ("adam", "sgd"):
        raise ConfigError(f"{source}: TRAIN.OPTIMIZER = {optimizer!r} is not 'adam' or 'sgd'")
    return out
