"""`simplepose train` in a user's hands: an error inside a DataLoader worker, a wrong validation
set, a diverging loss, a failing validation, and a kill while a checkpoint is being written.

Most run the installed console script on the session's tiny synthetic set (conftest.py); the
order of checkpoint and validation is checked in-process with a validation that fails.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from e2e_helpers import SIMPLEPOSE, assert_one_clear_error, simplepose, simplepose_in_process

from simplepose import engine
from simplepose.config import load_config
from simplepose.core.fileio import STALL_WRITE_ENV
from simplepose.nets.weights import read_weights_file


def write_config(tiny_config: Path, path: Path, **sections: dict[str, Any]) -> Path:
    """The tiny config with some of its values replaced, e.g. data={"workers": 1}."""
    cfg = yaml.safe_load(tiny_config.read_text())
    for name, values in sections.items():
        cfg[name] = {**cfg[name], **values}
    path.write_text(yaml.safe_dump(cfg))
    return path


def copy_set(synth_set, dest: Path) -> Path:
    """The tiny set's annotations and images, to break at will."""
    for part in ("annotations", "images"):
        shutil.copytree(synth_set.out / part, dest / part)
    return dest


@pytest.fixture
def one_thread():
    """One torch thread in-process, as the console script runs here: faster on 2 shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def rows(out: Path, tag: str) -> list[dict]:
    path = out / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [r for r in map(json.loads, lines) if r["tag"] == tag]


# ---------------------------------------------------------------- errors inside loader workers


def test_an_unreadable_image_read_in_a_loader_worker_is_one_line_naming_it(synth_set, tiny_config, tmp_path):
    data = copy_set(synth_set, tmp_path / "data")
    image = data / "images" / "train" / "000003.jpg"
    image.write_bytes(b"not an image")  # there, so only the worker that decodes it finds out
    cfg = write_config(tiny_config, tmp_path / "c.yaml", data={"root": str(data), "workers": 1})
    r = simplepose("train", cfg, "--out", tmp_path / "run", cwd=tmp_path)
    line = assert_one_clear_error(r, "train")  # no worker traceback around it
    assert line.endswith(f"cannot read image: {image}"), line
    assert "worker" not in r.stderr.lower(), r.stderr[-3000:]


def test_a_missing_training_image_is_one_line_before_any_step(synth_set, tiny_config, tmp_path):
    data = copy_set(synth_set, tmp_path / "data")
    image = data / "images" / "train" / "000003.jpg"
    image.unlink()
    cfg = write_config(tiny_config, tmp_path / "c.yaml", data={"root": str(data), "workers": 1})
    r = simplepose("train", cfg, "--out", tmp_path / "run", cwd=tmp_path)
    line = assert_one_clear_error(r, "train")
    assert line.endswith(f"data.train_images: image not found: {image}"), line
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # found before the first step


# ---------------------------------------------------------------- the validation set, checked first


def _val_of_16_joints(data: Path) -> None:
    """Rewrite the val annotations with the last joint dropped (a set of another skeleton)."""
    path = data / "annotations" / "val.json"
    coco = json.loads(path.read_text())
    category = coco["categories"][0]
    category["keypoints"] = category["keypoints"][:16]
    category["skeleton"] = [limb for limb in category["skeleton"] if max(limb) <= 16]
    for a in coco["annotations"]:
        a["keypoints"] = a["keypoints"][:48]
    path.write_text(json.dumps(coco))


VAL_CASES = {
    # case -> (data overrides, damage to a copy of the set, text the error line must hold)
    "missing annotation file": (
        {"val_ann": "annotations/nothere.json"},
        None,
        "data.val_ann: annotation file not found: {data}/annotations/nothere.json",
    ),
    "missing image folder": (
        {"val_images": "images/nothere"},
        None,
        "data.val_images: folder not found: {data}/images/nothere",
    ),
    "missing image": (
        {},
        lambda d: (d / "images" / "val" / "000000.jpg").unlink(),
        "data.val_images: image not found: {data}/images/val/000000.jpg",
    ),
    "another skeleton": ({}, _val_of_16_joints, "16 joints, but model.num_joints = 17"),
}


#: The case run through the installed command; the others, the same check of other damage, call
#: `simplepose.cli.main` in the test's process (a start of `train` costs ~2 s).
INSTALLED_VAL_CASE = "missing image"


@pytest.mark.parametrize("case", sorted(VAL_CASES))
def test_a_wrong_validation_set_is_one_line_before_any_training_step(case, synth_set, tiny_config, tmp_path, capfd):
    overrides, damage, expected = VAL_CASES[case]
    data = copy_set(synth_set, tmp_path / "data")
    if damage:
        damage(data)
    cfg = write_config(tiny_config, tmp_path / "c.yaml", data={"root": str(data), **overrides})
    out = tmp_path / "run"
    if case == INSTALLED_VAL_CASE:
        r = simplepose("train", cfg, "--out", out, cwd=tmp_path)
    else:
        r = simplepose_in_process(capfd, "train", cfg, "--out", out, cwd=tmp_path)
    line = assert_one_clear_error(r, "train")
    assert line.endswith(expected.format(data=data)), line
    assert "epoch 1/" not in r.stderr  # no epoch began: no progress bar was drawn
    assert not rows(out, "train") and not (out / "last.pth").exists()


def test_the_epoch_is_checkpointed_before_validation_runs(tiny_config, tmp_path, monkeypatch, one_thread):
    def broken_validation(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("validation broke")

    monkeypatch.setattr(engine, "_validate", broken_validation)
    with pytest.raises(RuntimeError, match="validation broke"):
        engine.train(load_config(tiny_config), tmp_path / "run")
    assert read_weights_file(tmp_path / "run" / "last.pth")["epoch"] == 1  # the epoch is not lost


@pytest.mark.parametrize("aps, best_epoch", [([0.1, 0.3], 2), ([0.3, 0.1], 1)])
def test_last_checkpoint_knows_the_best_validation(aps, best_epoch, tiny_config, tmp_path, monkeypatch, one_thread):
    values = iter(aps)
    monkeypatch.setattr(engine, "_validate", lambda *args, **kwargs: {"AP": next(values)})
    engine.train(load_config(tiny_config, ["train.epochs=2"]), tmp_path)
    # last.pth is written before validation, then again on a new best: a resumed run compares with it
    assert read_weights_file(tmp_path / "last.pth")["best"] == {"metric": "AP", "value": max(aps), "epoch": best_epoch}
    assert read_weights_file(tmp_path / "best.pth")["epoch"] == best_epoch


def test_random_numbers_drawn_by_validation_do_not_change_training(tiny_config, tmp_path, monkeypatch, one_thread):
    """last.pth holds the random state from before validation; training must go on from that
    state, as a run resumed from last.pth would, whatever validation draws."""
    states = {}
    for draws in (0, 1000):

        def validation(*args: Any, draws: int = draws, **kwargs: Any) -> dict[str, float]:
            torch.rand(draws)
            return {"AP": 0.5}

        def step(epoch: int, it: int, loss: float, draws: int = draws) -> None:
            if (epoch, it) == (1, 0):
                states[draws] = torch.get_rng_state()

        monkeypatch.setattr(engine, "_validate", validation)
        engine.train(load_config(tiny_config, ["train.epochs=2"]), tmp_path / str(draws), step_callback=step)
    assert torch.equal(states[0], states[1000])


# ---------------------------------------------------------------- a diverging loss


def test_a_diverging_loss_stops_with_one_line_naming_epoch_and_step(tiny_config, tmp_path):
    cfg = write_config(tiny_config, tmp_path / "c.yaml", train={"lr": 1e30, "epochs": 3})
    out = tmp_path / "run"
    r = simplepose("train", cfg, "--out", out, cwd=tmp_path)
    line = assert_one_clear_error(r, "train")
    assert "non-finite loss nan at epoch 1, step 2 of 2 (step 2 of the run); lower train.lr" in line, line
    assert not (out / "last.pth").exists()  # a diverged epoch is not saved as if it were good


# ---------------------------------------------------------------- a kill inside a checkpoint write


def test_a_kill_inside_the_checkpoint_write_keeps_the_previous_one_and_resume_cleans_up(tiny_config, tmp_path):
    cfg = write_config(
        tiny_config,
        tmp_path / "c.yaml",
        data={"cache_images": True},
        train={"epochs": 3, "val_every": 0, "lr_steps": [1, 2]},
    )
    ref, run = tmp_path / "ref", tmp_path / "run"
    done = simplepose("train", cfg, "--out", ref, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    # The hook stalls a write that replaces last.pth after its bytes are in the temporary file:
    # epoch 2's write, with epoch 1's last.pth on disk.
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", **{STALL_WRITE_ENV: "last.pth"})
    proc = subprocess.Popen(
        [str(SIMPLEPOSE), "train", str(cfg), "--out", str(run)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # against a hang only; nothing here is timed
        # last.pth first: a temporary file seen after it exists belongs to a later, stalled write
        while not ((run / "last.pth").exists() and list(run.glob("last.pth.*.tmp"))):
            assert proc.poll() is None and time.monotonic() < deadline, "training ended or stalled elsewhere"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert read_weights_file(run / "last.pth")["epoch"] == 1  # the previous checkpoint, whole
    assert len(list(run.glob("last.pth.*.tmp"))) == 1  # what the killed write left

    resumed = simplepose("train", cfg, "--out", run, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not list(run.glob("*.tmp"))  # the stale temporary file is gone
    a, b = read_weights_file(ref / "last.pth"), read_weights_file(run / "last.pth")
    assert a["epoch"] == b["epoch"] == 3 and a["step"] == b["step"]
    for key, value in a["state_dict"].items():
        assert torch.allclose(value.float(), b["state_dict"][key].float(), atol=1e-6), key
    # epoch 2 ran twice in `run` (killed while saving, then again); the final losses agree
    assert rows(run, "epoch")[-1]["loss"] == pytest.approx(rows(ref, "epoch")[-1]["loss"], rel=1e-6)
