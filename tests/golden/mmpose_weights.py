"""A synthetic mmpose 1.x SimpleBaseline checkpoint (ResNet-50, 17 COCO joints, 256x192), written
in exactly the layout of mmpose's published files, from a seed, with torch + numpy only.

mmpose publishes `{"meta": {..., "dataset_meta": {... numpy arrays ...}}, "state_dict": {...}}`
as a *legacy* (non-zip) torch pickle whose numpy arrays were pickled by numpy 1.x, so the
file names the global `numpy.core.multiarray._reconstruct`. `write_mmpose_checkpoint` writes
that same global whichever numpy runs it (numpy 2 would write `numpy._core...`), so a loader's
allow-list is tested against what real files hold, and the bytes do not depend on numpy.

Keys (checked against mmpose 1.3.2's own `TopdownPoseEstimator` built from
`td-hm_res50_8xb64-210e_coco-256x192.py`): `backbone.conv1/bn1`, `backbone.layer{1-4}.{i}.
conv{1,2,3}/bn{1,2,3}/downsample.{0,1}`, `head.deconv_layers.{0,3,6}.weight` (ConvTranspose2d,
no bias), `head.deconv_layers.{1,4,7}.*` (BatchNorm2d), `head.final_layer.weight/bias`.

Weights: He-normal convolutions and randomised BatchNorm (affine and running statistics), so
that a loader that dropped or misplaced any BN tensor gives other keypoints. Random heads give
near-tied heatmap maxima (a float-level difference then moves a joint by a whole body), so
the final 1x1 layer is not random: it was fitted once (`make_mmpose_golden.py --fit`) to the
features of the real COCO photos' person crops, so each joint's heatmap peaks clearly near
the annotated joint; its 17x256 + 17 floats are stored in `mmpose_final_layer.npz` beside
this file and everything else regenerates from the seed in about a second.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FINAL_LAYER_FILE = os.path.join(HERE, "mmpose_final_layer.npz")
NUM_JOINTS = 17
DECONV_CHANNELS = 256
RESNET50_BLOCKS = (3, 4, 6, 3)

# The COCO `dataset_meta` mmpose 1.3.2 stores (parse_pose_metainfo of configs/_base_/datasets/coco.py).
COCO_NAMES = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
]
COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
COCO_LINKS = [
    (15, 13),
    (13, 11),
    (16, 14),
    (14, 12),
    (11, 12),
    (5, 11),
    (6, 12),
    (5, 6),
    (5, 7),
    (6, 8),
    (7, 9),
    (8, 10),
    (1, 2),
    (0, 1),
    (0, 2),
    (1, 3),
    (2, 4),
    (3, 5),
    (4, 6),
]
_BLUE, _GREEN, _ORANGE = [51, 153, 255], [0, 255, 0], [255, 128, 0]
COCO_KEYPOINT_COLORS = [_BLUE] * 5 + [_GREEN, _ORANGE] * 6
COCO_LINK_COLORS = [
    _GREEN,
    _GREEN,
    _ORANGE,
    _ORANGE,
    _BLUE,
    _BLUE,
    _BLUE,
    _BLUE,
    _GREEN,
    _ORANGE,
    _GREEN,
    _ORANGE,
    _BLUE,
    _BLUE,
    _BLUE,
    _BLUE,
    _BLUE,
    _BLUE,
    _BLUE,
]
COCO_SIGMAS = [
    0.026,
    0.025,
    0.025,
    0.035,
    0.035,
    0.079,
    0.079,
    0.072,
    0.072,
    0.062,
    0.062,
    0.107,
    0.107,
    0.087,
    0.087,
    0.089,
    0.089,
]
COCO_JOINT_WEIGHTS = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5]


def coco_dataset_meta() -> dict:
    """`meta['dataset_meta']` as in mmpose's published COCO checkpoints (numpy arrays included)."""
    return {
        "dataset_name": "coco",
        "num_keypoints": NUM_JOINTS,
        "keypoint_id2name": dict(enumerate(COCO_NAMES)),
        "keypoint_name2id": {n: i for i, n in enumerate(COCO_NAMES)},
        "upper_body_ids": list(range(11)),
        "lower_body_ids": list(range(11, 17)),
        "flip_indices": list(COCO_FLIP_INDICES),
        "flip_pairs": [(COCO_FLIP_INDICES[i], i) for i in range(1, NUM_JOINTS)],
        "keypoint_colors": np.array(COCO_KEYPOINT_COLORS, dtype=np.uint8),
        "num_skeleton_links": len(COCO_LINKS),
        "skeleton_links": list(COCO_LINKS),
        "skeleton_link_colors": np.array(COCO_LINK_COLORS, dtype=np.uint8),
        "dataset_keypoint_weights": np.array(COCO_JOINT_WEIGHTS, dtype=np.float32),
        "sigmas": np.array(COCO_SIGMAS, dtype=np.float32),
    }


def _bn(prefix: str, c: int) -> list[tuple[str, tuple, str]]:
    return [
        (f"{prefix}.weight", (c,), "bn_weight"),
        (f"{prefix}.bias", (c,), "bn_bias"),
        (f"{prefix}.running_mean", (c,), "bn_mean"),
        (f"{prefix}.running_var", (c,), "bn_var"),
        (f"{prefix}.num_batches_tracked", (), "count"),
    ]


def resnet50_simplebaseline_spec() -> list[tuple[str, tuple, str]]:
    """(key, shape, kind) of every tensor, in the state dict's order, without the final layer."""
    spec = [("backbone.conv1.weight", (64, 3, 7, 7), "conv")] + _bn("backbone.bn1", 64)
    inplanes = 64
    for li, (planes, blocks) in enumerate(zip((64, 128, 256, 512), RESNET50_BLOCKS), start=1):
        for b in range(blocks):
            p = f"backbone.layer{li}.{b}"
            spec += [(f"{p}.conv1.weight", (planes, inplanes, 1, 1), "conv")] + _bn(f"{p}.bn1", planes)
            spec += [(f"{p}.conv2.weight", (planes, planes, 3, 3), "conv")] + _bn(f"{p}.bn2", planes)
            spec += [(f"{p}.conv3.weight", (planes * 4, planes, 1, 1), "conv")] + _bn(f"{p}.bn3", planes * 4)
            if b == 0:
                spec += [(f"{p}.downsample.0.weight", (planes * 4, inplanes, 1, 1), "conv")]
                spec += _bn(f"{p}.downsample.1", planes * 4)
            inplanes = planes * 4
    for i in range(3):  # ConvTranspose2d(k4 s2 p1, no bias), BatchNorm2d, ReLU
        spec += [(f"head.deconv_layers.{3 * i}.weight", (inplanes, DECONV_CHANNELS, 4, 4), "deconv")]
        spec += _bn(f"head.deconv_layers.{3 * i + 1}", DECONV_CHANNELS)
        inplanes = DECONV_CHANNELS
    return spec


def _draw(rng: np.random.Generator, shape: tuple, kind: str) -> torch.Tensor:
    n = int(np.prod(shape)) if shape else 1
    if kind == "count":
        return torch.tensor(1000, dtype=torch.int64)
    if kind == "conv":  # He normal on the fan-in
        std = np.sqrt(2.0 / (shape[1] * shape[2] * shape[3]))
        v = rng.standard_normal(n, dtype=np.float32) * np.float32(std)
    elif kind == "deconv":  # k4 s2: each output pixel sees in_channels * 2 * 2 taps
        std = np.sqrt(2.0 / (shape[0] * 4))
        v = rng.standard_normal(n, dtype=np.float32) * np.float32(std)
    elif kind == "bn_weight":
        v = rng.uniform(0.5, 1.5, n).astype(np.float32)
    elif kind == "bn_bias" or kind == "bn_mean":
        v = rng.uniform(-0.3, 0.3, n).astype(np.float32)
    elif kind == "bn_var":
        v = rng.uniform(0.5, 2.0, n).astype(np.float32)
    else:
        raise ValueError(kind)
    return torch.from_numpy(v.reshape(shape))


def make_state_dict(seed: int = 0, final_layer: dict[str, np.ndarray] = None) -> OrderedDict[str, torch.Tensor]:
    """The mmpose-named state dict; `final_layer` {"weight": (17, 256), "bias": (17,)} defaults
    to the fitted one in `mmpose_final_layer.npz`."""
    rng = np.random.default_rng(seed)
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, shape, kind in resnet50_simplebaseline_spec():
        sd[key] = _draw(rng, shape, kind)
    if final_layer is None:
        with np.load(FINAL_LAYER_FILE) as f:
            final_layer = {"weight": f["weight"], "bias": f["bias"]}
    w = np.asarray(final_layer["weight"], dtype=np.float32).reshape(NUM_JOINTS, DECONV_CHANNELS, 1, 1)
    sd["head.final_layer.weight"] = torch.from_numpy(w.copy())
    sd["head.final_layer.bias"] = torch.from_numpy(np.asarray(final_layer["bias"], dtype=np.float32).copy())
    return sd


_NDARRAY_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]


class _Numpy1Pickler(pickle._Pickler):  # the Python pickler: its save_global can be overridden
    """Pickles numpy arrays under numpy 1.x's global name, as mmpose's published files do."""

    def save_global(self, obj, name=None):
        if obj is _NDARRAY_RECONSTRUCT and self.proto < 4:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


class _PickleModule:
    """The `pickle_module` torch.save uses: the legacy writer needs `Pickler` and `dump`."""

    Pickler = _Numpy1Pickler

    @staticmethod
    def dump(obj, file, protocol=None):
        _Numpy1Pickler(file, protocol).dump(obj)


def checkpoint_object(seed: int = 0, final_layer: dict[str, np.ndarray] = None) -> dict:
    """The `{"meta", "state_dict"}` object of a published mmpose 1.x checkpoint."""
    meta = {
        "mmengine_version": "0.10.7",  # what mmengine's runner stores; values are placeholders
        "epoch": 210,
        "iter": 0,
        "seed": int(seed),
        "experiment_name": "td-hm_res50_8xb64-210e_coco-256x192",
        "dataset_meta": coco_dataset_meta(),
    }
    return {"meta": meta, "state_dict": make_state_dict(seed, final_layer)}


def write_mmpose_checkpoint(path: str, seed: int = 0, final_layer: dict[str, np.ndarray] = None) -> None:
    """Write the synthetic checkpoint to `path` as a legacy (non-zip) torch pickle, protocol 2.

    The tensors are the same for the same seed (and final layer; see `state_dict_digest`);
    the bytes are not quite: the legacy format names each storage by its memory address."""
    buf = io.BytesIO()
    torch.save(
        checkpoint_object(seed, final_layer),
        buf,
        pickle_module=_PickleModule,
        pickle_protocol=2,
        _use_new_zipfile_serialization=False,
    )
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def state_dict_digest(sd: dict[str, torch.Tensor]) -> str:
    """sha256 over the keys, dtypes, shapes and bytes of a state dict, in order."""
    h = hashlib.sha256()
    for k, v in sd.items():
        t = v.detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()
