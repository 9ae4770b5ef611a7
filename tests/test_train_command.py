"""`simplepose train ... --resume` after the process is killed (SIGKILL) in the middle of an epoch."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import REAL_DATA as REAL

from simplepose.data.coco import load_coco_keypoints
from simplepose.nets.weights import read_weights_file as read_checkpoint  # the safe loader must read them

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data samples not found at {REAL}")


def lines(path):
    return [json.loads(rec) for rec in path.read_text().splitlines()] if path.exists() else []


def test_resume_after_sigkill(tmp_path):
    cfg = {
        "model": {"depth": 18, "num_joints": 17, "deconv_filters": 64},
        "data": {
            "root": str(REAL / "coco"),
            "train_ann": "test_coco.json",
            "train_images": ".",
            "input_size": [32, 32],
            "heatmap_size": [8, 8],
            "workers": 0,
            "cache_images": True,
        },
        "train": {"epochs": 3, "batch_size": 2, "val_every": 0, "log_every": 1, "lr_steps": [1, 2]},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    metrics = out / "metrics.jsonl"
    cmd = [sys.executable, "-m", "simplepose", "train", str(tmp_path / "c.yaml"), "--out", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    per_epoch = -(-len(load_coco_keypoints(REAL / "coco" / "test_coco.json").records) // 2)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        # kill in epoch 2 after its 3rd step, once epoch 1's checkpoint exists
        while not any(rec["tag"] == "train" and rec["step"] >= per_epoch + 3 for rec in lines(metrics)):
            assert proc.poll() is None and time.monotonic() < deadline, "training ended or stalled"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert read_checkpoint(out / "last.pth")["epoch"] == 1
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    ckpt = read_checkpoint(out / "last.pth")
    assert ckpt["epoch"] == 3 and ckpt["step"] == 3 * per_epoch and ckpt["scheduler"]["last_epoch"] == 3
    epochs = [rec for rec in lines(metrics) if rec["tag"] == "epoch"]
    assert [rec["step"] for rec in epochs] == [1, 2, 3]  # epoch 2 ran again from its start, once to the end
    assert [round(rec["lr"], 8) for rec in epochs] == [1e-4, 1e-5, 1e-5]
