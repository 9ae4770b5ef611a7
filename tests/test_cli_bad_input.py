"""Bad input as a user meets it: the installed `simplepose` command in a subprocess must exit
with status 2 and say ONE clear line on stderr (`simplepose CMD: error: ...`), no traceback.

The first part is what held before the input-validation layer; the second, what it added
(boxes, results files, argument counts, output folders checked where they enter).

The matrix of bad inputs (CASES) runs the installed command for one case of each command and
of each kind of bad input (INSTALLED); its other cases call `simplepose.cli.main` in the
test's process with the same assertions (a start of the command costs ~2 s once it imports
torch).
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml
from conftest import TINY_INPUT
from e2e_helpers import (
    assert_one_clear_error,
    read_strict_json,
    simplepose,
    simplepose_in_process,
    stderr_segments,
)

VIDEO = "000001_synth"


@dataclass(frozen=True)
class Inputs:
    """Good and bad inputs for the commands, all under one folder."""

    root: Path
    data: Path  # the tiny synthetic set
    config: Path  # the tiny model's config
    checkpoint: Path
    truncated: Path  # the checkpoint cut after 5,000 bytes
    random: Path  # 20,000 random bytes named .pth
    bad_yaml: Path
    unknown_key: Path  # the tiny config with model.colour
    broken_config: Path  # the tiny config on a copy of the set without two of its images
    a_file: Path  # a regular file, so that A_FILE/out cannot be made

    @property
    def video(self) -> Path:
        return self.data / "videos" / f"{VIDEO}.mp4"

    @property
    def video_dets(self) -> Path:
        return self.data / "posetrack" / "detections" / f"{VIDEO}.json"

    @property
    def video_gt(self) -> Path:
        return self.data / "posetrack" / "annotations" / "val" / f"{VIDEO}.json"

    @property
    def track_boxes(self) -> list[object]:
        """The video's detections, matched to its frames by the PoseTrack frame ids."""
        return ["--detections", self.video_dets, "--frames-like", self.video_gt]


@pytest.fixture(scope="module")
def inputs(synth_set, tiny_config, tiny_model, tmp_path_factory) -> Inputs:
    root = tmp_path_factory.mktemp("bad")
    ckpt = tiny_model.out / "last.pth"
    (root / "truncated.pth").write_bytes(ckpt.read_bytes()[:5000])
    (root / "random.pth").write_bytes(np.random.default_rng(0).bytes(20000))
    (root / "bad.yaml").write_text("model: {depth: [18\n")
    cfg = yaml.safe_load(tiny_config.read_text())
    (root / "unknown.yaml").write_text(yaml.safe_dump({**cfg, "model": {**cfg["model"], "colour": "red"}}))
    broken = root / "broken_set"
    shutil.copytree(synth_set.out, broken)
    (broken / "images" / "train" / "000003.jpg").unlink()
    (broken / "images" / "val" / "000001.jpg").unlink()
    (root / "broken.yaml").write_text(yaml.safe_dump({**cfg, "data": {**cfg["data"], "root": str(broken)}}))
    (root / "a_file").write_text("not a folder\n")
    return Inputs(
        root,
        synth_set.out,
        tiny_config,
        ckpt,
        root / "truncated.pth",
        root / "random.pth",
        root / "bad.yaml",
        root / "unknown.yaml",
        root / "broken.yaml",
        root / "a_file",
    )


Args = Callable[[Inputs], list[object]]
#: case -> (command, its arguments, a piece of text the error line must contain)
CASES: dict[str, tuple[str, Args, str]] = {
    # checkpoints that are not checkpoints
    "eval-truncated-checkpoint": ("eval", lambda f: [f.config, "--checkpoint", f.truncated], "truncated.pth"),
    "eval-random-bytes-checkpoint": ("eval", lambda f: [f.config, "--checkpoint", f.random], "random.pth"),
    "predict-random-bytes-checkpoint": (
        "predict",
        lambda f: ["--checkpoint", f.random, f.data / "images" / "val", "--detector", "none"],
        "random.pth",
    ),
    "track-truncated-checkpoint": (
        "track",
        lambda f: [f.video, "--checkpoint", f.truncated, *f.track_boxes],
        "truncated.pth",
    ),
    "info-truncated-checkpoint": ("info", lambda f: [f.truncated], "truncated.pth"),
    # configs
    "train-bad-yaml": ("train", lambda f: [f.bad_yaml], "bad.yaml: not valid YAML"),
    "info-bad-yaml": ("info", lambda f: [f.bad_yaml], "bad.yaml: not valid YAML"),
    "train-unknown-key-in-file": ("train", lambda f: [f.unknown_key], "unknown key model.colour"),
    "eval-unknown-key-override": (
        "eval",
        lambda f: [f.config, "--checkpoint", f.checkpoint, "--set", "test.nope=1"],
        "test.nope",
    ),
    "track-unknown-key-override": (
        "track",
        lambda f: [f.video, "--checkpoint", f.checkpoint, *f.track_boxes, "--set", "track.nope=1"],
        "track.nope",
    ),
    # images that are not there
    # without validation: the set's missing val image would be reported first, before training
    "train-missing-image": (
        "train",
        lambda f: [f.broken_config, "--out", f.root / "t", "--set", "train.val_every=0"],
        "000003.jpg",
    ),
    "train-missing-val-image": ("train", lambda f: [f.broken_config, "--out", f.root / "t"], "000001.jpg"),
    # (without --strict eval skips it and says so: tests/test_cli_batches.py)
    "eval-missing-image": ("eval", lambda f: [f.broken_config, "--checkpoint", f.checkpoint, "--strict"], "000001.jpg"),
    "predict-missing-image": (
        "predict",
        lambda f: ["--checkpoint", f.checkpoint, f.data / "images" / "val" / "nothere.jpg", "--detector", "none"],
        "nothere.jpg",
    ),
    # input files that are not there
    "train-missing-config": ("train", lambda f: [f.root / "nothere.yaml"], "nothere.yaml"),
    "info-missing-checkpoint": ("info", lambda f: [f.root / "nothere.pth"], "nothere.pth"),
    "eval-missing-checkpoint": ("eval", lambda f: [f.config, "--checkpoint", f.root / "nothere.pth"], "nothere.pth"),
    "eval-missing-boxes-file": (
        "eval",
        lambda f: [f.config, "--checkpoint", f.checkpoint, "--boxes", f.root / "nothere.json"],
        "nothere.json",
    ),
    "eval-missing-gt-file": (
        "eval",
        lambda f: ["--gt", f.root / "nothere.json", "--results", f.video_dets],
        "nothere.json",
    ),
    "eval-missing-results-file": (
        "eval",
        lambda f: ["--gt", f.data / "annotations" / "val.json", "--results", f.root / "nothere.json"],
        "nothere.json",
    ),
    "eval-gt-without-results": ("eval", lambda f: ["--gt", f.data / "annotations" / "val.json"], "--results"),
    "predict-missing-boxes-file": (
        "predict",
        lambda f: ["--checkpoint", f.checkpoint, f.data / "images" / "val", "--boxes", f.root / "nothere.json"],
        "nothere.json",
    ),
    "predict-boxes-file-not-json": (
        "predict",
        lambda f: ["--checkpoint", f.checkpoint, f.data / "images" / "val", "--boxes", f.bad_yaml],
        "bad.yaml: not a JSON file",
    ),
    "track-missing-video": (
        "track",
        lambda f: [f.root / "nothere.mp4", "--checkpoint", f.checkpoint, "--detections", f.video_dets],
        "nothere.mp4",
    ),
    "track-missing-detections": (
        "track",
        lambda f: [f.video, "--checkpoint", f.checkpoint, "--detections", f.root / "nothere.json"],
        "nothere.json",
    ),
    "track-eval-missing-gt-folder": (
        "track-eval",
        lambda f: ["--gt", f.root / "nothere", "--pred", f.video_gt.parent],
        "nothere",
    ),
    "track-eval-missing-prediction-file": (
        "track-eval",
        lambda f: ["--gt", f.video_gt.parent, "--pred", f.root],
        "--pred",
    ),
    "synth-bad-size": ("synth", lambda f: ["--out", f.root / "s", "--size", "0x-5"], "size"),
}


#: The cases run through the installed console script, one of each command and of each kind of
#: bad input above (a checkpoint, a config, an image, an input file), the costly ones included,
#: and those where OpenCV meets the missing image (its logging, which the command keeps quiet
#: through the environment, is set up once per process: only a fresh one shows it).
INSTALLED = {
    "eval-missing-image",
    "eval-truncated-checkpoint",
    "info-bad-yaml",
    "predict-missing-image",
    "synth-bad-size",
    "track-truncated-checkpoint",
    "track-eval-missing-gt-folder",
    "train-missing-val-image",
}


def test_every_command_of_the_matrix_runs_installed_once():
    assert INSTALLED.issubset(CASES)
    assert {CASES[c][0] for c in INSTALLED} == {command for command, _, _ in CASES.values()}


@pytest.mark.parametrize(
    "case", sorted(CASES), ids=[c + (" installed" if c in INSTALLED else "") for c in sorted(CASES)]
)
def test_bad_input_gives_one_clear_line(case, inputs, tmp_path, capfd):
    command, args, named = CASES[case]
    if case in INSTALLED:
        r = simplepose(command, *args(inputs), cwd=tmp_path)
    else:
        r = simplepose_in_process(capfd, command, *args(inputs), cwd=tmp_path)
    line = assert_one_clear_error(r, command)
    assert named in line


def test_demo_with_a_missing_config_says_so_before_generating_data(tmp_path):
    r = simplepose(
        "demo",
        "--config",
        tmp_path / "nothere.yaml",
        "--out",
        "report",
        "--data",
        "data",
        "--images",
        12,
        "--videos",
        1,
        "--frames",
        6,
        cwd=tmp_path,
    )
    assert "nothere.yaml" in assert_one_clear_error(r, "demo")
    assert not (tmp_path / "data").exists()


# ---------------------------------------------------------------- the validation layer
def test_predict_boxes_from_a_detections_file_go_to_their_own_image(inputs, tmp_path, capfd):
    """`predict --boxes val_detections.json --id-from val.json` on the val images: every image
    gets its own boxes.

    The synthetic set numbers images from 1 (000000.jpg is id 1), so guessing the id from the
    file name's number would give each image another's boxes; a detections list names no files,
    so predict refuses it without --id-from (that run in the test's process). Each predicted
    person must lie in the crop of a detection of its own image, and each image with detections
    must get people.
    """
    from simplepose.core.geometry import box_to_center_scale

    dets_path = inputs.data / "annotations" / "val_detections.json"
    refused = simplepose_in_process(
        capfd,
        "predict",
        "--checkpoint",
        inputs.checkpoint,
        inputs.data / "images" / "val",
        "--boxes",
        dets_path,
        "--out",
        tmp_path / "p",
        cwd=tmp_path,
    )
    assert "--id-from" in assert_one_clear_error(refused, "predict")
    r = simplepose(
        "predict",
        "--checkpoint",
        inputs.checkpoint,
        inputs.data / "images" / "val",
        "--boxes",
        dets_path,
        "--id-from",
        inputs.data / "annotations" / "val.json",
        "--det-thresh",
        0,
        "--out",
        tmp_path / "p",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    ids = {im["file_name"]: im["id"] for im in read_strict_json(inputs.data / "annotations" / "val.json")["images"]}
    crops: dict[int, list] = {}
    for d in read_strict_json(dets_path):
        center, scale = box_to_center_scale(d["bbox"], TINY_INPUT[0] / TINY_INPUT[1])
        crops.setdefault(d["image_id"], []).append((center - 0.55 * scale, center + 0.55 * scale))
    people: dict[str, int] = {}
    for person in read_strict_json(tmp_path / "p" / "results.json"):
        xy = np.asarray(person["keypoints"], dtype=float).reshape(-1, 3)[:, :2]
        own = crops.get(ids[person["file_name"]], [])
        assert any(((xy >= lo) & (xy <= hi)).all() for lo, hi in own), (person["file_name"], xy.mean(axis=0))
        people[person["file_name"]] = people.get(person["file_name"], 0) + 1
    assert all(people.get(name, 0) >= 1 for name, i in ids.items() if crops.get(i)), people


def test_eval_with_a_zero_size_detection_box(inputs, tmp_path):
    dets = read_strict_json(inputs.data / "annotations" / "val_detections.json")
    dets[0]["bbox"] = [50.0, 50.0, 0.0, 0.0]
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    r = simplepose(
        "eval",
        inputs.config,
        "--checkpoint",
        inputs.checkpoint,
        "--boxes",
        tmp_path / "dets.json",
        "--out",
        tmp_path / "ev",
        cwd=tmp_path,
    )
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    if r.returncode == 0:  # a skipped box is fine when the user is told how many
        assert "skip" in (r.stdout + r.stderr).lower() and (tmp_path / "ev" / "metrics.json").is_file()
    else:
        assert "dets.json" in assert_one_clear_error(r, "eval")


def test_eval_of_a_results_file_with_a_nan_keypoint(inputs, tmp_path):
    gt = read_strict_json(inputs.data / "annotations" / "val.json")
    results = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]), "score": 1.0}
        for a in gt["annotations"]
    ]
    results[0]["keypoints"][0] = float("nan")
    (tmp_path / "results.json").write_text(json.dumps(results))  # Python writes a bare NaN
    r = simplepose(
        "eval",
        "--gt",
        inputs.data / "annotations" / "val.json",
        "--results",
        tmp_path / "results.json",
        "--out",
        tmp_path,
        cwd=tmp_path,
    )
    assert "results.json" in assert_one_clear_error(r, "eval")


def test_synth_with_a_negative_image_count(tmp_path):
    r = simplepose("synth", "--out", tmp_path / "s", "--images", -1, cwd=tmp_path)
    assert "--images" in assert_one_clear_error(r, "synth")


def test_info_with_a_zero_input_size(tmp_path):
    r = simplepose("info", "--input-size", 0, 0, cwd=tmp_path)
    assert "input" in assert_one_clear_error(r, "info")


OUT_CASES: dict[str, Callable[[Inputs, Path], list[object]]] = {
    "eval": lambda f, out: [f.config, "--checkpoint", f.checkpoint, "--out", out],
    "eval --gt": lambda f, out: [
        "--gt",
        f.data / "annotations" / "val.json",
        "--results",
        f.root / "r.json",
        "--out",
        out,
    ],
    "predict": lambda f, out: [
        "--checkpoint",
        f.checkpoint,
        f.data / "images" / "val",
        "--detector",
        "none",
        "--out",
        out,
    ],
    "track": lambda f, out: [f.video, "--checkpoint", f.checkpoint, *f.track_boxes, "--out", out],
    "track-eval": lambda f, out: ["--gt", f.video_gt.parent, "--pred", f.video_gt.parent, "--out", out],
    "train": lambda f, out: [f.config, "--out", out],
    "synth": lambda f, out: ["--out", out, "--images", 4],
}


@pytest.mark.parametrize("case", sorted(OUT_CASES))
def test_an_out_folder_that_cannot_be_made_is_one_line_before_any_work(case, inputs, tmp_path):
    command = case.split()[0]
    (inputs.root / "r.json").write_text("[]")
    out = inputs.a_file / "out"
    r = simplepose(command, *OUT_CASES[case](inputs, out), cwd=tmp_path)
    assert str(out) in assert_one_clear_error(r, command)
    assert len(stderr_segments(r.stderr)) == 1, "progress shown: work started before the check"
