"""The OpenVINO runtimes (CPU): fp32 and static int8 (NNCF), built from the same ONNX export
as `onnx` (the BN-folded model, input "image" (N, 3, in_h, in_w), output "heatmaps" (N, K, h, w)).

`openvino` and `nncf` are optional (`pip install 'simplepose[openvino]'`); without them these
runtimes raise RuntimePackageMissing (one line naming the extra) and `auto` leaves them out.
Precision: OpenVINO's CPU plugin runs bf16 by default where the CPU has it natively (AMX /
avx512_bf16), which moves joints (see `torch_paths`), so `INFERENCE_PRECISION_HINT` is set to
f32 unless bf16 is asked for (`--precision bf16`), as `fast` does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
from collections.abc import Iterator
from typing import Any  # openvino ships no types: its objects are Any

import numpy as np
import torch
from torch import nn

from .base import BuiltRuntime, RuntimePackageMissing, RuntimeSpec, RuntimeUnavailable, Timer

INSTALL_HINT = "pip install 'simplepose[openvino]'"


def openvino_available() -> bool:
    """`openvino` importable (checked without importing it)."""
    return importlib.util.find_spec("openvino") is not None


def require_openvino(what: str = "runtime openvino", quantize: bool = False) -> None:
    """Raise RuntimePackageMissing (one line: `what` needs which package, and the extra) where
    `openvino`, or for `quantize` also `nncf`, is not importable; checked without importing them."""
    packages = ("openvino", "nncf") if quantize else ("openvino",)
    missing = [m for m in packages if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimePackageMissing(what, " and ".join(missing), INSTALL_HINT)


def ov_precision(spec: RuntimeSpec) -> str:
    """OpenVINO's inference precision hint: bf16 only when asked for, else f32 (see above)."""
    if spec.precision == torch.float16:
        raise RuntimeUnavailable("OpenVINO on a CPU runs fp32 or bf16, not fp16; use fast")
    return "bf16" if spec.precision == torch.bfloat16 else "f32"


class OpenVinoRunner:
    """An OpenVINO CPU compiled model. (N, 3, H, W) tensor -> (N, K, h, w) float32 array.

    LATENCY hint (one inference stream: the predictor sends one batch at a time), `threads`
    inference threads (0 = torch's count, so both get the same cores in a comparison).
    """

    def __init__(self, model: object, threads: int = 0, precision: str = "f32") -> None:
        import openvino as ov

        config = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads or torch.get_num_threads(),
            "INFERENCE_PRECISION_HINT": precision,
        }
        self.compiled = ov.Core().compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())  # NHWC-strided crops -> NCHW
        # share_outputs=False: the result must outlive the next call (the predictor keeps it).
        return self.request.infer({0: array}, share_outputs=False)[0]


def read_onnx(model: nn.Module, spec: RuntimeSpec) -> object:
    """An `openvino.Model` read from `spec.onnx_model` (a file) or from the model exported now;
    a ValueError when its input is not `spec.input_size` (`onnx_paths.check_graph_input`)."""
    import openvino as ov

    from .onnx_paths import check_graph_input, export_onnx_bytes

    source = spec.onnx_model or export_onnx_bytes(model, spec.input_size)
    ov_model = ov.Core().read_model(source)
    shape = ov_model.input(0).get_partial_shape()
    dims = [d.get_length() if d.is_static else None for d in shape] if shape.rank.is_static else []
    check_graph_input(dims, spec.input_size, spec.onnx_model or "the exported graph")
    return ov_model


def _cpu_only(spec: RuntimeSpec, name: str) -> None:
    if torch.device(spec.device).type != "cpu":
        raise RuntimeUnavailable(f"runtime {name} runs on the CPU only here (device is {spec.device}); use fast")


def build_openvino(model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """OpenVINO fp32 (bf16 if asked) on the exported BN-folded model, or on `spec.onnx_model`."""
    require_openvino()
    _cpu_only(spec, "openvino")
    precision = ov_precision(spec)
    with Timer() as t:
        runner = OpenVinoRunner(read_onnx(model, spec), spec.threads, precision)
    name = "bf16" if precision == "bf16" else "fp32"
    what = spec.onnx_model or "exported in memory"
    return BuiltRuntime("openvino", runner, name, f"OpenVINO CPU, BN folded, {name}, latency hint ({what})", t.seconds)


def final_ops(ov_model: Any) -> list[str]:
    """Friendly names of the ops that make the heatmaps: the final 1x1 convolution (with its bias
    Add) and the transposed convolutions, found by type and by walking back from the output."""
    names = [op.get_friendly_name() for op in ov_model.get_ops() if op.get_type_name() == "ConvolutionBackpropData"]
    node = ov_model.output(0).get_node().input_value(0).get_node()  # Result <- ...
    for _ in range(3):  # Result <- Add (bias) <- Convolution, possibly behind a Convert/Reshape
        names.append(node.get_friendly_name())
        if node.get_type_name() == "Convolution" or node.get_input_size() == 0:
            break
        node = node.input_value(0).get_node()
    return names


def front_ops(ov_model: Any) -> list[str]:
    """Friendly names of the Convolution and Add ops whose output is at 1/`FRONT_STRIDE` (4) of
    the input's height or finer (`onnx_paths.front_nodes`: the stem and the first stage)."""
    from .onnx_paths import FRONT_STRIDE

    height = ov_model.input(0).get_partial_shape()[2]
    names = []
    for op in ov_model.get_ops():
        if op.get_type_name() not in ("Convolution", "Add") or op.get_output_size() != 1:
            continue
        shape = op.get_output_partial_shape(0)
        if (
            height.is_static
            and shape.rank.is_static
            and shape.rank.get_length() == 4
            and shape[2].is_static
            and shape[2].get_length() * FRONT_STRIDE >= height.get_length()
        ):
            names.append(op.get_friendly_name())
    return names


def quantize_openvino(ov_model: Any, batches: list[np.ndarray]) -> object:
    """NNCF post-training int8 of `ov_model`, calibrated on every crop of `batches` (B, 3, H, W).

    As in `onnx_paths.quantize_int8`, the transposed convolutions, the final 1x1 layer and the
    high-resolution front stay fp32 (ONNX Runtime's QOperator format does not quantise
    ConvTranspose at all), and activation ranges are the calibration's plain min and max:
    NNCF's default (means of per-crop extremes) clips the crops with the widest activations.
    On the 128x96 shipped model's synthetic val the mean displacement from eager fp32 went
    from 1.68 px (NNCF's defaults, head fp32) to 0.90 (min/max) and 0.33 (and the front fp32).
    """
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    crops = np.concatenate(batches)
    dataset = nncf.Dataset([crops[i : i + 1] for i in range(len(crops))])
    ignored = nncf.IgnoredScope(names=sorted({*final_ops(ov_model), *front_ops(ov_model)}), validate=False)
    ranges = AdvancedQuantizationParameters(activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX)
    with _quiet_nncf():
        return nncf.quantize(
            ov_model, dataset, subset_size=len(crops), ignored_scope=ignored, advanced_parameters=ranges
        )


@contextlib.contextmanager
def _quiet_nncf() -> Iterator[None]:
    """NNCF logs each op it leaves unquantised at INFO (~20 lines for a ResNet-18) and draws a
    progress bar, both on standard output, where `simplepose predict` says what it did. Inside
    this block its logger passes warnings only (its handler keeps the real stdout) and the bar,
    drawn on whatever `sys.stdout` is at the time, goes nowhere."""
    logger = logging.getLogger("nncf")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def build_openvino_int8(model: nn.Module, spec: RuntimeSpec) -> BuiltRuntime:
    """OpenVINO int8: `spec.onnx_model` if it is already quantised (a file from `simplepose export
    --int8`: OpenVINO runs its QuantizeLinear/QLinear nodes in int8), else NNCF on the fp32
    export, calibrated on crops of `spec.calibration` (the same crops `onnx-int8` uses)."""
    _cpu_only(spec, "openvino-int8")
    from .onnx_paths import calibration_batches

    with Timer() as t:
        if spec.onnx_model:
            require_openvino("runtime openvino-int8")
            source, what = read_onnx(model, spec), spec.onnx_model
        else:
            require_openvino("runtime openvino-int8", quantize=True)
            if not spec.calibration:
                raise ValueError(
                    "runtime openvino-int8 needs calibration images (test.calibration = a folder) "
                    "or an int8 model (test.onnx_model = a file from `simplepose export --int8`)"
                )
            batches = calibration_batches(spec.calibration, spec.input_size, spec.normalize)
            source, what = quantize_openvino(read_onnx(model, spec), batches), f"NNCF, calibrated on {spec.calibration}"
        runner = OpenVinoRunner(source, spec.threads, "f32")  # int8 where quantised, f32 elsewhere
    return BuiltRuntime("openvino-int8", runner, "int8", f"OpenVINO CPU, static int8 ({what})", t.seconds)


def openvino_version() -> str | None:
    """OpenVINO's version, or None when it is not installed (for bench's header)."""
    if not openvino_available():
        return None
    import openvino

    return openvino.__version__
