"""End to end through the CLI: `predict` on the real COCO sample with its GT boxes, `eval` of
a checkpoint and of a results file; and the predictor's batching contract."""

import json

import cv2
import numpy as np
import pytest
import torch

import simplepose
from simplepose.cli import main
from simplepose.config import build_model_kwargs, config_from_dict
from simplepose.evaluation.cocoeval import METRIC_KEYS, evaluate_coco_keypoints
from simplepose.inference.predictor import TopDownPredictor
from simplepose.nets.checkpoint import save_checkpoint
from simplepose.nets.model import PoseResNet

SMALL = {
    "model": {"depth": 18, "deconv_filters": 32},
    "data": {"input_size": [96, 128], "heatmap_size": [24, 32]},
    "test": {"batch_size": 8},
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    cfg = config_from_dict(SMALL)
    torch.manual_seed(0)
    model = PoseResNet(**build_model_kwargs(cfg.model))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pth"
    save_checkpoint(path, model, cfg)
    return path


def test_predict_on_real_images_with_gt_boxes_then_eval(real_data, checkpoint, tmp_path, capsys):
    coco_dir = real_data / "coco"
    gt_file = coco_dir / "test_coco.json"
    out = tmp_path / "pred"
    assert (
        main(["predict", "--checkpoint", str(checkpoint), "--boxes", str(gt_file), "--out", str(out), str(coco_dir)])
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    gt = json.loads(gt_file.read_text())
    ids = {im["id"] for im in gt["images"]}
    assert results and all(r["image_id"] in ids and len(r["keypoints"]) == 51 and 0 <= r["score"] <= 1 for r in results)
    assert len(results) <= sum(1 for a in gt["annotations"] if not a.get("iscrowd"))
    for im in gt["images"]:
        drawn = cv2.imread(str(out / im["file_name"]))
        assert drawn is not None and drawn.shape == (im["height"], im["width"], 3)
        original = cv2.imread(str(coco_dir / im["file_name"]))
        assert np.any(drawn != original)  # something was drawn
    # The written file is valid COCO results: it scores.
    metrics = evaluate_coco_keypoints(gt_file, out / "results.json")
    assert set(metrics) == set(METRIC_KEYS)

    # `eval --gt --results` scores it and writes metrics.json with the ten keys.
    assert (
        main(["eval", "--gt", str(gt_file), "--results", str(out / "results.json"), "--out", str(tmp_path / "m")]) == 0
    )
    written = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert written == {**metrics, "simplepose_version": simplepose.__version__}
    assert "Average Precision" in capsys.readouterr().out

    # `eval CONFIG --checkpoint` with GT boxes runs the same predictor: the same results.
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(
        json.dumps({**SMALL, "data": {**SMALL["data"], "val_ann": str(gt_file), "val_images": str(coco_dir)}})
    )
    ev = tmp_path / "ev"
    assert (
        main(
            [
                "eval",
                str(cfg_file),
                "--checkpoint",
                str(checkpoint),
                "--boxes",
                "gt",
                "--out",
                str(ev),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    ev_results = json.loads((ev / "results.json").read_text())
    strip = lambda rs: sorted((r["image_id"], r["score"], tuple(r["keypoints"])) for r in rs)  # noqa: E731 (a one-line sort key)
    assert strip(ev_results) == strip(results)
    assert json.loads((ev / "metrics.json").read_text()) == {**metrics, "simplepose_version": simplepose.__version__}


def test_predict_on_a_video_writes_a_video(real_data, checkpoint, tmp_path):
    video = real_data / "posetrack18" / "videos" / "000001_mpiinew_test" / "000001_mpiinew_test.mp4"
    out = tmp_path / "v"
    assert (
        main(
            [
                "predict",
                "--checkpoint",
                str(checkpoint),
                "--out",
                str(out),
                str(video),
                "--no-flip",
                "--detector",
                "none",
            ]
        )
        == 0
    )
    cap = cv2.VideoCapture(str(out / "000001_mpiinew_test_poses.mp4"))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    results = json.loads((out / "results.json").read_text())
    assert frames == 5 and len(results) == 5  # whole-frame box: one person per frame
    assert results[0]["file_name"] == "000001_mpiinew_test.mp4#0"


def test_predict_batch_equals_one_image_at_a_time(real_data):
    cfg = config_from_dict(SMALL)
    torch.manual_seed(1)
    model = PoseResNet(**build_model_kwargs(cfg.model))
    pred = TopDownPredictor.from_config(model, cfg, batch_size=3)
    images = [cv2.imread(str(p)) for p in sorted((real_data / "coco").glob("*.jpg"))[:2]]
    boxes = [np.array([[10, 20, 200, 300], [50, 60, 120, 250.0]]), np.array([[0, 0, 100, 200.0]])]
    scores = [np.array([0.9, 0.4]), np.array([0.7])]
    batch = pred.predict_batch(images, boxes, scores)
    for img, b, s, got in zip(images, boxes, scores, batch):
        one = pred(img, b, s)
        np.testing.assert_allclose(got.keypoints, one.keypoints, rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(got.boxes, b)
        np.testing.assert_array_equal(got.scores, s)
    assert len(pred(images[0], np.zeros((0, 4)))) == 0


class DotModel(torch.nn.Module):
    """A stand-in network whose heatmaps peak where the input has a bright dot: blur, then
    sample at the heatmap pixels' input positions (x_in = stride * x_hm for the paper's
    crop, the (size - 1) ranges for UDP's)."""

    def __init__(self, heatmap_size, num_joints=17, udp=False, sigma=5.0):
        super().__init__()
        self.size, self.k, self.udp = heatmap_size, num_joints, udp
        r = int(3 * sigma)
        g = torch.exp(-(torch.arange(-r, r + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
        self.register_buffer("kernel", (g[:, None] * g[None, :])[None, None] / g.sum() ** 2)

    def forward(self, x):
        g = x[:, :1] - x[:, :1].amin(dim=(2, 3), keepdim=True)
        g = torch.nn.functional.conv2d(g, self.kernel, padding=self.kernel.shape[-1] // 2)
        w, h = self.size
        if self.udp:
            g = torch.nn.functional.interpolate(g, size=(h, w), mode="bilinear", align_corners=True)
        else:
            g = g[:, :, :: x.shape[2] // h, :: x.shape[3] // w]
        g = g / g.amax(dim=(2, 3), keepdim=True)
        return g.repeat(1, self.k, 1, 1)


@pytest.mark.parametrize(
    "decoder,flip,tol",
    [
        ("paper", False, 0.5),
        ("paper", True, 0.5),
        ("udp", False, 0.5),
        ("udp", True, 0.5),
        ("dark", False, 0.02),
        ("udp-dark", False, 0.02),
        ("udp-dark", True, 0.02),
        # The paper's whole-pixel shift of the flipped heatmap is 0.25 px off the true 0.75:
        # averaged, an eighth of a pixel of bias that DARK then faithfully reports.
        ("dark", True, 0.2),
    ],
)
def test_predictor_finds_a_dot_with_every_decoder(decoder, flip, tol):
    """The whole geometry (crop, flip test, decode, inverse affine) puts the joint on the dot,
    within `tol` heatmap pixels; DARK's refinement is finer than the quarter step, and UDP's
    flip needs no shift. Eager: `auto` would export the blur and time ONNX Runtime on it (~3 s
    for each of the two models), which says nothing about the geometry."""
    image = np.zeros((300, 400, 3), np.uint8)
    dot = np.array([137.0, 201.0])
    image[200:203, 136:139] = 255
    box = np.array([[90.0, 60.0, 230.0, 290.0]])
    model = DotModel((24, 32), udp=decoder.startswith("udp"))
    pred = TopDownPredictor(model, (96, 128), (24, 32), flip_test=flip, decoder=decoder, runtime="eager")
    poses = pred(image, box, np.array([0.7]))
    _, scale = pred.crop_boxes(box)
    hm_px = scale[0, 0] / 24  # image pixels per heatmap pixel
    err = np.abs(poses.keypoints[0, :, :2] - dot).max() / hm_px
    assert err < tol, err
    assert poses.scores.tolist() == [0.7] and poses.keypoints[0, 0, 2] == pytest.approx(1.0, abs=0.05)


def reference_paper_pipeline(model, image, box_xywh, input_size, flip_pairs, normalize):
    """An independent, loop-by-loop account of the paper's inference for one box: crop,
    mirrored input, flip back + pair swap + one-pixel shift, average, argmax, quarter step
    inside 1 < p < size - 1, inverse affine of the heatmap-sized crop."""
    from simplepose.core.geometry import box_to_center_scale, crop_affine, warp_points

    c, s = box_to_center_scale(box_xywh, input_size[0] / input_size[1])
    crop = cv2.warpAffine(image, crop_affine(c, s, 0, input_size), tuple(input_size), flags=cv2.INTER_LINEAR)
    x = normalize(crop[None])
    with torch.no_grad():
        out = model(x).numpy()[0]
        flipped = model(torch.from_numpy(np.flip(x.numpy(), 3).copy())).numpy()[0][:, :, ::-1].copy()
    for a, b in flip_pairs:
        flipped[[a, b]] = flipped[[b, a]]
    shifted = flipped.copy()
    for col in range(1, flipped.shape[2]):
        shifted[:, :, col] = flipped[:, :, col - 1]
    hm = (out + shifted) * 0.5
    k, h, w = hm.shape
    result = np.zeros((k, 3))
    inv = crop_affine(c, s, 0, (w, h), inverse=True)
    for j in range(k):
        idx = int(np.argmax(hm[j]))
        peak = hm[j].reshape(-1)[idx]
        px, py = (float(idx % w), float(idx // w)) if peak > 0 else (0.0, 0.0)
        ix, iy = int(np.floor(px + 0.5)), int(np.floor(py + 0.5))
        if 1 < ix < w - 1 and 1 < iy < h - 1:
            px += 0.25 * np.sign(hm[j, iy, ix + 1] - hm[j, iy, ix - 1])
            py += 0.25 * np.sign(hm[j, iy + 1, ix] - hm[j, iy - 1, ix])
        result[j, :2] = warp_points(np.array([px, py]), inv)
        result[j, 2] = peak
    return result


def test_predictor_matches_the_paper_pipeline_step_by_step(real_data):
    from simplepose.core.skeleton import COCO
    from simplepose.core.transforms import Normalize

    cfg = config_from_dict(SMALL)
    torch.manual_seed(3)
    model = PoseResNet(**build_model_kwargs(cfg.model)).eval()
    with torch.no_grad():  # a peakier random net, so that argmaxes are well defined
        model.final_layer.weight.mul_(20)
    image = cv2.imread(str(real_data / "coco" / "000000196141.jpg"))
    box = np.array([60.0, 50.0, 150.0, 260.0])
    got = TopDownPredictor.from_config(model, cfg)(image, np.array([[60.0, 50.0, 210.0, 310.0]]))
    want = reference_paper_pipeline(model, image, box, cfg.data.input_size, COCO.flip_pairs, Normalize())
    np.testing.assert_allclose(got.keypoints[0], want, rtol=1e-5, atol=1e-4)


def test_reduced_precision_finds_the_same_dot():
    image = np.zeros((300, 400, 3), np.uint8)
    image[200:203, 136:139] = 255
    box = np.array([[90.0, 60.0, 230.0, 290.0]])
    full = TopDownPredictor(DotModel((24, 32)), (96, 128), (24, 32), runtime="eager")(image, box)
    half = TopDownPredictor(DotModel((24, 32)), (96, 128), (24, 32), precision="bf16")(image, box)
    hm_px = 140 * 1.25 / 24
    assert np.abs(half.keypoints[0, :, :2] - full.keypoints[0, :, :2]).max() <= 0.5 * hm_px
    with pytest.raises(ValueError, match="precision"):
        TopDownPredictor(DotModel((24, 32)), precision="int4")
