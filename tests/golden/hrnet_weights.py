"""Seeded random weights for an HRNet state dict, the same whichever network's keys ask.

Each tensor is drawn from its own generator seeded by (seed, crc32 of its key), so the values
depend on the key and shape alone, not on the order a module lists them: the official
`PoseHighResolutionNet` and ours (the same names) get the same numbers. Convolutions are
N(0, 1/fan_in) (activations keep their scale through the four stages), BatchNorm is
randomised in all four tensors (gamma in [0.5, 1.5], beta and running mean N(0, 0.1^2),
running variance in [0.5, 1.5]), so a BN misplaced or mis-folded changes the heatmaps.
torch only.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterable

import torch

OFFICIAL_REPO = "leoxiaobin/deep-high-resolution-net.pytorch"
OFFICIAL_COMMIT = "6f69e4676ad8d43d0d61b64b1b9726f0c369e7b1"  # HEAD of 2022-12-13, lib/models/pose_hrnet.py
SEED = 34
#: (width, (h, w)) of the four compared networks.
CASES = ((32, (256, 192)), (32, (384, 288)), (48, (256, 192)), (48, (384, 288)))


def seeded_state_dict(
    shapes: Iterable[tuple[str, torch.Size, torch.dtype]], seed: int = SEED
) -> dict[str, torch.Tensor]:
    """A state dict for `(key, shape, dtype)` entries (e.g. from `model.state_dict()`)."""
    out: dict[str, torch.Tensor] = OrderedDict()
    for key, shape, dtype in shapes:
        if not dtype.is_floating_point:  # num_batches_tracked
            out[key] = torch.zeros(shape, dtype=dtype)
            continue
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
        name = key.rsplit(".", 1)[-1]
        if name == "weight" and len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            t = torch.randn(shape, generator=g) / fan_in**0.5
        elif name in ("weight", "running_var"):  # BN gamma, variance
            t = torch.rand(shape, generator=g) + 0.5
        else:  # BN beta, running mean, conv bias
            t = torch.randn(shape, generator=g) * 0.1
        out[key] = t.to(dtype)
    return out


def seeded_input(hw: tuple[int, int], seed: int = SEED) -> torch.Tensor:
    """(1, 3, h, w) N(0, 1) pixels, as a normalised image would be."""
    return torch.randn(1, 3, *hw, generator=torch.Generator().manual_seed(seed))


def summarise(heatmaps: torch.Tensor) -> dict[str, object]:
    """What the golden file keeps of (1, K, h, w) heatmaps: shape, statistics over all of them,
    every joint's sum and argmax, and a 17 x 4 x 4 corner slice."""
    hm = heatmaps.detach().double()[0]
    return dict(
        shape=list(heatmaps.shape),
        mean=hm.mean().item(),
        std=hm.std().item(),
        absmax=hm.abs().max().item(),
        joint_sums=hm.sum(dim=(1, 2)).tolist(),
        joint_argmax=hm.flatten(1).argmax(dim=1).tolist(),
        corner=hm[:, :4, :4].flatten().tolist(),
    )


def official_extra(width: int, final_conv_kernel: int = 1) -> dict:
    """The `MODEL.EXTRA` block of the official experiment files for HRNet-W`width`."""

    def stage(n: int, modules: int) -> dict:
        return dict(
            NUM_MODULES=modules,
            NUM_BRANCHES=n,
            BLOCK="BASIC",
            NUM_BLOCKS=[4] * n,
            NUM_CHANNELS=[width * 2**b for b in range(n)],
            FUSE_METHOD="SUM",
        )

    return dict(
        PRETRAINED_LAYERS=["*"],
        FINAL_CONV_KERNEL=final_conv_kernel,
        STAGE2=stage(2, 1),
        STAGE3=stage(3, 4),
        STAGE4=stage(4, 3),
    )


# ---------------------------------------------------------------- an mmpose-format HRNet-W32 file
MMPOSE_CONFIG = "td-hm_hrnet-w32_8xb64-210e_coco-256x192"
MMPOSE_FINAL_LAYER_FILE = __import__("os").path.join(
    __import__("os").path.dirname(__file__), "mmpose_hrnet_final_layer.npz"
)


def mmpose_hrnet_state_dict(
    shapes: Iterable[tuple[str, torch.Size, torch.dtype]], seed: int = SEED, final_layer: dict[str, object] = None
) -> dict[str, torch.Tensor]:
    """mmpose's keys (`backbone.*`, `head.final_layer.*`) for our/official HRNet `shapes`, values
    from `seeded_state_dict`; `final_layer` (numpy weight (17, 32), bias (17,)) replaces the head,
    by default the fitted one in `mmpose_hrnet_final_layer.npz`. Keys sorted, so the order the
    shapes came in does not matter."""
    import numpy as np

    sd = seeded_state_dict(sorted(shapes, key=lambda s: s[0]), seed)
    if final_layer is None:
        with np.load(MMPOSE_FINAL_LAYER_FILE) as f:
            final_layer = {"weight": f["weight"], "bias": f["bias"]}
    w = torch.from_numpy(np.asarray(final_layer["weight"], dtype=np.float32))
    sd["final_layer.weight"] = w.reshape(sd["final_layer.weight"].shape).clone()
    sd["final_layer.bias"] = torch.from_numpy(np.asarray(final_layer["bias"], dtype=np.float32)).clone()
    return OrderedDict((("head." if k.startswith("final_layer.") else "backbone.") + k, v) for k, v in sd.items())


def write_mmpose_hrnet_checkpoint(path: str, shapes, seed: int = SEED, final_layer=None) -> dict[str, torch.Tensor]:
    """Write `mmpose_hrnet_state_dict` as mmpose publishes files (legacy pickle, numpy 1.x
    globals, `meta.dataset_meta`: `mmpose_weights`' writer); returns the state dict."""
    import io

    from mmpose_weights import _PickleModule, coco_dataset_meta

    sd = mmpose_hrnet_state_dict(shapes, seed, final_layer)
    obj = {
        "meta": {
            "mmengine_version": "0.10.7",
            "epoch": 210,
            "iter": 0,
            "seed": int(seed),
            "experiment_name": MMPOSE_CONFIG,
            "dataset_meta": coco_dataset_meta(),
        },
        "state_dict": sd,
    }
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_module=_PickleModule, pickle_protocol=2, _use_new_zipfile_serialization=False)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return sd
