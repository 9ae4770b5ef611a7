"""Degenerate sizes: images, boxes and frames of one pixel (1x1, 1xN, Nx1) work everywhere.

A box narrower than a pixel is cropped as the pixel at its centre, magnified (`geometry.
MIN_BOX_SIDE`); DIS flow and the mp4 writer get frames padded to the sizes they accept; the
ONNX detector keeps a box that fills a one-pixel-wide image; `synth` makes sets of any size.
Through the installed `predict` and `track`, `PoseEstimator` and `TopDownPredictor`.
"""

import json
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
from e2e_helpers import message_lines, simplepose, simplepose_in_process
from hypothesis import given, settings
from hypothesis import strategies as st
from yolox_fake import CODES, make_yolox_onnx

from simplepose.core.geometry import BOX_PADDING, MIN_BOX_SIDE, boxes_to_center_scale, warp_points
from simplepose.core.transforms import crop_matrix, warp_crop
from simplepose.formats.check import outside_image
from simplepose.tracking.flow import DenseFlow, SparseFlow

#: (w, h) of the images and frames tried: one pixel, a column, a row, a few pixels.
SIZES = [(1, 1), (1, 9), (9, 1), (2, 3)]
#: What the fake YOLOX detector reads as person 0 at score 0.9 (blue = its code, green = 0.9 * 255).
PERSON = (CODES[0], 230, 255 - CODES[0])


def person_image(w: int, h: int) -> np.ndarray:
    """A (h, w, 3) image wholly covered by the fake detector's person 0."""
    return np.broadcast_to(np.array(PERSON, np.uint8), (h, w, 3)).copy()


@pytest.fixture(scope="module")
def fake_detector(tmp_path_factory) -> Path:
    pytest.importorskip("onnxruntime")
    path = tmp_path_factory.mktemp("det") / "yolox.onnx"
    path.write_bytes(make_yolox_onnx(640))
    return path


# ---------------------------------------------------------------- the crop geometry
@settings(max_examples=300, deadline=None)
@given(
    x=st.floats(-50, 50),
    y=st.floats(-50, 50),
    w=st.floats(0, 3),
    h=st.floats(0, 3),
    aspect=st.floats(0.2, 5.0),
    udp=st.booleans(),
)
def test_a_tiny_box_gives_a_finite_crop_of_positive_size_centred_on_it(x, y, w, h, aspect, udp):
    center, scale = boxes_to_center_scale(np.array([[x, y, w, h]]), aspect)
    assert np.isfinite(scale).all() and (scale >= MIN_BOX_SIDE * BOX_PADDING * (1 - 1e-12)).all()
    assert scale[0, 0] / scale[0, 1] == pytest.approx(aspect)  # widened to the input's aspect ratio
    np.testing.assert_allclose(center[0], [x + w / 2, y + h / 2])
    assert (scale[0] >= np.array([w, h]) * BOX_PADDING - 1e-9).all()  # never smaller than the box
    out = (32, 64)
    matrix = crop_matrix(center[0], scale[0], 0.0, out, udp=udp)
    assert np.isfinite(matrix).all()
    mid = (np.array(out) - 1) / 2 if udp else np.array(out) / 2
    np.testing.assert_allclose(warp_points(center[0], matrix), mid, atol=1e-3)  # float32, as the paper's


def test_a_one_pixel_image_crops_to_that_pixel_magnified():
    image = np.full((1, 1, 3), (10, 120, 250), np.uint8)
    center, scale = boxes_to_center_scale(np.array([[0.0, 0.0, 0.0, 0.0]]), 0.5)  # a 1x1 image's whole box
    crop = warp_crop(image, crop_matrix(center[0], scale[0], 0.0, (32, 64)), (32, 64))
    assert crop[32, 16].tolist() == [10, 120, 250]  # the crop's centre is the pixel itself
    assert crop.shape == (64, 32, 3) and crop.max() == 250


def test_a_box_filling_a_one_pixel_wide_image_is_inside_it():
    # [0, 0, 0, 8]: the paper's clipped box of a person filling the 1x9 image (x2 = x1 = 0).
    assert outside_image(
        np.array([[0, 0, 1, 9], [0, 0, 9, 1], [0, 0, 1, 1], [0, 0, 0, 8], [2, 0, 3, 9]]), 1, 9
    ).tolist() == [False, False, False, False, True]


def test_half_body_crop_of_joints_on_one_pixel_has_positive_size():
    from simplepose.core.codec import HeatmapCodec
    from simplepose.core.skeleton import COCO
    from simplepose.data.dataset import TopDownDataset

    ds = TopDownDataset([], COCO, HeatmapCodec((32, 64), (8, 16)), (32, 64))
    center, scale = ds.half_body_crop(np.full((17, 2), 4.0), np.full(17, 2), np.random.default_rng(0))
    assert center.tolist() == [4.0, 4.0] and (scale > 0).all() and np.isfinite(scale).all()


# ---------------------------------------------------------------- flow and the detector
@pytest.mark.parametrize("w,h", SIZES + [(3, 40), (40, 3)])
def test_flow_follows_points_on_frames_of_any_size(w, h):
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 255, (2, h, w), dtype=np.uint8)
    points = np.array([[0.0, 0.0], [w - 1.0, h - 1.0]])
    for flow in (DenseFlow(), DenseFlow(max_side=4), SparseFlow()):
        assert np.isfinite(flow(a, b, points)).all()
        np.testing.assert_allclose(flow(a, a.copy(), points), points, atol=1e-3)  # a still frame: no motion


@pytest.mark.parametrize("w,h", SIZES)
def test_the_onnx_detector_finds_a_person_filling_a_tiny_image(fake_detector, w, h):
    from simplepose.inference.onnx_detector import OnnxPersonDetector

    boxes, scores = OnnxPersonDetector(fake_detector)(person_image(w, h))
    assert len(boxes) == 1 and scores[0] == pytest.approx(230 / 255, abs=1e-3)
    assert (boxes[0, :2] >= 0).all() and boxes[0, 2] <= w and boxes[0, 3] <= h
    assert boxes[0, 2] - boxes[0, 0] >= w / 2 and boxes[0, 3] - boxes[0, 1] >= h / 2


# ---------------------------------------------------------------- the library
@pytest.mark.parametrize("w,h", SIZES)
def test_predictor_and_estimator_work_on_tiny_images_and_boxes(tiny_model, fake_detector, w, h):
    from simplepose import PoseEstimator
    from simplepose.inference.predictor import TopDownPredictor

    ckpt = str(tiny_model.out / "last.pth")
    image = person_image(w, h)
    predictor = TopDownPredictor.from_checkpoint(ckpt, runtime="eager")
    boxes = np.array(
        [[0, 0, w - 1, h - 1], [0, 0, 0, 0], [0.2, 0.3, 0.4, 0.5], [0, 0, w, h], [-5, -5, w + 5, h + 5]], np.float64
    )
    poses = predictor(image, boxes)
    assert poses.keypoints.shape == (5, 17, 3) and np.isfinite(poses.keypoints).all()
    for detector in ("none", str(fake_detector)):
        est = PoseEstimator(checkpoint=ckpt, detector=detector, runtime="eager")
        found = est(image)
        assert len(found) == 1 and np.isfinite(found.keypoints).all()
        assert est.draw(image, found).shape == image.shape


def test_estimator_tracks_frames_one_pixel_wide(tiny_model, fake_detector, tmp_path):
    from simplepose import PoseEstimator

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), person_image(1, 9))
    # The one-epoch model is unsure of every joint: keep poses and joints of any score, so the
    # tracker has something to follow.
    est = PoseEstimator(
        checkpoint=str(tiny_model.out / "last.pth"),
        detector=str(fake_detector),
        runtime="eager",
        overrides=("track.min_pose_score=0", "track.keypoint_thresh=0"),
    )
    tracked = list(est.track(tmp_path))
    assert len(tracked) == 3 and all(len(p) == 1 for _, p in tracked)
    assert len({int(p.track_ids[0]) for _, p in tracked}) == 1  # one person, one id


# ---------------------------------------------------------------- the commands
def _no_trouble(run) -> None:
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]


def test_predict_writes_results_and_drawings_for_tiny_images(tiny_model, fake_detector, tmp_path, capfd):
    """The installed command with whole-image boxes; with the detector, in the test's process."""
    folder = tmp_path / "images"
    folder.mkdir()
    for w, h in SIZES:
        cv2.imwrite(str(folder / f"{w}x{h}.png"), person_image(w, h))
    for detector, command in (("none", simplepose), (fake_detector, partial(simplepose_in_process, capfd))):
        out = tmp_path / f"out-{Path(str(detector)).stem}"
        run = command(
            "predict",
            folder,
            "--checkpoint",
            tiny_model.out / "last.pth",
            "--detector",
            detector,
            "--out",
            out,
            cwd=tmp_path,
        )
        _no_trouble(run)
        results = json.loads((out / "results.json").read_text())
        assert len(results) == len(SIZES) and all(len(r["keypoints"]) == 51 for r in results)
        for w, h in SIZES:
            drawn = cv2.imread(str(out / f"{w}x{h}.png"))
            assert drawn is not None and drawn.shape == (h, w, 3)


@pytest.mark.parametrize("w,h", [(1, 1), (1, 9), (9, 1)])
def test_track_writes_results_and_a_video_for_tiny_frames(tiny_model, fake_detector, tmp_path, w, h, capfd):
    """The installed command on 1x1 frames; a column and a row, in the test's process."""
    frames = tmp_path / "clip"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:03d}.png"), person_image(w, h))
    out = tmp_path / "out"
    command = simplepose if (w, h) == (1, 1) else partial(simplepose_in_process, capfd)
    run = command(
        "track",
        frames,
        "--checkpoint",
        tiny_model.out / "last.pth",
        "--detector",
        fake_detector,
        "--out",
        out,
        cwd=tmp_path,
    )
    _no_trouble(run)
    written = sorted(p.name for p in out.iterdir())
    assert any(n.endswith(".json") for n in written) and any(n.endswith(".mp4") for n in written), written
    video = cv2.VideoCapture(str(next(out.glob("*.mp4"))))
    ok, first = video.read()
    assert ok and first.shape[:2] == (max(2, h + h % 2), max(2, w + w % 2))  # padded to even sides, 2 at least


def test_synth_then_track_at_one_pixel_wide(tmp_path):
    """`synth` makes a set of any size (its false-positive boxes stay of positive height)."""
    run = simplepose(
        "synth",
        "--out",
        tmp_path / "s",
        "--images",
        3,
        "--videos",
        1,
        "--frames",
        3,
        "--size",
        "1x40",
        "--video-size",
        "1x40",
        "--max-people",
        2,
        "--seed",
        0,
        cwd=tmp_path,
    )
    _no_trouble(run)
    for path in (tmp_path / "s").rglob("*.json"):
        data = json.loads(path.read_text())
        items = data if isinstance(data, list) else data.get("annotations", [])
        assert all(min(a["bbox"][2:]) >= 0 for a in items if isinstance(a, dict) and "bbox" in a), path
    images = sorted((tmp_path / "s" / "images").rglob("*.jpg"))
    assert images and all(cv2.imread(str(p)).shape[:2] == (40, 1) for p in images)


def test_train_on_records_with_tiny_boxes(synth_set, tiny_config, tmp_path):
    """Person boxes narrower than a pixel (one of zero width) in the training set: trained on."""
    import yaml

    ann = json.loads((synth_set.out / "annotations" / "train.json").read_text())
    ann["annotations"][0]["bbox"][2:] = [0.5, 0.25]
    ann["annotations"][1]["bbox"][2:] = [0.0, 3.0]
    (tmp_path / "train.json").write_text(json.dumps(ann))
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["data"]["train_ann"] = str(tmp_path / "train.json")
    cfg["data"]["train_images"] = str(synth_set.out / "images" / "train")
    cfg["train"]["val_every"] = 0
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(cfg))
    run = simplepose(
        "train",
        config,
        "--out",
        tmp_path / "run",
        "--set",
        "data.half_body=true",
        "--set",
        "data.half_body_prob=1.0",
        "--set",
        "data.half_body_min_joints=0",
        cwd=tmp_path,
    )
    _no_trouble(run)
    assert (tmp_path / "run" / "last.pth").is_file()
    assert not [line for line in message_lines(run.stderr) if "nan" in line.lower()]


def test_eval_on_tiny_images_with_gt_boxes_and_detections(synth_set, tiny_model, tmp_path, capfd):
    """A val set of 1x1, 1x9, 9x1 and 2x3 images, each with one labelled person filling it:
    `eval` crops, predicts and scores every one, with GT boxes (the installed command) and with
    a detections file (in the test's process)."""
    gt = json.loads((synth_set.out / "annotations" / "val.json").read_text())
    images = tmp_path / "images"
    images.mkdir()
    gt["images"], gt["annotations"], dets = [], [], []
    for i, (w, h) in enumerate(SIZES, start=1):
        cv2.imwrite(str(images / f"{i:03d}.png"), person_image(w, h))
        gt["images"].append({"id": i, "file_name": f"{i:03d}.png", "width": w, "height": h})
        kps = [v for _ in range(17) for v in ((w - 1) / 2, (h - 1) / 2, 2)]
        gt["annotations"].append(
            {
                "id": i,
                "image_id": i,
                "category_id": 1,
                "iscrowd": 0,
                "bbox": [0, 0, w, h],
                "area": float(w * h),
                "keypoints": kps,
                "num_keypoints": 17,
            }
        )
        dets.append({"image_id": i, "category_id": 1, "bbox": [0, 0, w, h], "score": 0.9})
    (tmp_path / "val.json").write_text(json.dumps(gt))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    where = ("--set", f"data.val_ann={tmp_path / 'val.json'}", "--set", f"data.val_images={images}")
    for boxes, command in (("gt", simplepose), (tmp_path / "dets.json", partial(simplepose_in_process, capfd))):
        out = tmp_path / f"eval-{Path(str(boxes)).stem}"
        run = command(
            "eval", "--checkpoint", tiny_model.out / "last.pth", "--boxes", boxes, *where, "--out", out, cwd=tmp_path
        )
        _no_trouble(run)
        assert not [line for line in message_lines(run.stderr) if "skipped" in line], run.stderr[-2000:]
        results = json.loads((out / "results.json").read_text())
        assert sorted(r["image_id"] for r in results) == [1, 2, 3, 4]
        assert (out / "metrics.json").is_file()


def test_posetrack_training_keeps_a_person_whose_box_clips_to_one_pixel_column(synth_set, tmp_path):
    from simplepose.data.posetrack import load_posetrack

    video = json.loads((synth_set.out / "posetrack" / "annotations" / "val" / "000001_synth.json").read_text())
    first = video["annotations"][0]
    first["bbox"] = [5.0, 5.0, 1.0, 30.0]  # clips to x2 = x1: a person one pixel wide
    (tmp_path / "v.json").write_text(json.dumps(video))
    kept = {r.ann_id: r for r in load_posetrack(tmp_path / "v.json", synth_set.out, for_training=True).records}
    assert first["id"] in kept and kept[first["id"]].box[2] == 0.0
    _, scale = boxes_to_center_scale(kept[first["id"]].box[None], 0.5)
    assert (scale > 0).all()
