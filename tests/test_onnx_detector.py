"""OnnxPersonDetector on fake mmdeploy YOLOX graphs (tests/yolox_fake.py) whose answers are
known: letterbox and back-mapping exact, thresholds, batches, errors, and rtmlib's own boxes."""

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from yolox_fake import CODES, expected_boxes, make_yolox_bundle, make_yolox_onnx, paint_people  # noqa: E402 (after the skips)

from simplepose.inference.onnx_detector import OnnxPersonDetector  # noqa: E402 (after the skips)

GOLDEN = Path(__file__).parent / "golden" / "rtmlib_yolox_boxes.json"
#: Four people fitting the 7x7 cells that odd portrait and landscape images leave at 416.
PEOPLE = [(0, (0, 0, 2, 1), 230), (3, (1, 3, 5, 4), 200), (7, (4, 6, 6, 6), 180)]
SIZES = [(977, 533), (411, 731), (300, 251), (1283, 719)]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """(input size, dynamic batch) -> path of a fake end2end.onnx."""
    root = tmp_path_factory.mktemp("yolox")
    out = {}
    for size in (416, 640):
        for dynamic in (False, True):
            path = root / f"end2end_{size}_{'dyn' if dynamic else 'static'}.onnx"
            path.write_bytes(make_yolox_onnx(size, dynamic_batch=dynamic))
            out[size, dynamic] = path
    return out


def detector(models, size=640, dynamic=False, **kw):
    return OnnxPersonDetector(models[size, dynamic], threads=1, **kw)


@pytest.mark.parametrize("size", [416, 640])
@pytest.mark.parametrize("width,height", SIZES)
def test_letterbox_and_back_mapping_are_exact(models, size, width, height):
    det = detector(models, size)
    assert det.input_hw == (size, size)
    boxes, scores = det(paint_people(width, height, size, PEOPLE))
    np.testing.assert_allclose(boxes, expected_boxes(width, height, size, PEOPLE), rtol=0, atol=1e-3)
    np.testing.assert_allclose(scores, [230 / 255, 200 / 255, 180 / 255], atol=1e-6)
    assert boxes.dtype == np.float64 and scores.dtype == np.float64


def test_image_of_the_input_size_is_fed_unresized(models):
    boxes, _ = detector(models, 416)(paint_people(416, 416, 416, PEOPLE))
    np.testing.assert_array_equal(boxes, [[0, 0, 64, 96], [96, 32, 160, 192], [192, 128, 224, 224]])


def test_a_centred_letterbox_or_rgb_input_would_be_caught(models):
    """The fake's answer depends on the placement and channel order: a detector that pads
    around the centre or feeds RGB finds other boxes (here: none)."""
    det = detector(models, 640)
    image = paint_people(411, 731, 640, PEOPLE)
    canvas, ratio = det.letterbox(image)
    off = (640 - int(411 * ratio)) // 2
    centred = np.full_like(canvas, 114)
    centred[:, off:] = canvas[:, : 640 - off]
    for wrong in (centred, canvas[:, :, ::-1]):
        dets, _ = det._run(wrong[None])
        assert not np.array_equal(
            det._postprocess(dets[0], None, ratio, image.shape[:2])[0], expected_boxes(411, 731, 640, PEOPLE)
        )


def test_score_threshold_is_strict_and_adjustable(models):
    people = [(0, (0, 0, 1, 1), 70), (1, (3, 3, 4, 4), 77)]  # scores 0.2745, 0.3020
    image = paint_people(800, 600, 640, people)
    _, scores = detector(models)(image)
    np.testing.assert_allclose(scores, [77 / 255], atol=1e-6)
    _, scores = detector(models, score_thresh=0.25)(image)
    np.testing.assert_allclose(scores, [70 / 255, 77 / 255], atol=1e-6)
    assert len(detector(models, score_thresh=77 / 255 + 1e-4)(image)[0]) == 0


def test_min_size_drops_small_boxes_on_either_side(models):
    # r = 0.8: one cell is 40 image pixels. Wide-but-short, tall-but-narrow, and big.
    people = [(0, (0, 0, 0, 3), 200), (1, (2, 0, 5, 0), 200), (2, (2, 2, 4, 4), 200)]
    image = paint_people(800, 600, 640, people)
    assert len(detector(models)(image)[0]) == 3
    boxes, _ = detector(models, min_size=41.0)(image)
    np.testing.assert_allclose(boxes, [[80, 80, 200, 200]], atol=1e-3)


def test_boxes_are_clipped_to_the_image(models):
    # r = 0.64, resized height 435: row 13's centre (432) is inside, its far edge (448) is not.
    image = paint_people(1000, 680, 640, [(2, (12, 3, 13, 5), 250)], allow_edge=True)
    boxes, _ = detector(models)(image)
    np.testing.assert_allclose(boxes, [[150, 600, 300, 680]], atol=1e-3)


def test_no_people(models):
    boxes, scores = detector(models)(np.zeros((480, 640, 3), np.uint8))
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_many_people(models):
    people = [(k, (2 * (k // 5), 3 * (k % 5), 2 * (k // 5), 3 * (k % 5) + 1), 100 + 10 * k) for k in range(len(CODES))]
    boxes, scores = detector(models)(paint_people(1283, 719, 640, people))
    np.testing.assert_allclose(boxes, expected_boxes(1283, 719, 640, people), atol=1e-3)
    np.testing.assert_allclose(scores, [(100 + 10 * k) / 255 for k in range(len(CODES))], atol=1e-6)


def test_labels_other_than_person_are_dropped(models, tmp_path):
    path = tmp_path / "two_classes.onnx"
    path.write_bytes(make_yolox_onnx(416, other_class=[3]))
    boxes, _ = OnnxPersonDetector(path, threads=1)(paint_people(977, 533, 416, PEOPLE))
    np.testing.assert_allclose(boxes, expected_boxes(977, 533, 416, [PEOPLE[0], PEOPLE[2]]), atol=1e-3)


@pytest.mark.parametrize("dynamic", [False, True])
def test_batch_equals_frame_by_frame(models, dynamic, monkeypatch):
    det = detector(models, 416, dynamic)
    assert det.dynamic_batch is dynamic
    frames = [paint_people(w, h, 416, PEOPLE) for w, h in SIZES] + [np.zeros((300, 500, 3), np.uint8)]
    single = [det(f) for f in frames]
    runs = []
    real_run = det._run
    monkeypatch.setattr(det, "_run", lambda x: runs.append(len(x)) or real_run(x))
    batch = det.detect_batch(frames)
    assert runs == ([len(frames)] if dynamic else [1] * len(frames))
    for (b, s), (b1, s1) in zip(batch, single):
        np.testing.assert_array_equal(b, b1)
        np.testing.assert_array_equal(s, s1)
    assert det.detect_batch([]) == []


def test_rtmlib_gives_the_same_boxes(models):
    """Boxes of rtmlib's YOLOX on the same graphs and images (tests/golden/make_rtmlib_boxes.py);
    rtmlib neither clips nor applies a min size, so its boxes are clipped here."""
    cases = json.loads(GOLDEN.read_text())["cases"]
    worst = 0.0
    for case in cases:
        size, w, h = case["input_size"], case["width"], case["height"]
        people = [(s, tuple(c), g) for s, c, g in case["people"]]
        boxes, _ = detector(models, size)(paint_people(w, h, size, people, allow_edge=True))
        want = np.array(case["boxes"], np.float64).reshape(-1, 4).clip(0, [w, h, w, h])
        assert boxes.shape == want.shape, case
        worst = max(worst, float(np.abs(boxes - want).max(initial=0.0)))
    assert worst < 1e-3


def test_bundle_layout_and_its_model_loads(models, tmp_path):
    bundle = make_yolox_bundle(tmp_path / "yolox.zip", models[640, False].read_bytes(), 640)
    with zipfile.ZipFile(bundle) as z:
        names = sorted(z.namelist())
        z.extractall(tmp_path / "x")
    folder = "yolox_m_8xb8-300e_humanart-c2c7a14a"
    assert names == [f"{folder}/{n}" for n in ("deploy.json", "detail.json", "end2end.onnx", "pipeline.json")]
    det = OnnxPersonDetector(tmp_path / "x" / folder / "end2end.onnx", threads=1)
    assert det.input_hw == (640, 640) and det.dets_name == "dets" and det.labels_name == "labels"


def test_clear_errors(tmp_path, monkeypatch):
    import onnx.numpy_helper
    from onnx import TensorProto, helper

    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        OnnxPersonDetector(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf \x00\xff" * 10)
    with pytest.raises(ValueError, match="junk.onnx: not a readable ONNX graph"):
        OnnxPersonDetector(junk)

    def graph(in_shape, out_shape, name):
        # The input is left unused: the output is zeros of `out_shape`, all that the detector reads.
        shape = onnx.numpy_helper.from_array(np.array(out_shape, np.int64), "shape")
        g = helper.make_graph(
            [
                helper.make_node("Constant", [], ["shape"], value=shape),
                helper.make_node("ConstantOfShape", ["shape"], ["output"]),
            ],
            "g",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, out_shape)],
        )
        path = tmp_path / name
        path.write_bytes(
            helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
        )
        return path

    with pytest.raises(ValueError, match="no_nms.onnx: no detections output .*output \\[1, 8400, 85\\]"):
        OnnxPersonDetector(graph([1, 3, 640, 640], [1, 8400, 85], "no_nms.onnx"))
    with pytest.raises(ValueError, match="dynamic_hw.onnx: input 'input' has shape"):
        OnnxPersonDetector(graph([1, 3, "h", "w"], [1, 10, 5], "dynamic_hw.onnx"))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(ValueError, match="pip install onnxruntime"):
        OnnxPersonDetector(junk)


def test_bad_image_shape(models):
    with pytest.raises(ValueError, match="BGR image"):
        detector(models)(np.zeros((100, 100), np.uint8))
