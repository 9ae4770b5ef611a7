"""Two processes under torchrun with Gloo on CPU: a few DDP steps, one checkpoint, ranks in sync."""

import json
import os
import subprocess
import sys

import pytest
import torch
import yaml
from conftest import REAL_DATA as REAL

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data samples not found at {REAL}")


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not available")
def test_two_process_gloo_run(tmp_path):
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
        "train": {"epochs": 1, "batch_size": 4, "val_every": 0, "log_every": 1},
    }
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "simplepose",
        "train",
        str(tmp_path / "tiny.yaml"),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--set",
        "train.sync_bn=true",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "last.pth", "metrics.jsonl"]
    lines = [json.loads(rec) for rec in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [rec for rec in lines if rec["tag"] == "train"]
    # 12 trainable people over 2 ranks = 6 each = 2 batches (4 + 2); one line per step, from rank 0 only
    assert [rec["step"] for rec in steps] == [1, 2]
    done = lines[-1]
    assert done["tag"] == "done" and done["world_size"] == 2 and done["ranks_in_sync"] is True
    assert proc.stdout.count("trained 1 epoch,") == 1
    assert proc.stderr.count("UserWarning: train.sync_bn is ignored on CPU") == 1  # said once, by rank 0
    ckpt = torch.load(out / "last.pth", map_location="cpu", weights_only=False)
    assert ckpt["epoch"] == 1 and not any(k.startswith("module.") for k in ckpt["state_dict"])
