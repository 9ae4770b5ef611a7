"""benchmarks/recipe_probes.py as a user runs it: two probes of the tiny config, trained by the
installed `simplepose train`, then read back (not retrained) on a second run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "recipe_probes.py"


def run_probes(tiny_config: Path, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--base",
            str(tiny_config),
            "--out",
            str(out),
            "--set",
            "train.epochs=2",
            "--probe",
            "base",
            "--probe",
            "low_lr",
            "train.lr=1e-5",
            "train.batch_size=4",
        ],
        cwd=tiny_config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_probes_train_each_setting_and_a_second_run_reads_them_back(tiny_config, tmp_path):
    done = run_probes(tiny_config, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| base ") or line.startswith("| low_lr ")]
    assert len(rows) == 2, done.stdout
    probes = json.loads((tmp_path / "probes.json").read_text())["probes"]
    assert [p["name"] for p in probes] == ["base", "low_lr"]
    assert probes[1]["settings"] == ["train.lr=1e-5", "train.batch_size=4"]
    for p in probes:
        assert p["epochs"] == 2 and 0 <= p["AP"] <= 1 and p["train_min"] > 0 and p["samples_per_s"] > 0
    ran = yaml.safe_load((tmp_path / "low_lr" / "config.yaml").read_text())["train"]
    assert (ran["lr"], ran["batch_size"], ran["epochs"], ran["max_minutes"]) == (1e-5, 4, 2, 0)
    first = (tmp_path / "low_lr" / "last.pth").stat().st_mtime_ns
    again = run_probes(tiny_config, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "low_lr" / "last.pth").stat().st_mtime_ns == first  # read back, not trained again
    assert json.loads((tmp_path / "probes.json").read_text())["probes"] == probes
