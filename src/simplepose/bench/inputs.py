"""What the benchmark runs on: the models, the generated images and the evaluation config.

Model speed does not depend on the weights, so R18 and R50 at 256x192 are random-weight
PoseResNets. Accuracy does: it uses `--checkpoint` when given (its own config: input size,
decoder, normalisation), else the demo config's architecture with random weights, and the
report says which.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import Config, build_model_kwargs, config_from_dict, config_to_dict, load_config, merge
from ..core.fileio import atomic_write_bytes
from ..nets.build import build_network
from ..nets.model import PoseResNet

#: The benchmark's model shapes: name -> (`build_network` keyword arguments, input (w, h)).
#: "demo" is read from the demo config instead (see `model_spec`).
PAPER_MODELS: dict[str, tuple[dict, tuple[int, int]]] = {
    "r18": (dict(depth=18), (192, 256)),
    "r50": (dict(depth=50), (192, 256)),
    "hrnet-w32": (dict(backbone="hrnet", width=32), (192, 256)),  # HRNet: many small branches
}


@dataclass
class ModelSpec:
    name: str  # "R50 256x192", ...
    model: torch.nn.Module
    input_size: tuple[int, int]  # (w, h)


def model_spec(key: str, demo_config: Config, seed: int = 0) -> ModelSpec:
    """A random-weight model for speed figures: "r18", "r50", "hrnet-w32" (256x192) or "demo"."""
    torch.manual_seed(seed)
    if key == "demo":
        w, h = demo_config.data.input_size
        demo = PoseResNet(**build_model_kwargs(demo_config.model))
        return ModelSpec(f"demo R18 w{demo_config.model.width} {h}x{w}", randomize_batchnorm(demo).eval(), (w, h))
    if key not in PAPER_MODELS:
        raise ValueError(f"unknown bench model {key!r}; choose from {sorted(PAPER_MODELS) + ['demo']}")
    kwargs, (w, h) = PAPER_MODELS[key]
    model = build_network(num_joints=17, **kwargs)
    name = f"HRNet-W{kwargs['width']}" if kwargs.get("backbone") == "hrnet" else f"R{kwargs['depth']}"
    return ModelSpec(f"{name} {h}x{w}", randomize_batchnorm(model).eval(), (w, h))


def randomize_batchnorm(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every BatchNorm trained-looking statistics (a fresh one is the identity, which
    would hide a wrong fold) and the head weights a trained-looking scale."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                assert m.running_mean is not None and m.running_var is not None  # the nets' BNs track statistics
                m.running_mean.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) * 0.2 - 0.1)
    return model


def ensure_synthetic(data_dir: str | None, out_dir: Path, images: int, seed: int) -> Path:
    """`data_dir` if given (a `simplepose synth` folder), else a set generated into
    `out_dir/data` (kept between runs with the same size, seed and generator: one stamp file
    names what the folder holds, so a set of another size is never taken for this one)."""
    from ..synthetic import generate_dataset
    from ..synthetic.version import generator_key

    if data_dir:
        root = Path(data_dir)
        if not (root / "annotations" / "val.json").is_file():
            raise FileNotFoundError(
                f"--data {root}: no annotations/val.json (make one with `simplepose synth --out {root}`)"
            )
        return root
    root = out_dir / "data"
    stamp = root / ".bench-set"
    want = f"images={images} seed={seed} generator={generator_key()}"
    try:
        held = stamp.read_text()
    except OSError:
        held = ""
    if held != want:
        if root.is_dir() and any(root.glob(".bench-*")):
            # A set bench made before (another size, seed or generator; older stamps were
            # `.bench-IMAGES-SEED`): its files would mix with the new ones.
            shutil.rmtree(root)
        generate_dataset(root, images, seed=seed, val_fraction=0.5)
        atomic_write_bytes(stamp, want.encode())
    return root


def accuracy_config(base: Config, data_root: Path) -> Config:
    """`base` evaluating on the synthetic val set at `data_root` with its GT boxes."""
    data = {
        "root": str(data_root),
        "dataset": "coco",
        "train_ann": "annotations/train.json",
        "train_images": "images/train",
        "val_ann": "annotations/val.json",
        "val_images": "images/val",
    }
    extra = {"data": data, "test": {"use_gt_boxes": True, "detections": ""}}
    return config_from_dict(merge(config_to_dict(base), extra), "bench")


def accuracy_model(checkpoint: str, demo_config: Config) -> tuple[torch.nn.Module, Config, str]:
    """(model, its config, a note saying what it is) for the accuracy figures."""
    if checkpoint:
        from ..nets.weights import load_checkpoint

        loaded = load_checkpoint(checkpoint)
        return loaded.model.eval(), loaded.config or demo_config, f"trained checkpoint {checkpoint}"
    torch.manual_seed(0)
    model = PoseResNet(**build_model_kwargs(demo_config.model)).eval()
    note = (
        "RANDOM weights (no --checkpoint): displacements and AP only show that the runtimes agree "
        "with eager fp32, not how accurate a trained model is"
    )
    return model, demo_config, note


def load_val_images(data_root: Path, limit: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Up to `limit` decoded val images (BGR) that show people, and their GT boxes (N, 4) xyxy
    (the boxes evaluation with GT boxes uses)."""
    from ..data.coco import load_coco_keypoints
    from ..evaluation.runner import read_image
    from ..inference.detector import GTBoxes

    coco = load_coco_keypoints(
        str(data_root / "annotations" / "val.json"), str(data_root / "images" / "val"), for_training=False
    )
    table = GTBoxes(coco)
    images: list[np.ndarray] = []
    boxes: list[np.ndarray] = []
    for image_id in sorted(coco.images):
        found = table(None, image_id)[0]
        if len(found) and len(images) < limit:
            images.append(read_image(coco.images[image_id].path))
            boxes.append(found)
    return images, boxes


def demo_config(path: str) -> Config:
    """The demo's config (`demo.DEMO_CONFIG`, shipped in the package, unless another is given)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"demo config not found: {path} (pass --demo-config)")
    return load_config(path)
