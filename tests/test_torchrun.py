"""`predict`, `track` and `eval` under torchrun (two processes, Gloo on CPU), as a user runs them:
the installed `simplepose` launched by `torchrun`, each rank taking its share of the inputs,
rank 0 merging. What they write equals what one process writes; a failure is one line."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from e2e_helpers import SIMPLEPOSE, read_strict_json, simplepose

import simplepose as package

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not available")

#: The model the package ships (the demo's), so no test here trains one.
SHIPPED = Path(package.__file__).parent / "models" / "synthetic_res18_96x64.pth"


def torchrun(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node=2 simplepose ARGS...` (the console script)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(SIMPLEPOSE)]
    return subprocess.run(
        [*cmd, *(str(a) for a in args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


def _ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert "Traceback" not in r.stderr, r.stderr[-4000:]
    return r


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A synthetic set: 8 pictures with people (4 in val), two 4-frame videos with frame folders."""
    root = tmp_path_factory.mktemp("shards")
    args = ("--images", 8, "--videos", 2, "--frames", 4, "--size", "320x240", "--video-size", "160x120")
    _ok(simplepose("synth", "--out", root / "data", *args, "--max-people", 2, "--seed", 3, cwd=root))
    return root / "data"


@pytest.fixture(scope="module")
def inputs(data) -> Path:
    """A folder of 6 pictures, 2 videos and one text file named .jpg (7 readable inputs, 1 not)."""
    folder = data.parent / "inputs"
    folder.mkdir()
    for image in sorted((data / "images").rglob("*.jpg"))[:6]:
        shutil.copy(image, folder / image.name)
    for video in sorted((data / "videos").glob("*.mp4")):
        shutil.copy(video, folder / video.name)
    (folder / "broken.jpg").write_text("not a picture\n")
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_predict_under_torchrun_writes_what_one_process_writes(inputs, tmp_path):
    model = ("--checkpoint", SHIPPED, "--detector", "none")
    one = _ok(simplepose("predict", inputs, *model, "--out", tmp_path / "one", cwd=tmp_path))
    two = _ok(torchrun("predict", inputs, *model, "--out", tmp_path / "two", cwd=tmp_path))
    # results.json (its running image ids across both ranks' shares), the drawings, the list of
    # files a later --overwrite replaces: byte for byte
    assert _files(tmp_path / "two") == _files(tmp_path / "one")
    results = read_strict_json(tmp_path / "two" / "results.json")
    assert sorted({r["image_id"] for r in results}) == list(range(1, 6 + 2 * 4 + 1))  # 6 pictures, 8 frames
    # rank 0 alone says what was done, once; the rank whose share holds broken.jpg warns of it
    assert _said(two, tmp_path / "two") == _said(one, tmp_path / "one")
    assert "1 unreadable input skipped: " in two.stdout and two.stderr.count("warning: skipped") == 1
    again = torchrun("predict", inputs, *model, "--out", tmp_path / "two", cwd=tmp_path)
    ours = [line for line in again.stderr.splitlines() if line.startswith("simplepose predict: ")]
    assert len(ours) == 1 and "holds the results of an earlier run" in ours[0], again.stderr[-3000:]
    assert _files(tmp_path / "two") == _files(tmp_path / "one")  # refused by rank 0, nothing touched


def _said(r: subprocess.CompletedProcess, out: Path) -> list[str]:
    """stdout's lines but the set-up line (auto's reason differs), with --out as OUT and no speeds."""
    lines = [line.replace(str(out), "OUT") for line in r.stdout.splitlines() if not line.startswith("model ")]
    return [re.sub(r"[0-9.]+ frames/s", "F frames/s", line) for line in lines]


def test_predict_under_torchrun_fails_before_any_output_with_one_line(inputs, tmp_path):
    model = ("--checkpoint", SHIPPED, "--detector", "none")
    r = torchrun("predict", inputs, *model, "--strict", "--out", tmp_path / "strict", cwd=tmp_path)
    assert r.returncode != 0
    ours = [line for line in r.stderr.splitlines() if line.startswith("simplepose predict: ")]
    assert ours == [
        f"simplepose predict: error: INPUT: {inputs / 'broken.jpg'}: does not decode as an image "
        "(--strict: an unreadable input is an error)"
    ]
    assert not (tmp_path / "strict").exists()  # checked before any output, on the rank that has it


def test_track_under_torchrun_tracks_each_video_as_one_process(data, tmp_path):
    videos = [data / "videos" / "000001_synth.mp4", data / "videos" / "000002_synth"]  # a video, a frames folder
    model = ("--checkpoint", SHIPPED, "--detector", "none", "--runtime", "eager")
    one = _ok(simplepose("track", *videos, *model, "--out", tmp_path / "one", cwd=tmp_path))
    two = _ok(torchrun("track", *videos, *model, "--out", tmp_path / "two", cwd=tmp_path))
    for name in ("000001_synth.json", "000002_synth.json"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    assert sorted(_files(tmp_path / "two")) == sorted(_files(tmp_path / "one"))
    # each video's lines in input order, whichever rank tracked it
    assert _said(two, tmp_path / "two") == _said(one, tmp_path / "one")
    assert [line for line in _said(one, tmp_path / "one") if line.startswith("wrote")] == [
        "wrote OUT/000001_synth.json and OUT/000001_synth.mp4",
        "wrote OUT/000002_synth.json and OUT/000002_synth.mp4",
    ]


def test_eval_under_torchrun_scores_the_whole_set(data, tmp_path):
    args = ("--checkpoint", SHIPPED, "--set", f"data.root={data}")
    _ok(simplepose("eval", *args, "--out", tmp_path / "one", cwd=tmp_path))
    two = _ok(torchrun("eval", *args, "--out", tmp_path / "two", cwd=tmp_path))
    one_metrics = json.loads((tmp_path / "one" / "metrics.json").read_text())
    two_metrics = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert one_metrics["AP"] > 0.2  # people found: the comparison below is of real numbers
    assert two_metrics == pytest.approx(one_metrics, abs=1e-6)
    a, b = (read_strict_json(tmp_path / run / "results.json") for run in ("one", "two"))
    assert [r["image_id"] for r in b] == [r["image_id"] for r in a]  # merged in image order
    assert [r["keypoints"] for r in b] == [pytest.approx(r["keypoints"], abs=1e-3) for r in a]
    assert two.stdout.count("wrote ") == 1  # rank 0 alone


def test_a_report_crosses_ranks_with_its_interruption_and_numbers():
    """What `predict` gathers from the ranks: a report pickles with the signal that stopped it, and
    shares combined get the running image numbers one process gives."""
    from simplepose.core.interrupts import Interrupted
    from simplepose.inference.prediction import InputPoses, PredictReport

    stop = pickle.loads(pickle.dumps(Interrupted(signal.SIGTERM, "after 1 of 3")))
    assert (stop.signum, stop.message, stop.exit_status) == (signal.SIGTERM, "after 1 of 3", 143)

    def item(index: int, frames: int) -> InputPoses:
        results = [{"image_id": t + 1, "file_name": f"{index}#{t}"} for t in range(frames)]
        return InputPoses(index, results, frames, done=True)

    rank0 = PredictReport([item(0, 2), item(2, 1)])
    rank1 = PredictReport([item(1, 3)], interrupted=Interrupted(signal.SIGINT))
    merged = PredictReport.combine([pickle.loads(pickle.dumps(r)) for r in (rank0, rank1)])
    assert [(r["file_name"], r["image_id"]) for r in merged.results] == [
        ("0#0", 1),
        ("0#1", 2),
        ("1#0", 3),
        ("1#1", 4),
        ("1#2", 5),
        ("2#0", 6),
    ]
    assert merged.frames == 6 and merged.inputs_done == 3
    assert isinstance(merged.interrupted, Interrupted) and merged.interrupted.signum == signal.SIGINT
    boxes_file_ids = PredictReport.combine([PredictReport([item(1, 2)], numbered=False)])
    assert [r["image_id"] for r in boxes_file_ids.results] == [1, 2]  # a boxes file's ids are kept
