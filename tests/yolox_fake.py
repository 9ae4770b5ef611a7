"""A tiny stand-in for an mmdeploy YOLOX `end2end.onnx` person detector, and its zip bundle.

The real graphs (mmdeploy `configs/mmdet/_base_/base_static.py` over `configs/_base_/onnx_config.py`)
take `input` (1, 3, S, S) float32 BGR 0-255 and return `dets` (1, N, 5) = x1, y1, x2, y2, score
in input pixels (after the graph's own NMS) and `labels` (1, N) int64. This fake has the same
names and shapes, and computes its answer from the input so that a test knows it exactly:

- the input is read on a grid of `CELL`-pixel cells, each at its centre pixel
  (cell (i, j) = input pixel (CELL*i + CELL/2, CELL*j + CELL/2), rows then columns);
- person k (k < len(CODES)) is every cell whose **blue** value equals `CODES[k]`; its box is the
  bounding box of those cells in input pixels: x1 = CELL*j0, x2 = CELL*(j1 + 1), same for y;
- its score is the largest **green** value over those cells / 255; absent people give a zero row.

A test paints person k as a uniform rectangle (blue = CODES[k], green = 255 * score) that covers
the chosen cells' centres with a margin (bilinear resizing keeps a uniform area's value exact),
and expects the box (cell box in input pixels) / ratio in the image: a wrong ratio, a centred
letterbox, RGB input or any normalisation moves or loses the people.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

#: Cell size in input pixels (416 and 640 are both multiples of 32).
CELL = 32
#: Blue value of each person slot: not 114 (the letterbox fill), not 0 (the test background), and
#: no 255 - code is a code, so an RGB-fed detector finds no one.
CODES = (20, 40, 60, 80, 100, 140, 160, 180, 200, 220)


def make_yolox_onnx(
    input_size: int = 640, dynamic_batch: bool = False, other_class: Sequence[int] = (), opset: int = 17
) -> bytes:
    """The fake `end2end.onnx` bytes: input `input` (B, 3, S, S), outputs `dets` (B, K, 5) float32
    and `labels` (B, K) int64, K = len(CODES); B is 1, or the symbolic `batch` if `dynamic_batch`.
    Slots listed in `other_class` are labelled 1 (not a person), the others 0."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if input_size % CELL:
        raise ValueError(f"input size {input_size} is not a multiple of {CELL}")
    k = len(CODES)
    half = CELL // 2
    batch: int | str = "batch" if dynamic_batch else 1

    def const(name: str, value: np.ndarray) -> onnx.NodeProto:
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value), name))

    def slice_channel(c: int, out: str) -> list[onnx.NodeProto]:
        # Channel c at every cell centre: (B, 1, S/CELL, S/CELL).
        return [
            const(f"{out}_starts", np.array([c, half, half], np.int64)),
            const(f"{out}_ends", np.array([c + 1, input_size, input_size], np.int64)),
            const(f"{out}_axes", np.array([1, 2, 3], np.int64)),
            const(f"{out}_steps", np.array([1, CELL, CELL], np.int64)),
            helper.make_node("Slice", ["input", f"{out}_starts", f"{out}_ends", f"{out}_axes", f"{out}_steps"], [out]),
        ]

    labels = np.array([1 if i in set(other_class) else 0 for i in range(k)], np.float32)[None]  # (1, K)
    nodes = (
        slice_channel(0, "blue")
        + slice_channel(1, "green")
        + [
            const("codes", np.array(CODES, np.float32).reshape(1, k, 1, 1)),
            helper.make_node("Equal", ["blue", "codes"], ["mask_b"]),
            helper.make_node("Cast", ["mask_b"], ["mask"], to=TensorProto.FLOAT),  # (B, K, h, w)
            helper.make_node("ReduceMax", ["mask"], ["rows"], axes=[3], keepdims=0),  # (B, K, h)
            helper.make_node("ReduceMax", ["mask"], ["cols"], axes=[2], keepdims=0),  # (B, K, w)
            helper.make_node("ReduceMax", ["rows"], ["present"], axes=[2], keepdims=0),  # (B, K)
            helper.make_node("Mul", ["mask", "green"], ["greens"]),
            helper.make_node("ReduceMax", ["greens"], ["green_max"], axes=[2, 3], keepdims=0),
            const("inv255", np.array(1.0 / 255.0, np.float32)),
            helper.make_node("Mul", ["green_max", "inv255"], ["score"]),
            const("cell", np.array(float(CELL), np.float32)),
            const("one", np.array(1.0, np.float32)),
        ]
    )
    coords = []
    for name, src, last in (("x1", "cols", 0), ("y1", "rows", 0), ("x2", "cols", 1), ("y2", "rows", 1)):
        nodes += [
            helper.make_node("ArgMax", [src], [f"{name}_i"], axis=2, keepdims=0, select_last_index=last),
            helper.make_node("Cast", [f"{name}_i"], [f"{name}_f"], to=TensorProto.FLOAT),
        ]
        edge = f"{name}_f"
        if last:  # the far edge of the last cell
            nodes.append(helper.make_node("Add", [edge, "one"], [f"{name}_e"]))
            edge = f"{name}_e"
        nodes += [
            helper.make_node("Mul", [edge, "cell"], [f"{name}_px"]),
            helper.make_node("Mul", [f"{name}_px", "present"], [f"{name}_z"]),
        ]  # absent: a zero row
        coords.append(f"{name}_z")
    nodes += [const("last_axis", np.array([2], np.int64))]
    for c in coords + ["score"]:
        nodes.append(helper.make_node("Unsqueeze", [c, "last_axis"], [f"{c}_u"]))
    nodes += [
        helper.make_node("Concat", [f"{c}_u" for c in coords + ["score"]], ["dets"], axis=2),
        const("slot_labels", labels),
        const("zero", np.array(0.0, np.float32)),
        helper.make_node("Mul", ["present", "zero"], ["zeros"]),  # (B, K): gives labels the batch size
        helper.make_node("Add", ["zeros", "slot_labels"], ["labels_f"]),
        helper.make_node("Cast", ["labels_f"], ["labels"], to=TensorProto.INT64),
    ]
    graph = helper.make_graph(
        nodes,
        "fake_yolox_end2end",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, input_size, input_size])],
        [
            helper.make_tensor_value_info("dets", TensorProto.FLOAT, [batch, k, 5]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, [batch, k]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="yolox_fake")
    model.ir_version = 8  # readable by any onnxruntime >= 1.15
    onnx.checker.check_model(model)
    return model.SerializeToString()


#: Bundle folder names of the real zips (rtmlib README; the suffix is the .pth's hash).
BUNDLE_NAMES = {416: "yolox_tiny_8xb8-300e_humanart-6f3252f9", 640: "yolox_m_8xb8-300e_humanart-c2c7a14a"}


def make_yolox_bundle(zip_path: str | Path, onnx_bytes: bytes, input_size: int) -> Path:
    """Zip `onnx_bytes` as an rtmlib/mmdeploy SDK bundle: `<name>/end2end.onnx` beside the
    `deploy.json`, `pipeline.json` and `detail.json` that mmdeploy's `export2SDK` writes
    (trimmed to their main keys). rtmlib only looks for a member whose path ends in
    `end2end.onnx`. Returns `zip_path`."""
    name = BUNDLE_NAMES.get(input_size, f"yolox_fake_{input_size}")
    deploy = {
        "version": "1.3.1",
        "task": "Detector",
        "customs": [],
        "models": [
            {
                "name": "yolox",
                "net": "end2end.onnx",
                "weights": "",
                "backend": "onnxruntime",
                "precision": "FP32",
                "batch_size": 1,
                "dynamic_shape": False,
            }
        ],
    }
    pipeline = {
        "pipeline": {
            "input": ["img"],
            "output": ["post_output"],
            "tasks": [
                {
                    "type": "Task",
                    "module": "Transform",
                    "name": "Preprocess",
                    "input": ["img"],
                    "output": ["prep_output"],
                    "transforms": [
                        {"type": "LoadImageFromFile"},
                        {"type": "Resize", "keep_ratio": True, "size": [input_size, input_size]},
                        {"type": "Pad", "size": [input_size, input_size], "pad_val": {"img": [114.0, 114.0, 114.0]}},
                        {"type": "DefaultFormatBundle"},
                        {"type": "Collect", "keys": ["img"]},
                    ],
                },
                {
                    "type": "Task",
                    "module": "Net",
                    "name": "yolox",
                    "input": ["prep_output"],
                    "output": ["infer_output"],
                    "input_map": {"img": "input"},
                },
                {
                    "type": "Task",
                    "module": "mmdet",
                    "name": "postprocess",
                    "component": "ResizeBBox",
                    "params": {"score_thr": 0.01, "nms": {"type": "nms", "iou_threshold": 0.65}},
                    "input": ["prep_output", "infer_output"],
                    "output": ["post_output"],
                },
            ],
        }
    }
    detail = {
        "version": "1.3.1",
        "codebase": {"task": "ObjectDetection", "codebase": "mmdet"},
        "onnx_config": {
            "type": "onnx",
            "save_file": "end2end.onnx",
            "input_names": ["input"],
            "output_names": ["dets", "labels"],
            "input_shape": None,
        },
        "backend_config": {"type": "onnxruntime"},
    }
    zip_path = Path(zip_path)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{name}/end2end.onnx", onnx_bytes)
        for member, obj in (("deploy.json", deploy), ("pipeline.json", pipeline), ("detail.json", detail)):
            z.writestr(f"{name}/{member}", json.dumps(obj, indent=4))
    return zip_path


# ------------------------------------------------------------------ images with known people
Person = tuple[int, tuple[int, int, int, int], int]  # (slot, cell box (i0, j0, i1, j1) inclusive, green)


def letterbox_ratio(width: int, height: int, input_size: int) -> float:
    """rtmlib's ratio: the largest scale at which the image fits the square input."""
    return min(input_size / height, input_size / width)


def paint_people(
    width: int, height: int, input_size: int, people: Iterable[Person], allow_edge: bool = False
) -> np.ndarray:
    """A (height, width, 3) uint8 BGR image on a dark red background (B = G = 0, R = 90),
    holding each person as a uniform rectangle: blue = CODES[slot], green = `green`, red = 255 - blue.

    A person is given by the cells it must cover in the *letterboxed input* (rows i0..i1,
    columns j0..j1); the rectangle drawn in the image reaches half a cell beyond their centres,
    mapped back through the ratio, so every centre samples the uniform inside (and no other
    cell's centre does) for a top-left letterbox of this exact ratio. `allow_edge`: a rectangle
    may run past the image's right or bottom edge and is cut there (a cell whose centre is still
    inside the resized image but whose far edge is not: the detector must clip its box).
    """
    r = letterbox_ratio(width, height, input_size)
    img = np.zeros((height, width, 3), np.uint8)
    img[:, :, 2] = 90
    for slot, (i0, j0, i1, j1), green in people:
        top, left = int(np.floor(CELL * i0 / r)), int(np.floor(CELL * j0 / r))
        bottom, right = int(np.ceil(CELL * (i1 + 1) / r)), int(np.ceil(CELL * (j1 + 1) / r))
        if (bottom > height or right > width) and not allow_edge:
            raise ValueError(f"cells {(i0, j0, i1, j1)} fall outside a {width}x{height} image")
        img[top:bottom, left:right] = (CODES[slot], green, 255 - CODES[slot])
    return img


def expected_boxes(width: int, height: int, input_size: int, people: Iterable[Person]) -> np.ndarray:
    """(N, 4) xyxy image-pixel boxes the detector must return for `paint_people`'s image, in
    slot order: the cell box in input pixels divided by the letterbox ratio."""
    r = letterbox_ratio(width, height, input_size)
    rows = sorted(people, key=lambda p: p[0])
    return (
        np.array(
            [[CELL * j0, CELL * i0, CELL * (j1 + 1), CELL * (i1 + 1)] for _, (i0, j0, i1, j1), _ in rows], np.float64
        ).reshape(-1, 4)
        / r
    )
