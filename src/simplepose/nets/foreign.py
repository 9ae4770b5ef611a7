"""Weights trained elsewhere: what their files hold and the config that runs them as trained.

* mmpose's published checkpoints are `{"meta", "state_dict"}` pickles in torch's legacy
  (non-zip) format; `meta["dataset_meta"]` holds numpy arrays, so a `weights_only` load needs
  numpy's array-rebuilding functions on its allow-list (`numpy_globals`; nothing else is
  allowed). Their keys carry `backbone.` and `head.` (1.x) or `keypoint_head.` (0.x)
  prefixes and sometimes `data_preprocessor.*` entries; without them the keys are ours.
* mmpose feeds RGB pixels and decodes with its own quarter-pixel rule (decoder "mmpose");
  the official checkpoints feed BGR and decode with the paper's ("paper").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..config import Config, config_from_dict

StateDict = dict[str, torch.Tensor]
_MMPOSE_PREFIXES = ("backbone.", "head.", "keypoint_head.")
_DROPPED = ("data_preprocessor.",)
_DATASETS = {17: "coco", 16: "mpii", 14: "crowdpose"}
#: mmpose names its files ..._coco-256x192-... or res50_coco_384x288-...: height x width.
_SIZE_IN_NAME = re.compile(r"(?<!\d)(\d{3})x(\d{3})(?!\d)")


def numpy_globals() -> list[Any]:
    """The allow-list that lets `torch.load(weights_only=True)` rebuild numpy arrays and scalars.

    Files pickled by numpy 1.x name `numpy.core.multiarray.*`, numpy 2.x `numpy._core...`;
    both names map to the same functions. dtype instances are rebuilt through their classes.
    """
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]  # the same module, numpy 1's name
    allowed: list[Any] = [np.ndarray, np.dtype]
    for fn in (multiarray._reconstruct, multiarray.scalar):
        allowed += [fn, (fn, f"numpy.core.multiarray.{fn.__name__}"), (fn, f"numpy._core.multiarray.{fn.__name__}")]
    try:
        import numpy.dtypes as dtypes  # numpy >= 1.25

        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    except ImportError:
        pass
    return allowed


def strip_mmpose_keys(sd: StateDict) -> tuple[StateDict, bool]:
    """(our keys, whether they were mmpose's): prefixes off, `data_preprocessor.*` dropped."""
    if not any(k.startswith("backbone.") for k in sd) or not any(k.startswith(("head.", "keypoint_head.")) for k in sd):
        return sd, False
    out: StateDict = {}
    for key, value in sd.items():
        if key.startswith(_DROPPED):
            continue
        for prefix in _MMPOSE_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                break
        out[key] = value
    return out, True


def input_size_from_name(name: str, default: tuple[int, int] = (192, 256)) -> tuple[int, int]:
    """(w, h) from an mmpose-style file name ("..._coco-256x192-..." is h=256, w=192)."""
    m = _SIZE_IN_NAME.search(Path(name).name)
    if not m:
        return default
    h, w = int(m.group(1)), int(m.group(2))
    return (w, h) if h % 32 == 0 and w % 32 == 0 else default


def pose_config(
    model_kwargs: dict[str, Any],
    input_size: Sequence[int],
    color: str,
    decoder: str,
    skeleton: str | None = None,
    source: str = "<weights>",
) -> Config:
    """The config that runs a pose network as it was trained elsewhere.

    Heatmaps are a quarter of the input; sigma 2, or 3 from 384 pixels high (as mmpose's and
    the official configs set them). `skeleton` defaults from the joint count.
    """
    w, h = int(input_size[0]), int(input_size[1])
    joints = int(model_kwargs["num_joints"])
    skeleton = skeleton or _DATASETS.get(joints, "")
    if model_kwargs.get("backbone") == "hrnet":
        model = dict(
            backbone="hrnet",
            num_joints=joints,
            final_conv_kernel=model_kwargs["final_conv_kernel"],
            hrnet_width=model_kwargs["width"],
            hrnet_modules=list(model_kwargs["stage_modules"]),
            hrnet_blocks=model_kwargs["stage_blocks"],
        )
    else:
        model = {
            k: v
            for k, v in model_kwargs.items()
            if k
            in (
                "depth",
                "num_joints",
                "num_deconv_layers",
                "deconv_filters",
                "deconv_kernels",
                "final_conv_kernel",
                "style",
                "width",
            )
        }
    data = {
        "input_size": [w, h],
        "heatmap_size": [w // 4, h // 4],
        "sigma": 3.0 if h >= 384 else 2.0,
        "color": color,
        "skeleton": skeleton,
        "dataset": skeleton if skeleton in ("mpii", "posetrack") else "coco",
    }
    return config_from_dict({"model": model, "data": data, "test": {"decoder": decoder, "shift_heatmap": True}}, source)
