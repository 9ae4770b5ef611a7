"""Batches hold up (issue 31, classes 2, 3 and 8), through the installed `simplepose` command:

- one unreadable member of a folder, a frames folder or a data set is skipped, named in one
  line and counted; `--strict` makes it an error before any output is written;
- Ctrl-C (SIGINT) or SIGTERM mid-run stops with one line, exit 130 / 143, no traceback, and a
  consistent partial result on disk (train: a resumable checkpoint, and it says so);
- a second run into a used --out folder is refused (or replaces it with --overwrite); two runs
  at once into one folder do not both succeed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from e2e_helpers import (
    SIMPLEPOSE,
    assert_one_clear_error,
    message_lines,
    read_strict_json,
    simplepose,
    simplepose_in_process,
    video_frames,
)

VIDEO = "000001_synth"


def _bad_image(path: Path) -> Path:
    path.write_text("this is a text file, not a picture\n")
    return path


@pytest.fixture()
def mixed_folder(synth_set, tmp_path) -> Path:
    """Two good pictures, a text file named .jpg, a good video and a video that does not open."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name in ("000000.jpg", "000001.jpg"):
        shutil.copy(synth_set.out / "images" / "val" / name, folder / name)
    _bad_image(folder / "broken.jpg")
    shutil.copy(synth_set.out / "videos" / f"{VIDEO}.mp4", folder / "clip.mp4")
    (folder / "damaged.mp4").write_bytes((synth_set.out / "videos" / f"{VIDEO}.mp4").read_bytes()[:300])
    return folder


def _predict(model: Path, *args: object, cwd: Path) -> subprocess.CompletedProcess:
    return simplepose("predict", "--checkpoint", model, "--detector", "none", *args, cwd=cwd)


def test_predict_folder_skips_and_reports_unreadable_members(tiny_model, mixed_folder, tmp_path):
    r = _predict(tiny_model.out / "last.pth", mixed_folder, "--out", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    results = read_strict_json(tmp_path / "out" / "results.json")
    names = sorted({x["file_name"] for x in results})
    # the good pictures and every frame of the good video (a folder's videos are read too)
    assert names == sorted(["000000.jpg", "000001.jpg"] + [f"clip.mp4#{t}" for t in range(6)])
    lines = message_lines(r.stderr)
    warnings = [line for line in lines if line.startswith("warning: skipped")]
    assert len(warnings) == 2 and len(lines) == 2, lines  # one line each, nothing from FFmpeg
    assert any("broken.jpg: does not decode as an image" in w for w in warnings), warnings
    assert any("damaged.mp4: does not open as a video" in w for w in warnings), warnings
    assert "2 unreadable inputs skipped: " in r.stdout and "broken.jpg" in r.stdout
    assert not (tmp_path / "out" / "broken.jpg").exists()
    assert len(video_frames(tmp_path / "out" / "clip_poses.mp4")) == 6


def test_predict_reads_a_folder_of_videos_alone(tiny_model, synth_set, tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(synth_set.out / "videos" / f"{VIDEO}.mp4", folder / "clip.mp4")
    r = _predict(tiny_model.out / "last.pth", folder, "--out", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    names = sorted({x["file_name"] for x in read_strict_json(tmp_path / "out" / "results.json")})
    assert names == sorted(f"clip.mp4#{t}" for t in range(6))
    (folder / "clip.mp4").rename(folder / "notes.txt")
    line = assert_one_clear_error(_predict(tiny_model.out / "last.pth", folder, cwd=tmp_path), "predict")
    assert "has no images or videos" in line, line


def test_predict_strict_fails_on_an_unreadable_member_before_writing(tiny_model, mixed_folder, tmp_path):
    r = _predict(tiny_model.out / "last.pth", mixed_folder, "--strict", "--out", tmp_path / "out", cwd=tmp_path)
    line = assert_one_clear_error(r, "predict")
    assert "broken.jpg" in line or "damaged.mp4" in line, line
    assert not (tmp_path / "out").exists()


@pytest.fixture()
def frames_folder(synth_set, tmp_path) -> Path:
    """The synthetic clip's 6 frames, frame 2 replaced by text, a video beside them; and boxes."""
    folder = tmp_path / "frames"
    shutil.copytree(synth_set.out / "videos" / VIDEO, folder)
    frames = sorted(folder.glob("*.jpg"))
    assert len(frames) == 6
    _bad_image(frames[2])
    shutil.copy(synth_set.out / "videos" / f"{VIDEO}.mp4", folder / "clip.mp4")
    boxes = [{"image_id": t, "category_id": 1, "bbox": [20, 10, 60, 100], "score": 0.9} for t in range(6)]
    (tmp_path / "boxes.json").write_text(json.dumps(boxes))
    return folder


def _track(model: Path, source: Path, *args: object, cwd: Path) -> list[object]:
    return [
        "track",
        source,
        "--checkpoint",
        model,
        "--boxes",
        cwd / "boxes.json",
        "--set",
        "track.min_pose_score=0",
        *args,
    ]


def test_track_frames_folder_skips_an_unreadable_frame(tiny_model, frames_folder, tmp_path):
    r = simplepose(
        *_track(tiny_model.out / "last.pth", frames_folder, "--out", tmp_path / "out", cwd=tmp_path), cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr[-3000:]
    lines = message_lines(r.stderr)
    assert any(x.startswith("warning: skipped") and "000002.jpg: does not decode" in x for x in lines), lines
    assert any(x.startswith("warning: ignored") and "clip.mp4" in x for x in lines), lines
    assert "1 unreadable input skipped" in r.stdout
    out = read_strict_json(tmp_path / "out" / "frames.json")
    assert len(out["images"]) == 6  # the skipped frame keeps its record ...
    bad_id = out["images"][2]["id"]
    people = {}
    for a in out["annotations"]:
        people[a["image_id"]] = people.get(a["image_id"], 0) + 1
    assert bad_id not in people and len(people) == 5  # ... without people; the others have theirs
    assert len(video_frames(tmp_path / "out" / "frames.mp4")) == 5  # only frames read are drawn
    # a second run of the same name into the folder is refused; --overwrite replaces it
    again = simplepose(
        *_track(tiny_model.out / "last.pth", frames_folder, "--out", tmp_path / "out", cwd=tmp_path), cwd=tmp_path
    )
    message = [x for x in message_lines(again.stderr) if not x.startswith("warning: ")]
    assert again.returncode == 2 and len(message) == 1 and "--overwrite" in message[0], again.stderr[-2000:]
    assert "frames.json" in message[0] and "Traceback" not in again.stderr


def test_track_strict_and_a_damaged_video_are_one_clear_error(tiny_model, frames_folder, synth_set, tmp_path):
    model = tiny_model.out / "last.pth"
    (frames_folder / "clip.mp4").unlink()  # its warning line is tested above
    r = simplepose(*_track(model, frames_folder, "--strict", "--out", tmp_path / "out", cwd=tmp_path), cwd=tmp_path)
    assert "000002.jpg" in assert_one_clear_error(r, "track")
    assert not (tmp_path / "out").exists()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes((synth_set.out / "videos" / f"{VIDEO}.mp4").read_bytes()[:300])
    r = simplepose(*_track(model, damaged, "--out", tmp_path / "out", cwd=tmp_path), cwd=tmp_path)
    assert "damaged.mp4" in assert_one_clear_error(r, "track")
    assert not (tmp_path / "out").exists()


def test_track_several_videos_each_named_once(tiny_model, synth_set, tmp_path):
    """Several inputs are tracked each on its own; what describes one video, and two inputs that
    would write one NAME.json, are one clear error before any work."""
    model, video = tiny_model.out / "last.pth", synth_set.out / "videos" / f"{VIDEO}.mp4"
    frames = synth_set.out / "videos" / VIDEO
    both = ("track", video, frames, "--checkpoint", model, "--detector", "none", "--out", tmp_path / "out")
    r = simplepose(*both, "--name", "clip", cwd=tmp_path)
    assert "--name describe one video: give one VIDEO_OR_FRAME_DIR" in assert_one_clear_error(r, "track")
    line = assert_one_clear_error(simplepose(*both, cwd=tmp_path), "track")  # both are 000001_synth
    assert f"{video} and {frames} would both write {VIDEO}.json" in line
    assert not (tmp_path / "out").exists()


@pytest.fixture()
def config_with_a_bad_val_image(tiny_config, synth_set, tmp_path) -> Path:
    cfg = yaml.safe_load(tiny_config.read_text())
    images = tmp_path / "val_images"
    shutil.copytree(synth_set.out / "images" / "val", images)
    _bad_image(images / "000001.jpg")
    cfg["data"]["val_images"] = str(images)
    path = tmp_path / "bad_val.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_eval_skips_an_unreadable_image_and_strict_refuses_it(tiny_model, config_with_a_bad_val_image, tmp_path):
    args = ("eval", config_with_a_bad_val_image, "--checkpoint", tiny_model.out / "last.pth", "--no-flip")
    r = simplepose(*args, "--out", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert any(x.startswith("warning: skipped") and "000001.jpg" in x for x in message_lines(r.stderr))
    assert "1 unreadable input skipped" in r.stdout
    results = read_strict_json(tmp_path / "out" / "results.json")
    assert results and {x["image_id"] for x in results} == {1}  # 000000.jpg is image 1; 000001.jpg skipped
    assert "AP" in read_strict_json(tmp_path / "out" / "metrics.json")
    r = simplepose(*args, "--strict", "--out", tmp_path / "strict", cwd=tmp_path)
    assert "000001.jpg" in assert_one_clear_error(r, "eval")
    assert not (tmp_path / "strict" / "metrics.json").exists() and not (tmp_path / "strict" / "results.json").exists()


def test_train_validation_skips_an_unreadable_image_once(config_with_a_bad_val_image, tmp_path):
    cfg = yaml.safe_load(config_with_a_bad_val_image.read_text())
    cfg["train"].update(epochs=2, val_every=1)
    config_with_a_bad_val_image.write_text(yaml.safe_dump(cfg))
    r = simplepose("train", config_with_a_bad_val_image, "--out", tmp_path / "run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    warned = [x for x in message_lines(r.stderr) if x.startswith("warning: validation skipped")]
    assert len(warned) == 1 and "000001.jpg" in warned[0] and "counts as missed" in warned[0], warned
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in log if rec["tag"] == "val"] == [1, 2]  # both validations ran (by epoch)


def test_bench_and_demo_refuse_a_folder_another_run_is_writing(tmp_path):
    for command, extra in (("bench", ("--quick",)), ("demo", ())):
        out = tmp_path / command
        out.mkdir()
        (out / f".{command}.lock").write_text(str(os.getpid()))  # a live run holds it
        r = simplepose(command, "--out", out, *extra, cwd=tmp_path)
        assert f"another run (process {os.getpid()})" in assert_one_clear_error(r, command)
        assert [p.name for p in out.iterdir()] == [f".{command}.lock"]  # nothing of its own written


# ------------------------------------------------------------------ interruptions
def _start(args: list[object], cwd: Path) -> subprocess.Popen:
    """`simplepose ARGS` started in the background; stdout and stderr go to files in cwd."""
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    env.pop("OPENCV_LOG_LEVEL", None)
    return subprocess.Popen(
        [str(SIMPLEPOSE), *(str(a) for a in args)],
        cwd=cwd,
        env=env,
        stdout=open(cwd / "stdout.txt", "w"),
        stderr=open(cwd / "stderr.txt", "w"),
    )


def _interrupt_when(proc: subprocess.Popen, ready, signum: int, timeout: float = 120) -> None:
    """Send `signum` once `ready()` holds (the run is mid-way); fail if the run ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"the run ended (status {proc.returncode}) before it could be interrupted"
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.05)
    proc.send_signal(signum)
    proc.wait(timeout=60)


def _one_interrupted_line(proc: subprocess.Popen, cwd: Path, command: str, signum: int) -> str:
    """Exit 130 / 143, no traceback, and exactly one `simplepose CMD: interrupted ...` line."""
    stderr = (cwd / "stderr.txt").read_text()
    assert "Traceback" not in stderr, stderr[-3000:]
    assert proc.returncode == 128 + signum, (proc.returncode, stderr[-3000:])
    lines = [x for x in message_lines(stderr) if "interrupted" in x]
    assert len(lines) == 1 and lines[0].startswith(f"simplepose {command}: interrupted"), message_lines(stderr)
    assert ("by SIGTERM" in lines[0]) == (signum == signal.SIGTERM), lines[0]
    return lines[0]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_predict_interrupted_leaves_results_of_exactly_the_pictures_drawn(tiny_model, synth_set, tmp_path, signum):
    many = tmp_path / "many"
    many.mkdir()
    picture = synth_set.out / "images" / "val" / "000000.jpg"
    for i in range(2000):  # far more than a run gets through before the signal
        (many / f"{i:05d}.jpg").symlink_to(picture)
    out = tmp_path / "out"
    proc = _start(
        ["predict", "--checkpoint", tiny_model.out / "last.pth", "--detector", "none", many, "--out", out], tmp_path
    )
    _interrupt_when(proc, lambda: out.is_dir() and len(list(out.glob("*.jpg"))) >= 3, signum)
    line = _one_interrupted_line(proc, tmp_path, "predict", signum)
    drawn = sorted(p.name for p in out.glob("*.jpg"))
    assert 3 <= len(drawn) < 2000
    results = read_strict_json(out / "results.json")
    assert sorted({x["file_name"] for x in results}) == drawn  # results of exactly the drawings
    assert f"after {len(drawn)} of 2000 inputs" in line, line
    assert not list(out.glob("*.tmp")) and not (out / ".results.lock").exists()


def test_track_interrupted_leaves_the_frames_tracked(tiny_model, synth_set, tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    source = sorted((synth_set.out / "videos" / VIDEO).glob("*.jpg"))
    for i in range(1200):
        (frames / f"{i:06d}.jpg").symlink_to(source[i % len(source)])
    boxes = [{"image_id": t, "category_id": 1, "bbox": [20, 10, 60, 100], "score": 0.9} for t in range(1200)]
    (tmp_path / "boxes.json").write_text(json.dumps(boxes))
    out = tmp_path / "out"
    proc = _start(_track(tiny_model.out / "last.pth", frames, "--out", out, cwd=tmp_path), tmp_path)
    _interrupt_when(
        proc, lambda: (out / "frames.mp4").exists() and (out / "frames.mp4").stat().st_size > 2000, signal.SIGINT
    )
    line = _one_interrupted_line(proc, tmp_path, "track", signal.SIGINT)
    tracked = read_strict_json(out / "frames.json")["images"]
    assert 0 < len(tracked) < 1200 and f"after {len(tracked)} of 1200 frames" in line, line
    assert len(video_frames(out / "frames.mp4")) in (len(tracked), len(tracked) + 1)


def test_eval_interrupted_writes_nothing(tiny_model, tiny_config, synth_set, tmp_path):
    # A val set of 600 entries of one picture: long enough to be stopped mid-way.
    val = read_strict_json(synth_set.out / "annotations" / "val.json")
    first = val["images"][0]
    images = [dict(first, id=i + 1, file_name=f"{i:05d}.jpg") for i in range(600)]
    anns = [
        dict(a, id=k + 1, image_id=i + 1)
        for i in range(600)
        for k, a in enumerate(x for x in val["annotations"] if x["image_id"] == first["id"])
    ]
    for k, a in enumerate(anns):
        a["id"] = k + 1
    (tmp_path / "val.json").write_text(json.dumps(dict(val, images=images, annotations=anns)))
    folder = tmp_path / "val_images"
    folder.mkdir()
    for im in images:
        (folder / im["file_name"]).symlink_to(synth_set.out / "images" / "val" / first["file_name"])
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["data"].update(val_ann=str(tmp_path / "val.json"), val_images=str(folder))
    cfg["test"]["batch_size"] = 2
    (tmp_path / "long.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    proc = _start(["eval", tmp_path / "long.yaml", "--checkpoint", tiny_model.out / "last.pth", "--out", out], tmp_path)
    _interrupt_when(proc, lambda: "eval:" in (tmp_path / "stderr.txt").read_text(), signal.SIGTERM)
    line = _one_interrupted_line(proc, tmp_path, "eval", signal.SIGTERM)
    assert "of 600 images; nothing written" in line, line
    assert not (out / "metrics.json").exists() and not (out / "results.json").exists()
    assert not (out / ".metrics.lock").exists()


def test_train_interrupted_keeps_a_resumable_checkpoint_and_says_so(tiny_config, tmp_path):
    out = tmp_path / "run"
    long = ["--set", "train.epochs=200", "--set", "train.val_every=0"]
    proc = _start(["train", tiny_config, "--out", out, *long], tmp_path)
    _interrupt_when(proc, lambda: (out / "last.pth").exists(), signal.SIGTERM)
    line = _one_interrupted_line(proc, tmp_path, "train", signal.SIGTERM)
    assert f"{out / 'last.pth'} holds epoch" in line and "--resume" in line, line
    epoch = int(line.split("holds epoch ")[1].split()[0])
    assert 1 <= epoch < 200
    r = simplepose(
        "train",
        tiny_config,
        "--out",
        out,
        "--resume",
        "--set",
        f"train.epochs={epoch + 1}",
        "--set",
        "train.val_every=0",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"trained {epoch + 1} epochs" in r.stdout, r.stdout


# ------------------------------------------------------------------ output folders
def test_a_second_predict_into_one_folder_is_refused_or_replaces_with_overwrite(tiny_model, synth_set, tmp_path, capfd):
    """The first run and the refused second one: the installed command; the third, --overwrite,
    in the test's process."""
    model, images = tiny_model.out / "last.pth", synth_set.out / "images" / "val"
    out = tmp_path / "out"
    first = _predict(model, images, "--out", out, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    before = (out / "results.json").read_bytes()
    second = _predict(model, images / "000001.jpg", "--out", out, cwd=tmp_path)
    line = assert_one_clear_error(second, "predict")
    assert "earlier run" in line and "--overwrite" in line, line
    assert (out / "results.json").read_bytes() == before
    third = simplepose_in_process(
        capfd,
        "predict",
        "--checkpoint",
        model,
        "--detector",
        "none",
        images / "000001.jpg",
        "--out",
        out,
        "--overwrite",
        cwd=tmp_path,
    )
    assert third.returncode == 0, third.stderr[-3000:]
    assert "replaced the 3 files of the earlier run" in third.stdout, third.stdout
    # the earlier run's drawing of 000000.jpg is gone: the folder holds one run, not a mix
    assert sorted(p.name for p in out.glob("*.jpg")) == ["000001.jpg"]
    assert {x["file_name"] for x in read_strict_json(out / "results.json")} == {"000001.jpg"}


def test_two_predicts_at_once_into_one_folder_do_not_both_succeed(tiny_model, synth_set, tmp_path):
    model, images = tiny_model.out / "last.pth", synth_set.out / "images" / "val"
    out = tmp_path / "out"
    runs = []
    for i, picture in enumerate(("000000.jpg", "000001.jpg")):
        cwd = tmp_path / f"run{i}"
        cwd.mkdir()
        runs.append(
            (
                _start(["predict", "--checkpoint", model, "--detector", "none", images / picture, "--out", out], cwd),
                cwd,
                picture,
            )
        )
    for proc, _, _ in runs:
        proc.wait(timeout=300)
    codes = sorted(proc.returncode for proc, _, _ in runs)
    assert codes == [0, 2], codes
    (picture,) = [p for proc, _, p in runs if proc.returncode == 0]
    (lcwd,) = [cwd for proc, cwd, _ in runs if proc.returncode == 2]
    lines = message_lines((lcwd / "stderr.txt").read_text())
    assert len(lines) == 1 and lines[0].startswith("simplepose predict: error: "), lines
    assert sorted(p.name for p in out.glob("*.jpg")) == [picture]
    assert {x["file_name"] for x in read_strict_json(out / "results.json")} == {picture}


def test_synth_interrupted_leaves_a_smaller_consistent_set(tmp_path):
    out = tmp_path / "data"
    proc = _start(["synth", "--out", out, "--images", 5000, "--size", "160x120", "--max-people", 2], tmp_path)
    _interrupt_when(proc, lambda: len(list((out / "images" / "train").glob("*.jpg"))) >= 3, signal.SIGINT)
    line = _one_interrupted_line(proc, tmp_path, "synth", signal.SIGINT)
    listed = sorted(im["file_name"] for im in read_strict_json(out / "annotations" / "train.json")["images"])
    assert listed == sorted(p.name for p in (out / "images" / "train").glob("*.jpg"))
    assert 3 <= len(listed) < 4000 and f"after {len(listed)} of 5000 images" in line, line


def test_pose_estimator_track_skips_an_unreadable_frame_with_a_warning(tiny_model, frames_folder):
    import simplepose

    est = simplepose.PoseEstimator(checkpoint=str(tiny_model.out / "last.pth"), detector="none", runtime="eager")
    with pytest.warns(UserWarning, match=r"skipped .*000002\.jpg: does not decode as an image"):
        tracked = list(est.track(frames_folder))
    assert len(tracked) == 5 and all(poses.track_ids is not None for _, poses in tracked)
    with pytest.raises(ValueError, match=r"000002\.jpg"):
        list(est.track(frames_folder, strict=True))
