"""Every `simplepose` command as a user runs it: the installed console script in a subprocess,
on generated data, and what it wrote (files that parse, decode and hold the right values).

The tiny synthetic set and the tiny model come from session fixtures in conftest.py
(`synth_set`, `tiny_config`, `tiny_model`). `simplepose demo` is run in tests/test_demo.py.
"""

import json
import re
import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_INPUT
from e2e_helpers import (
    assert_one_clear_error,
    coco_metrics_valid,
    decode_image,
    read_record,
    read_strict_json,
    simplepose,
    simplepose_in_process,
    video_frames,
)

VIDEO = "000001_synth"


def val_ids(data: Path) -> dict:
    """file name -> image id of the synthetic val set."""
    return {im["file_name"]: im["id"] for im in read_strict_json(data / "annotations" / "val.json")["images"]}


def test_synth_writes_images_annotations_detections_and_a_video(synth_set):
    data, out = synth_set.out, synth_set.result.stdout
    assert re.search(r"^12 images \(\d+ \+ \d+ people, train \+ val\)", out, re.M), out
    assert re.search(r"^1 video x 6 frames", out, re.M), out
    images = 0
    for split in ("train", "val"):
        coco = read_strict_json(data / "annotations" / f"{split}.json")
        assert {"images", "annotations", "categories"} <= set(coco)
        assert len(coco["categories"][0]["keypoints"]) == 17
        for im in coco["images"]:
            assert decode_image(data / "images" / split / im["file_name"]).shape == (120, 160, 3)
        ids = {im["id"] for im in coco["images"]}
        assert coco["annotations"] and all(
            a["image_id"] in ids and len(a["keypoints"]) == 51 for a in coco["annotations"]
        )
        images += len(coco["images"])
    assert images == 12
    dets = read_strict_json(data / "annotations" / "val_detections.json")
    ids = set(val_ids(data).values())
    assert dets and all(d["image_id"] in ids and len(d["bbox"]) == 4 and 0 <= d["score"] <= 1 for d in dets)
    gt = read_strict_json(data / "posetrack" / "annotations" / "val" / f"{VIDEO}.json")
    assert len(gt["images"]) == 6 and all((data / im["file_name"]).is_file() for im in gt["images"])
    assert {a["track_id"] for a in gt["annotations"]}, "the video's people have track ids"
    frames = video_frames(data / "videos" / f"{VIDEO}.mp4")
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)
    assert read_strict_json(data / "posetrack" / "detections" / f"{VIDEO}.json")


def test_train_writes_checkpoints_that_rebuild_the_model_and_a_log(tiny_model):
    import torch

    from simplepose.nets.weights import load_checkpoint

    assert re.search(r"^trained 1 epoch, last loss \d+\.\d+, best AP", tiny_model.result.stdout, re.M)
    for name in ("last.pth", "best.pth"):
        loaded = load_checkpoint(tiny_model.out / name)
        assert tuple(loaded.config.data.input_size) == TINY_INPUT
        with torch.no_grad():
            heatmaps = loaded.model.eval()(torch.zeros(1, 3, TINY_INPUT[1], TINY_INPUT[0]))
        assert tuple(heatmaps.shape) == (1, 17, TINY_INPUT[1] // 4, TINY_INPUT[0] // 4)
    rows = [json.loads(line) for line in (tiny_model.out / "metrics.jsonl").read_text().splitlines()]
    assert [r["tag"] for r in rows][-3:] == ["epoch", "val", "done"]
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in rows if r["tag"] == "train")
    assert (tiny_model.out / "config.yaml").stat().st_size > 0


def check_eval_outputs(out: Path, stdout: str, allowed_ids: set) -> list:
    """metrics.json and results.json of `eval --checkpoint`, and its printed table."""
    metrics = read_record(out / "metrics.json")
    assert coco_metrics_valid(metrics), metrics
    printed = re.search(r"Average Precision \(AP\) @\[ IoU=0.50:0.95 \| area=   all .* = (-?[\d.]+)$", stdout, re.M)
    assert printed and float(printed.group(1)) == pytest.approx(metrics["AP"], abs=5e-4), stdout
    results = read_strict_json(out / "results.json")
    assert results, "no people evaluated"
    for r in results:
        assert r["image_id"] in allowed_ids and r["category_id"] == 1
        assert len(r["keypoints"]) == 51 and np.isfinite(r["keypoints"]).all() and 0 <= r["score"] <= 1
    return results


def test_eval_checkpoint_with_ground_truth_boxes(tiny_config, tiny_model, synth_set, tmp_path):
    r = simplepose(
        "eval",
        tiny_config,
        "--checkpoint",
        tiny_model.out / "best.pth",
        "--boxes",
        "gt",
        "--out",
        tmp_path / "ev",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    results = check_eval_outputs(tmp_path / "ev", r.stdout, set(val_ids(synth_set.out).values()))
    people = len(read_strict_json(synth_set.out / "annotations" / "val.json")["annotations"])
    assert 1 <= len(results) <= people


def test_eval_checkpoint_with_a_detections_file(tiny_config, tiny_model, synth_set, tmp_path):
    dets = synth_set.out / "annotations" / "val_detections.json"
    r = simplepose(
        "eval",
        tiny_config,
        "--checkpoint",
        tiny_model.out / "last.pth",
        "--boxes",
        dets,
        "--out",
        tmp_path / "ev",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    check_eval_outputs(tmp_path / "ev", r.stdout, {d["image_id"] for d in read_strict_json(dets)})


def test_eval_scores_a_results_file_perfect_results_give_ap_1(synth_set, tmp_path):
    gt_path = synth_set.out / "annotations" / "val.json"
    gt = read_strict_json(gt_path)
    results = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
        for a in gt["annotations"]
        if a["num_keypoints"] > 0
    ]
    (tmp_path / "results.json").write_text(json.dumps(results))
    r = simplepose(
        "eval", "--gt", gt_path, "--results", tmp_path / "results.json", "--out", tmp_path / "m", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = read_record(tmp_path / "m" / "metrics.json")
    assert coco_metrics_valid(metrics) and metrics["AP"] == pytest.approx(1.0) and metrics["AR"] == pytest.approx(1.0)
    assert f"wrote {tmp_path / 'm' / 'metrics.json'}" in r.stdout


def test_predict_images_and_a_video_whole_image_boxes(tiny_model, synth_set, tmp_path):
    images, video = synth_set.out / "images" / "val", synth_set.out / "videos" / f"{VIDEO}.mp4"
    r = simplepose(
        "predict", "--checkpoint", tiny_model.out / "last.pth", images, video, "--detector", "none", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "predictions"  # the default --out, beside the user
    results = read_strict_json(out / "results.json")
    # --detector none: one box covering each picture, so exactly one person per image and frame
    names = sorted(r["file_name"] for r in results)
    assert names == sorted(["000000.jpg", "000001.jpg"] + [f"{VIDEO}.mp4#{i}" for i in range(6)])
    assert all(len(r["keypoints"]) == 51 and np.isfinite(r["keypoints"]).all() for r in results)
    assert "8 people in 8 frames of 3 inputs" in r.stdout
    for name in ("000000.jpg", "000001.jpg"):
        assert decode_image(out / name).shape == decode_image(images / name).shape
    assert len(video_frames(out / f"{VIDEO}_poses.mp4")) == 6


def test_predict_with_a_coco_keypoints_file_uses_its_image_ids(tiny_model, synth_set, tmp_path):
    r = simplepose(
        "predict",
        "--checkpoint",
        tiny_model.out / "last.pth",
        synth_set.out / "images" / "val",
        "--boxes",
        synth_set.out / "annotations" / "val.json",
        "--out",
        tmp_path / "p",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    ids = val_ids(synth_set.out)
    results = read_strict_json(tmp_path / "p" / "results.json")
    assert results and all(r["image_id"] == ids[r["file_name"]] for r in results)


@pytest.fixture(scope="module")
def tracked(tiny_model, synth_set, tmp_path_factory):
    """`simplepose track` of the synthetic video; every pose kept, so the output has tracks."""
    cwd = tmp_path_factory.mktemp("track")
    data = synth_set.out
    r = simplepose(
        "track",
        data / "videos" / f"{VIDEO}.mp4",
        "--checkpoint",
        tiny_model.out / "last.pth",
        "--detections",
        data / "posetrack" / "detections" / f"{VIDEO}.json",
        "--frames-like",
        data / "posetrack" / "annotations" / "val" / f"{VIDEO}.json",
        "--set",
        "track.min_pose_score=0",
        "--set",
        "track.keypoint_thresh=0",
        "--out",
        cwd / "pred",
        cwd=cwd,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return cwd / "pred", r


def test_track_writes_posetrack_json_with_ids_and_a_drawn_video(tracked, synth_set):
    pred, r = tracked
    gt = read_strict_json(synth_set.out / "posetrack" / "annotations" / "val" / f"{VIDEO}.json")
    out = read_strict_json(pred / f"{VIDEO}.json")
    assert [im["id"] for im in out["images"]] == [im["id"] for im in gt["images"]]
    frame_ids = {im["id"] for im in out["images"]}
    assert out["annotations"] and all(
        a["image_id"] in frame_ids and isinstance(a["track_id"], int) for a in out["annotations"]
    )
    tracks = {a["track_id"] for a in out["annotations"]}
    assert re.search(rf"^6 frames, {len(tracks)} tracks, \d+\.\d frames/s", r.stdout, re.M), r.stdout
    frames = video_frames(pred / f"{VIDEO}.mp4")
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)


def test_track_eval_of_the_ground_truth_itself_is_perfect(synth_set, tmp_path):
    gt = synth_set.out / "posetrack" / "annotations" / "val"
    r = simplepose("track-eval", "--gt", gt, "--pred", gt, "--out", tmp_path, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    m = read_strict_json(tmp_path / "metrics.json")
    assert m["num_videos"] == 1 and m["num_frames"] == 6
    for key in ("mAP", "MOTA", "MOTP", "precision", "recall"):
        assert m[key] == pytest.approx(100.0), key
    assert "mAP 100.0  MOTA 100.0" in r.stdout


def test_track_eval_of_the_tracker_output(tracked, synth_set, tmp_path):
    pred, _ = tracked
    r = simplepose(
        "track-eval",
        "--gt",
        synth_set.out / "posetrack" / "annotations" / "val",
        "--pred",
        pred,
        "--out",
        tmp_path,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    m = read_strict_json(tmp_path / "metrics.json")  # NaN is written as null, never as a bare NaN
    assert 0 <= m["mAP"] <= 100 and m["MOTA"] <= 100 and 0 <= m["recall"] <= 100
    assert m["joints"] and all(j["MOTA"] is None or j["MOTA"] <= 100 for j in m["joints"].values())
    assert f"wrote {tmp_path / 'metrics.json'}" in r.stdout


def test_release_writes_a_compact_fp16_model_that_loads_as_used(tiny_model, tmp_path, capfd):
    import torch

    from simplepose.nets.weights import load_checkpoint, read_weights_file

    ckpt = tiny_model.out / "last.pth"
    r = simplepose(
        "release",
        "--checkpoint",
        ckpt,
        "--out",
        tmp_path / "rel" / "m.pth",
        "--command",
        "simplepose train tiny.yaml",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rel = tmp_path / "rel" / "m.pth"
    assert f"wrote {rel}" in r.stdout and rel.stat().st_size < ckpt.stat().st_size / 2  # no optimizer, fp16
    raw = read_weights_file(rel)  # the safe loader
    assert raw["release"]["epochs"] == 1 and raw["release"]["command"] == "simplepose train tiny.yaml"
    version = simplepose("--version", cwd=tmp_path).stdout.split()[-1]  # pyproject.toml's, as `pip show` says
    assert raw["release"]["simplepose_version"] == read_weights_file(ckpt)["simplepose_version"] == version
    assert all(v.dtype == torch.float16 for v in raw["state_dict"].values() if v.is_floating_point())
    assert "optimizer" not in raw
    full, small = load_checkpoint(ckpt).model, load_checkpoint(rel).model
    for (name, a), b in zip(full.state_dict().items(), small.state_dict().values()):
        assert b.dtype == a.dtype  # back to fp32, equal to the fp16-rounded weights
        assert torch.equal(b, a.to(torch.float16).to(a.dtype)) if a.is_floating_point() else torch.equal(a, b), name
    bad = simplepose("release", "--checkpoint", tmp_path / "nope.pth", "--out", tmp_path / "x.pth", cwd=tmp_path)
    assert bad.returncode == 2 and "nope.pth" in bad.stderr and "Traceback" not in bad.stderr
    # A checkpoint copied away from its run's metrics.jsonl: unknown, not "None epochs" (in-process).
    (tmp_path / "alone").mkdir()
    alone = shutil.copy(ckpt, tmp_path / "alone" / "last.pth")
    r = simplepose_in_process(capfd, "release", "--checkpoint", alone, "--out", tmp_path / "y.pth", cwd=tmp_path)
    assert r.returncode == 0 and "None" not in r.stdout and "epochs, training time and val AP unknown" in r.stdout


def test_info_of_a_checkpoint_and_of_a_config(tiny_model, tiny_config, tmp_path, capfd):
    """The installed command on a checkpoint; on a config, in the test's process (the installed
    `info` of a config: tests/test_hrnet.py)."""
    from simplepose.nets.weights import load_checkpoint

    r = simplepose("info", tiny_model.out / "last.pth", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "PoseResNet-18 (pytorch style, width 16), 17 joints, deconv 3 x 32" in r.stdout
    assert f"input {TINY_INPUT[0]}x{TINY_INPUT[1]} (w x h) -> heatmaps 8x16" in r.stdout
    params = sum(p.numel() for p in load_checkpoint(tiny_model.out / "last.pth").model.parameters())
    printed = float(re.search(r"^parameters\s+([\d.]+) M", r.stdout, re.M).group(1))
    assert printed == pytest.approx(params / 1e6, abs=5e-4)
    r = simplepose_in_process(capfd, "info", tiny_config, "--input-size", 64, 128, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "input 64x128 (w x h) -> heatmaps 16x32" in r.stdout
    assert float(re.search(r"^multiply-adds\s+([\d.]+) G", r.stdout, re.M).group(1)) > 0


def _predicted(tmp_path: Path, name: str, tiny_model, synth_set, *options, command=simplepose) -> np.ndarray:
    """Keypoints (people x 51) that `simplepose predict OPTIONS` writes for the val images."""
    out = tmp_path / name
    r = command(
        "predict",
        "--checkpoint",
        tiny_model.out / "last.pth",
        synth_set.out / "images" / "val",
        "--boxes",
        synth_set.out / "annotations" / "val.json",
        "--out",
        out,
        *options,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    results = sorted(
        read_strict_json(out / "results.json"), key=lambda p: p["file_name"]
    )  # stable: boxes in file order
    return np.array([p["keypoints"] for p in results], dtype=float)


def test_the_shared_model_options_reach_the_predictor(tiny_config, tiny_model, synth_set, tmp_path, capfd):
    """--config, --set, --device, --runtime, --no-flip, --precision and --trusted, as eval, predict
    and track take them (commands/common.py): the default and the run with most of them in the
    installed command; --no-flip, --precision and a bad --runtime (installed in
    test_cheap_checks_first.py) in the test's process."""
    here = partial(simplepose_in_process, capfd)
    default = _predicted(tmp_path, "default", tiny_model, synth_set)
    eager = _predicted(
        tmp_path,
        "eager",
        tiny_model,
        synth_set,
        "--runtime",
        "eager",
        "--device",
        "cpu",
        "--trusted",
        "--config",
        tiny_config,
        "--set",
        "test.batch_size=3",
    )
    # Another runtime and batch size, the same arithmetic: the same joints to float rounding.
    np.testing.assert_allclose(eager, default, atol=1e-2)
    no_flip = _predicted(tmp_path, "no_flip", tiny_model, synth_set, "--runtime", "eager", "--no-flip", command=here)
    assert no_flip.shape == default.shape and np.abs(no_flip - default).max() > 0.1  # the mirror pass is gone
    bf16 = _predicted(
        tmp_path, "bf16", tiny_model, synth_set, "--runtime", "eager", "--no-flip", "--precision", "bf16", command=here
    )
    assert np.isfinite(bf16).all() and not np.array_equal(bf16, no_flip)  # another precision ran
    bad = here(
        "predict",
        "--checkpoint",
        tiny_model.out / "last.pth",
        synth_set.out / "images" / "val",
        "--runtime",
        "bogus",
        "--detector",
        "none",
        "--out",
        tmp_path / "bad",
        cwd=tmp_path,
    )
    assert "bogus" in assert_one_clear_error(bad, "predict")
