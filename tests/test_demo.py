"""The demo end to end on a tiny synthetic set: every step runs and the report is complete.

One run of the installed `simplepose demo` (a module fixture) is read by the two tests of the
whole report: the strict record and the files as a user finds them, and each section's values.
"""

import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from e2e_helpers import coco_metrics_valid, decode_image, read_record, simplepose
from e2e_helpers import video_frames as decoded_frames

import simplepose as package
from simplepose.demo import DemoSettings, ensure_data
from simplepose.evaluation.cocoeval import METRIC_KEYS
from simplepose.formats.posetrack import read_posetrack
from simplepose.training.release import SHIPPED_MODEL

VIDEO = "000001_synth"
#: The tiny demo: 12 images (2 in val), one 6-frame video, one epoch validated once.
DEMO_SIZE = {"images": 12, "videos": 1, "frames": 6}


@dataclass(frozen=True)
class DemoRun:
    cwd: Path  # where the command ran; its --out and --data are relative to it
    result: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> DemoRun:
    """`simplepose demo --out report --data data` of the tiny set, with the demo's own config."""
    cwd = tmp_path_factory.mktemp("demo")
    size = [str(a) for k, v in DEMO_SIZE.items() for a in (f"--{k}", v)]
    r = simplepose(
        "demo",
        "--out",
        "report",
        "--data",
        "data",
        *size,
        "--set",
        "train.epochs=1",
        "--set",
        "train.val_every=1",
        cwd=cwd,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return DemoRun(cwd, r)


def video_frames(path: Path):
    """(frames read, (h, w, 3) of the first) of a video file, by decoding it."""
    capture = cv2.VideoCapture(str(path))
    count, shape = 0, None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        count, shape = count + 1, shape or frame.shape
    capture.release()
    return count, shape


def check_metrics(m: dict) -> None:
    """One model's section of the report (COCO with both box kinds, PoseTrack)."""
    for key in ("coco_gt_boxes", "coco_detections"):
        assert set(m[key]) == set(METRIC_KEYS)
        # pycocotools' convention: -1 where an area range holds no ground truth.
        assert all(0.0 <= v <= 1.0 or v == -1.0 for v in m[key].values()), m[key]
    p = m["posetrack"]
    assert 0.0 <= p["mAP"] <= 100.0 and 0.0 <= p["recall"] <= 100.0
    # MOTA = 1 - errors / objects in percent: at most 100, unbounded below, but a number.
    assert math.isfinite(p["MOTA"]) and p["MOTA"] <= 100.0
    for key in ("MOTP", "precision"):  # null (strict JSON) when a barely trained model matches no joint
        assert p[key] is None or 0.0 <= p[key] <= 100.0, (key, p[key])
    assert p["frames_per_second"] > 0


def test_demo_writes_the_whole_report(demo_run):
    """The report as a user reads it: strict JSON (MOTP of an untrained model is null, not NaN),
    every file it names decodes, and the summary is printed."""
    cwd, r = demo_run.cwd, demo_run.result
    out = cwd / "report"
    report = read_record(out / "metrics.json")
    m = report["demo_run"]
    assert set(report) == {"demo_run", "shipped_model", "timings"}
    assert coco_metrics_valid(m["coco_gt_boxes"]) and coco_metrics_valid(m["coco_detections"])
    p = m["posetrack"]
    assert 0 <= p["mAP"] <= 100 and p["MOTA"] <= 100 and 0 <= p["recall"] <= 100
    assert all(p[k] is None or 0 <= p[k] <= 100 for k in ("MOTP", "precision"))
    assert m["train"]["epochs"] == 1 and np.isfinite(m["train"]["final_loss"])
    assert len(m["pictures"]) == 2  # one per val image (at most 6)
    for path in m["pictures"] + m["curves"]:
        assert decode_image(cwd / path).shape[0] > 0
    assert sorted(Path(c).name for c in m["curves"]) == ["ap.png", "loss.png"]
    assert [Path(v).name for v in p["videos"]] == [f"{VIDEO}.mp4"]
    assert len(decoded_frames(cwd / p["videos"][0])) == 6
    assert json.loads((out / "tracking" / f"{VIDEO}.json").read_text())["images"]
    assert "COCO AP, synthetic val, GT boxes:" in r.stdout and "simplepose demo finished" in r.stdout


def test_tiny_demo_writes_the_whole_report(demo_run, capsys):
    cwd, printed = demo_run.cwd, demo_run.result.stdout
    out, data = Path("report"), Path("data")  # as the command was given them, relative to cwd
    report = json.loads((cwd / out / "metrics.json").read_text())
    assert report["simplepose_version"] == package.__version__
    m = report["demo_run"]
    check_metrics(m)
    assert m["train"]["epochs"] == 1 and math.isfinite(m["train"]["final_loss"])
    # The shipped model, scored on the same val and videos, beside the demo run.
    shipped = report["shipped_model"]
    if SHIPPED_MODEL.is_file():
        check_metrics(shipped)
        assert shipped["training"]["epochs"] > 0 and shipped["training"]["command"].startswith("simplepose train")
        assert [Path(p).parent for p in shipped["pictures"]] == [out / "shipped_model" / "pictures"] * len(
            m["pictures"]
        )
        assert list((cwd / out / "shipped_model" / "tracking").glob("*.mp4"))
    else:
        assert shipped is None

    # Curves: decodable PNGs of the figure's size (5 x 3.2 inches at 100 dpi).
    assert [Path(p).name for p in m["curves"]] == ["loss.png", "ap.png"]
    for name in ("loss.png", "ap.png"):
        image = cv2.imread(str(cwd / out / name))
        assert image is not None and image.shape == (320, 500, 3)

    # Pictures: the first val images, drawn at their own size.
    val = json.loads((cwd / data / "annotations" / "val.json").read_text())
    sizes = {im["id"]: (im["height"], im["width"], 3) for im in val["images"]}
    assert len(m["pictures"]) == min(6, len(sizes))
    for path in m["pictures"]:
        path = Path(path)
        assert path.parent == out / "pictures" and (cwd / path).stat().st_size > 0
        image = cv2.imread(str(cwd / path))
        assert image is not None and image.shape == sizes[int(path.stem)]
        assert image.std() > 5  # a picture, not a blank frame

    # Tracking: one PoseTrack file for the one video, and a drawn video with all its frames.
    [pred] = list((cwd / out / "tracking").glob("*.json"))
    assert len(read_posetrack(pred).frames) == 6
    [video] = list((cwd / out / "tracking").glob("*.mp4"))
    assert m["posetrack"]["videos"] == [str(video.relative_to(cwd))]
    first_frame = cv2.imread(str(sorted((cwd / data / "videos" / video.stem).glob("*.jpg"))[0]))
    assert video_frames(video) == (6, first_frame.shape)

    # Training left its config and checkpoints.
    for name in ("config.yaml", "last.pth", "metrics.jsonl"):
        assert (cwd / out / "train" / name).stat().st_size > 0
    assert "COCO AP, synthetic val, GT boxes" in printed and "demo run" in printed
    assert ("shipped model - trained" in printed) == SHIPPED_MODEL.is_file()
    # The next run with the same settings reuses the data instead of making it again: the demo's
    # first step, `ensure_data`, with the settings the command above ran with (a whole second
    # demo run would cost the suite seconds to check one line).
    made = (cwd / data / "meta.json").stat().st_mtime_ns
    ensure_data(DemoSettings(out_dir=str(cwd / out), data_dir=str(cwd / data), **DEMO_SIZE))
    assert "reusing" in capsys.readouterr().out
    assert (cwd / data / "meta.json").stat().st_mtime_ns == made


def test_the_demo_config_ships_inside_the_package():
    """`simplepose demo` runs from any folder and after a wheel install: its recipe is package data."""
    from simplepose.config import load_config
    from simplepose.demo import DEMO_CONFIG, DemoSettings

    assert DEMO_CONFIG.is_file() and "simplepose" in DEMO_CONFIG.parts and Path(DemoSettings().config) == DEMO_CONFIG
    assert load_config(DEMO_CONFIG).train.max_minutes > 0
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    package_data = pyproject.split("[tool.setuptools.package-data]")[1].split("\n[")[0]
    assert '"configs/*.yaml"' in package_data


def test_a_fine_tuned_release_records_the_training_it_started_from(tmp_path):
    """The shipped 128x96 file was fine-tuned from the 96x64 one: its record says both runs."""
    from simplepose.training.release import release_info, started_from

    parent = SHIPPED_MODEL.parent / "synthetic_res18_96x64.pth"
    assert started_from({"train": {"init_from": str(parent)}}) == {
        "file": parent.name,
        **{k: release_info(parent)[k] for k in ("epochs", "train_minutes", "val_AP")},
    }
    assert started_from({"train": {"init_from": ""}}) == {} and started_from({}) == {}
    assert started_from({"train": {"init_from": str(tmp_path / "gone.pth")}}) == {}
    record = release_info()
    assert record["started_from"]["file"] == parent.name and record["started_from"]["epochs"] == 45
    assert record["val_AP"] > record["started_from"]["val_AP"]  # the point of the larger input


def test_the_summary_says_whether_the_budget_or_the_epochs_ended_the_run(tmp_path, capsys):
    from simplepose.demo import print_summary

    coco = {key: 0.5 for key in METRIC_KEYS}
    run = {
        "coco_gt_boxes": coco,
        "coco_detections": coco,
        "posetrack": {"mAP": 40.0, "MOTA": 1.0, "frames_per_second": 30.0},
    }
    for epochs, expected in (
        (18, "all epochs fitted in the 11-minute budget"),
        (7, "the 11-minute budget ended first"),
    ):
        train = {
            "samples_per_s": 63.0,
            "epochs": epochs,
            "planned_epochs": 18,
            "budget_minutes": 11.0,
            "train_minutes": 10.5,
        }
        print_summary(
            {"demo_run": {**run, "train": train}, "shipped_model": None, "timings": {"total_s": 720.0}}, tmp_path
        )
        printed = capsys.readouterr().out
        assert f"trained at 63 samples/s: {epochs} of 18 epochs in 10.5 min" in printed
        assert expected in printed and ("fewer samples than the 18 planned epochs hold" in printed) == (epochs < 18)
