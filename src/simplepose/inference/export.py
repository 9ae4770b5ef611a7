"""`simplepose export`: a checkpoint as an ONNX model (fp32, or static int8), checked.

The exported graph is the BatchNorm-folded network with a dynamic batch axis: input "image"
(N, 3, in_h, in_w) float32, normalised as the checkpoint's config says (`data.color`, `mean`,
`std`), output "heatmaps" (N, K, h, w). Before the file is written, ONNX Runtime runs it on a
batch of two (which also exercises the dynamic axis) and the largest absolute difference
from the PyTorch model in eager fp32 is reported; the file is written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import torch

from ..config import Config, load_config
from ..core.fileio import OutputError, atomic_write_bytes, prepare_output_dir
from ..core.transforms import Normalize
from ..runtimes.base import RuntimeSpec, probe_batch
from ..runtimes.onnx_paths import (
    OnnxRunner,
    calibration_batches,
    calibration_images,
    export_onnx_bytes,
    quantize_int8,
    require_onnx,
)

PathLike = Union[str, Path]


@dataclass(frozen=True)
class ExportReport:
    """What `export_checkpoint` wrote and how closely it matches PyTorch.

    max_abs_diff: max |ONNX Runtime - PyTorch eager fp32| over the check batch's heatmaps;
    max_abs_output: max |PyTorch heatmap| on that batch, the scale to read the difference
    against; check: what the check batch was.
    """

    path: Path
    int8: bool
    input_size: tuple[int, int]
    num_joints: int
    max_abs_diff: float
    max_abs_output: float
    check: str
    size_bytes: int
    heatmap_size: tuple[int, int] = (0, 0)  # (w, h) of the output heatmaps


def check_writable(path: Path) -> None:
    """Fail before any work when `path` cannot be written: its folder cannot be made, or it
    is a folder itself. The message is one line naming the path. The folder is made the way
    every output folder is (`prepare_output_dir`), so a failed command takes it away again."""
    if path.is_dir():
        raise ValueError(f"cannot write {path}: it is a folder")
    try:
        prepare_output_dir(path.parent)
    except OutputError as e:
        raise ValueError(f"cannot write {path}: {e}") from None


def check_export_options(int8: bool = False, calibration: PathLike | None = None) -> None:
    """The cheap checks of an export, made before a checkpoint is fetched or read: onnx and
    onnxruntime installed (RuntimeUnavailable naming the pip line), and for `int8` a folder of
    calibration images (fails now, not after the export)."""
    require_onnx()
    if int8:
        if not calibration:
            raise ValueError("--int8 needs --calibration DIR (a folder of images to calibrate on)")
        calibration_images(calibration)


def export_checkpoint(
    checkpoint: PathLike,
    out: PathLike,
    int8: bool = False,
    calibration: PathLike | None = None,
    config: PathLike | None = None,
    trusted: bool = False,
) -> ExportReport:
    """Export `checkpoint` to `out` (.onnx); with `int8`, quantise with crops of `calibration`'s images.

    The input size and normalisation come from `config` (a YAML file) if given, else the
    checkpoint's stored config, else the defaults (the paper's 256x192 COCO setting).
    Raises RuntimeUnavailable (a ValueError) when onnx/onnxruntime are missing,
    FileNotFoundError for a missing checkpoint or calibration folder, ValueError for an
    unwritable `out` or int8 without calibration images.
    """
    from ..nets.weights import load_checkpoint

    check_export_options(int8, calibration)
    out = Path(out)
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    check_writable(out)
    loaded = load_checkpoint(checkpoint, trusted=trusted)
    cfg: Config = load_config(config) if config else (loaded.config or Config())
    input_size = (int(cfg.data.input_size[0]), int(cfg.data.input_size[1]))
    normalize = Normalize(cfg.data.color, cfg.data.mean, cfg.data.std)
    model = loaded.model.float().eval()
    data = export_onnx_bytes(model, input_size)
    if int8:
        assert calibration is not None  # check_export_options refused int8 without it
        batches = calibration_batches(calibration, input_size, normalize)
        data = quantize_int8(data, batches)
        crops = np.concatenate(batches)
        x, check = torch.from_numpy(np.concatenate([crops, crops])[:2]), f"2 crops of {calibration}"
    else:
        x, check = probe_batch(RuntimeSpec(input_size)), "2 random inputs"
    got = OnnxRunner(data)(x)
    with torch.no_grad():
        want = model(x).numpy()
    atomic_write_bytes(out, data)
    return ExportReport(
        out,
        int8,
        input_size,
        int(want.shape[1]),
        float(np.abs(got - want).max()),
        float(np.abs(want).max()),
        check,
        len(data),
        (int(want.shape[3]), int(want.shape[2])),
    )
