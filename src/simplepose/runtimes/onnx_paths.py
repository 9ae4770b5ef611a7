"""ONNX export and the ONNX Runtime runtimes (fp32, and static int8 quantisation).

`onnx` (the export) and `onnxruntime` are dependencies of the base install: `auto`'s usual
choice on a CPU runs on them. Where one is missing all the same (an install made with
`--no-deps`), these runtimes raise RuntimePackageMissing and `auto` uses `fast`. The exported graph is the
BatchNorm-folded model (the same fold `fast` runs and the tests check), with a dynamic batch
axis: input "image" (N, 3, in_h, in_w) float32, output "heatmaps" (N, K, h, w) float32.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.fileio import IMAGE_SUFFIXES
from ..core.hardware import cpu_features
from .base import BuiltRuntime, RuntimePackageMissing, RuntimeSpec, RuntimeUnavailable, Timer
from .fold import fold_or_copy

#: Both are base dependencies; the `onnx` extra, kept for the commands that named it, asks for them again.
INSTALL_HINT = "pip install 'simplepose[onnx]'"
ONNX_PACKAGES = ("onnx", "onnxruntime")
INPUT_NAME, OUTPUT_NAME = "image", "heatmaps"
OPSET = 17


def onnx_available() -> bool:
    """Both packages importable (checked without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ONNX_PACKAGES)


def require_onnx(what: str = "the ONNX export") -> None:
    """Raise RuntimePackageMissing (one line: what needs which package, how to install it)
    where `onnx` or `onnxruntime` is not importable; checked without importing them."""
    if not onnx_available():
        missing = " and ".join(m for m in ONNX_PACKAGES if importlib.util.find_spec(m) is None)
        raise RuntimePackageMissing(what, missing, INSTALL_HINT)


def export_onnx_bytes(model: nn.Module, input_size: Iterable[int], opset: int = OPSET) -> bytes:
    """The BN-folded `model` (unfolded where torch.fx cannot trace it) as an ONNX file's
    bytes, batch axis dynamic.

    Uses PyTorch's TorchScript-based exporter (`dynamo=False`): torch 2.13 still ships it, and
    the newer exporter would add a dependency (onnxscript) for the same plain conv graph.
    """
    require_onnx()
    w, h = (int(v) for v in input_size)
    folded = fold_or_copy(model).cpu().float()
    dummy = torch.zeros(1, 3, h, w)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(
            folded,
            (dummy,),
            buf,  # type: ignore[arg-type]  # torch types f as a path; the TorchScript exporter also writes to a file object
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )
    return buf.getvalue()


class OnnxRunner:
    """An ONNX Runtime CPU session over a model file or its bytes.

    (N, 3, H, W) tensor -> (N, K, h, w) float32 array. `threads` intra-op threads (0 = as
    many as torch uses, so that both runtimes get the same cores in a comparison).
    """

    def __init__(self, model: bytes | str, threads: int = 0, input_size: tuple[int, int] | None = None) -> None:
        require_onnx()
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # ORT's worker threads busy-wait after each run by default; here they would take the
        # cores from the crop / decode code that runs between batches (and from torch).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        if input_size is not None:
            check_graph_input(
                self.session.get_inputs()[0].shape,
                input_size,
                model if isinstance(model, str) else "the exported graph",
            )

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        # The predictor's crops arrive NHWC-strided; ONNX Runtime wants a contiguous NCHW array.
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())
        return self.session.run(None, {self.input_name: array})[0]


def build_onnx(model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """ONNX Runtime fp32 on the exported BN-folded model, or on `spec.onnx_model` if given."""
    _cpu_only(spec, "onnx")
    with Timer() as t:
        source = spec.onnx_model or export_onnx_bytes(model, spec.input_size)
        runner = OnnxRunner(source, spec.threads, spec.input_size)
    what = spec.onnx_model or "exported in memory"
    return BuiltRuntime("onnx", runner, "fp32", f"ONNX Runtime, BN folded, fp32 ({what})", t.seconds)


def build_onnx_int8(model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """ONNX Runtime static int8: `spec.onnx_model` if given (a file `simplepose export --int8`
    wrote), else export now and quantise with crops of the images in `spec.calibration`."""
    _cpu_only(spec, "onnx-int8")
    with Timer() as t:
        source: str | bytes
        if spec.onnx_model:
            source = spec.onnx_model
        else:
            if not spec.calibration:
                raise ValueError(
                    "runtime onnx-int8 needs calibration images (test.calibration = a folder) "
                    "or an int8 model (test.onnx_model = a file from `simplepose export --int8`)"
                )
            batches = calibration_batches(spec.calibration, spec.input_size, spec.normalize)
            source = quantize_int8(export_onnx_bytes(model, spec.input_size), batches)
        runner = OnnxRunner(source, spec.threads, spec.input_size)
    what = spec.onnx_model or f"calibrated on {spec.calibration}"
    return BuiltRuntime("onnx-int8", runner, "int8", f"ONNX Runtime, static int8 ({what})", t.seconds)


def check_graph_input(shape: Sequence[object], input_size: Sequence[int], source: str) -> None:
    """A ValueError (one line naming `source`) unless a graph input of `shape` (N, 3, H, W),
    where fixed, takes crops of `input_size` (w, h): a graph exported at another size would
    fail on the first batch with ONNX Runtime's own many-line message."""
    w, h = (int(v) for v in input_size)
    dims = list(shape)[2:4]
    fixed = [d if isinstance(d, int) and d > 0 else None for d in dims]
    if len(fixed) == 2 and any(f is not None and f != want for f, want in zip(fixed, (h, w))):
        got = "x".join("?" if f is None else str(f) for f in reversed(fixed))
        raise ValueError(
            f"{source}: the ONNX graph takes {got} (w x h) crops but the config's data.input_size is "
            f"{w}x{h}; export the model at that size (simplepose export) or set data.input_size={got}"
        )


def _cpu_only(spec: RuntimeSpec, name: str) -> None:
    if torch.device(spec.device).type != "cpu":
        raise RuntimeUnavailable(f"runtime {name} runs on the CPU only (device is {spec.device}); use fast")


def calibration_images(folder: str | Path) -> list[Path]:
    """The image files directly in `folder`, sorted; a missing or image-less folder is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"calibration folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"calibration folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def calibration_windows(image_hw: tuple[int, int], aspect: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 4) xywh boxes of the input's aspect ratio, 30-90% of the image's height, placed at
    random inside it (clipped where wider than the image): person-sized windows."""
    img_h, img_w = image_hw
    h = rng.uniform(0.3, 0.9, count) * img_h
    w = np.minimum(h * aspect, img_w)
    x = rng.uniform(0.0, 1.0, count) * (img_w - w)
    y = rng.uniform(0.0, 1.0, count) * (img_h - h)
    return np.stack([x, y, w, h], axis=1)


def calibration_batches(
    folder: str | Path,
    input_size: Iterable[int],
    normalize,
    max_images: int = 64,
    batch: int = 8,
    windows_per_image: int = 4,
    seed: int = 0,
) -> list[np.ndarray]:
    """Normalised crops (B, 3, in_h, in_w) float32 from up to `max_images` images of `folder`.

    Each image gives `windows_per_image` person-sized windows (`calibration_windows`, a fixed
    seed), cut by the same crop code as prediction (box widened to the input's aspect ratio,
    padded 1.25x), so the activation ranges int8 needs come from pixels like the ones the model
    will see: person crops, not whole images shrunk to the input size (mostly background, every
    detail small). On the 96x64 shipped model's synthetic val, calibrated on its train images (no
    labels used), whole-image crops moved joints 0.64 px on average; these windows 0.44-0.58 px
    over 5 seeds, as close as crops of the labelled people themselves (0.46-0.50 px over 3 draws).
    """
    import cv2

    from ..core.geometry import boxes_to_center_scale
    from ..core.transforms import crop_people

    w, h = (int(v) for v in input_size)
    rng = np.random.default_rng(seed)
    crops = []
    for path in calibration_images(folder)[:max_images]:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"cannot read calibration image {path}")
        boxes = calibration_windows(image.shape[:2], w / h, windows_per_image, rng)
        centers, scales = boxes_to_center_scale(boxes, w / h)
        crops.append(crop_people(image, centers, scales, (w, h))[0])
    x = normalize(np.concatenate(crops)).contiguous().numpy()
    return [x[i : i + batch] for i in range(0, len(x), batch)]


def quantize_int8(fp32_model: bytes, batches: list[np.ndarray]) -> bytes:
    """Static int8 quantisation (ONNX Runtime), calibrated on `batches`; the bytes of the result.

    QOperator format (QLinearConv), per-channel int8 weights, uint8 activations, MinMax
    ranges: the fastest of the variants measured on this project's machine. On x86 CPUs
    without VNNI, u8s8 products can saturate; `reduce_range` (7-bit weights) avoids it there.
    The final 1x1 layer stays fp32 (`heatmap_node`): quantising its uint8 output grid moved
    joints more (demo model, synthetic val: mean 0.57 -> 0.41 px with it in fp32); the
    transposed convolutions stay fp32 anyway (QOperator has no quantised ConvTranspose). So
    does the high-resolution front (`front_nodes`: the stem and the first stage), where one
    layer quantised alone moved the heatmaps most: on the shipped models' synthetic val it
    brought the mean displacement from eager fp32 from 0.68 to 0.49 px (128x96) and from 0.54
    to 0.34 px (96x64), for ~16% of a ResNet-50's and ~30% of a ResNet-18's work in fp32.
    """
    require_onnx()
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it: Iterator[np.ndarray] = iter(batches)

        def get_next(self) -> dict | None:
            nxt = next(self.it, None)
            return None if nxt is None else {INPUT_NAME: nxt}

    with tempfile.TemporaryDirectory(prefix="simplepose-int8-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        unshared = unshare_initializers(fp32_model)
        src.write_bytes(unshared)
        # The quantizer advises pre-processing (shape inference, graph optimisation) on the root
        # logger; the exported conv graph has its shapes already and ORT optimises at load.
        hush = _DropMessages("pre-process")
        logging.getLogger().addFilter(hush)
        try:
            quantize_static(
                str(src),
                str(dst),
                Reader(),
                quant_format=QuantFormat.QOperator,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                reduce_range=not cpu_features().vnni and bool(cpu_features().flags),
                nodes_to_exclude=sorted({heatmap_node(unshared), *front_nodes(unshared)}),
            )
        finally:
            logging.getLogger().removeFilter(hush)
        return dst.read_bytes()


def heatmap_node(model_bytes: bytes) -> str:
    """The name of the node that writes the graph's output (the final 1x1 conv)."""
    import onnx

    graph = onnx.load_from_string(model_bytes).graph
    return next(n.name for n in graph.node if OUTPUT_NAME in n.output)


#: int8 leaves in fp32 the layers whose output is at 1/FRONT_STRIDE of the input's size or finer.
FRONT_STRIDE = 4


def front_nodes(model_bytes: bytes) -> list[str]:
    """The Conv and Add nodes whose output is at 1/`FRONT_STRIDE` (4) of the input's height or finer: a
    ResNet's stem and first stage (and the head's last layer), the part of the network where
    int8's rounding moved the heatmaps most. [] when the input's height is not fixed."""
    import onnx

    graph = onnx.shape_inference.infer_shapes(onnx.load_from_string(model_bytes)).graph
    height = graph.input[0].type.tensor_type.shape.dim[2].dim_value
    dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in [*graph.value_info, *graph.output]}
    return [
        n.name
        for n in graph.node
        if n.op_type in ("Conv", "Add")
        and height > 0
        and len(dims.get(n.output[0], ())) == 4
        and dims[n.output[0]][2] * FRONT_STRIDE >= height
    ]


class _DropMessages(logging.Filter):
    """Drops log records whose message contains `text`."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def unshare_initializers(model_bytes: bytes) -> bytes:
    """Give every node its own copy of each constant it reads.

    The exporter merges equal constants (e.g. the all-zero biases that folding an untrained
    BatchNorm gives several convs) into one initializer read through Identity nodes, and ONNX
    Runtime's quantizer fails on a conv bias that is an Identity's output or is shared.
    """
    import onnx

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}

    def add_copy(source: str, name: str) -> None:
        copy = onnx.TensorProto()
        copy.CopyFrom(inits[source])
        copy.name = name
        graph.initializer.append(copy)
        inits[name] = copy

    for node in [n for n in graph.node if n.op_type == "Identity" and n.input[0] in inits]:
        add_copy(node.input[0], node.output[0])  # the Identity's output becomes a constant
        graph.node.remove(node)
    seen = set()
    for i, node in enumerate(graph.node):
        for k, name in enumerate(node.input):
            if name in inits:
                if name in seen:
                    add_copy(name, f"{name}__{i}_{k}")
                    node.input[k] = f"{name}__{i}_{k}"
                seen.add(name)
    return model.SerializeToString()
