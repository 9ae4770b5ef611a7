"""`simplepose export`: the ONNX file round-trips against PyTorch (fp32 and int8, dynamic
batch axis), the installed command writes it, and bad input is one clear line."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from simplepose.cli import main
from simplepose.config import build_model_kwargs, config_from_dict
from simplepose.nets.checkpoint import save_checkpoint

SMALL = {
    "model": {"depth": 18, "width": 8, "deconv_filters": 64},
    "data": {"input_size": [48, 64], "heatmap_size": [12, 16]},
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    cfg = config_from_dict(SMALL)
    torch.manual_seed(0)
    from test_runtimes import random_statistics

    from simplepose.nets.model import PoseResNet

    model = random_statistics(PoseResNet(**build_model_kwargs(cfg.model)))
    path = tmp_path_factory.mktemp("ckpt") / "small.pth"
    save_checkpoint(path, model, cfg)
    return path


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    from simplepose.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, 4, seed=1, val_fraction=0.0)
    return root / "images" / "train"


def test_export_round_trip_with_dynamic_batch(checkpoint, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx

    from simplepose.inference.export import export_checkpoint
    from simplepose.nets.weights import load_checkpoint
    from simplepose.runtimes.onnx_paths import OnnxRunner

    out = tmp_path / "m.onnx"
    report = export_checkpoint(checkpoint, out)
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a named, dynamic batch axis
    assert not [n for n in model.graph.node if n.op_type == "BatchNormalization"]  # folded
    torch_model = load_checkpoint(checkpoint).model
    runner = OnnxRunner(str(out))
    for n in (1, 3):
        x = torch.randn(n, 3, 64, 48)
        with torch.no_grad():
            want = torch_model(x).numpy()
        assert np.abs(runner(x) - want).max() <= 1e-4 * np.abs(want).max()
    assert report.max_abs_diff <= 1e-4 * report.max_abs_output and report.input_size == (48, 64)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically: no leftovers


def test_installed_command_writes_a_checked_int8_model(checkpoint, calibration, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx

    exe = Path(sys.executable).parent / "simplepose"
    out = tmp_path / "models" / "small_int8.onnx"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # no speed needed; two threads on busy cores crawl
    done = subprocess.run(
        [
            str(exe),
            "export",
            "--checkpoint",
            str(checkpoint),
            "--onnx",
            str(out),
            "--int8",
            "--calibration",
            str(calibration),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    model = onnx.load(str(out))
    assert {"QLinearConv", "QuantizeLinear"} <= {n.op_type for n in model.graph.node}
    assert f"wrote {out} (int8" in done.stdout
    diff, peak = map(
        float, re.search(r"int8 vs PyTorch fp32: (\S+) \(largest heatmap value (\S+);", done.stdout).groups()
    )
    assert 0 < diff < 0.1 * peak  # int8 changes the numbers a little, not wholesale


def run_cli(args, capsys):
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def test_bad_input_is_one_clear_line(checkpoint, calibration, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    code, err = run_cli(
        ["export", "--checkpoint", str(tmp_path / "missing.pth"), "--onnx", str(tmp_path / "a.onnx")], capsys
    )
    assert code == 2 and err.count("\n") == 0 and "--checkpoint" in err and "missing.pth: not found" in err
    code, err = run_cli(
        [
            "export",
            "--checkpoint",
            str(checkpoint),
            "--onnx",
            str(tmp_path / "a.onnx"),
            "--int8",
            "--calibration",
            str(tmp_path / "nowhere"),
        ],
        capsys,
    )
    assert code == 2 and err.count("\n") == 0 and "--calibration" in err and "nowhere: not found" in err
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, err = run_cli(["export", "--checkpoint", str(checkpoint), "--onnx", str(blocker / "a.onnx")], capsys)
    assert code == 2 and err.count("\n") == 0 and "--onnx" in err and "file is a file" in err
    code, err = run_cli(
        ["export", "--checkpoint", str(checkpoint), "--onnx", str(tmp_path / "a.onnx"), "--int8"], capsys
    )
    assert code == 2 and "--calibration" in err
    assert not (tmp_path / "a.onnx").exists()


def test_without_onnx_the_command_says_what_to_install(checkpoint, tmp_path, capsys, monkeypatch):
    import simplepose.runtimes.onnx_paths as onnx_paths

    monkeypatch.setattr(onnx_paths, "onnx_available", lambda: False)
    code, err = run_cli(["export", "--checkpoint", str(checkpoint), "--onnx", str(tmp_path / "a.onnx")], capsys)
    assert code != 0 and err.count("\n") == 0 and "pip install 'simplepose[onnx]'" in err
