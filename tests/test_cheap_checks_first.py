"""Cheap checks before expensive work, as a user meets them through the installed command.

A device, precision or runtime the machine cannot run, a misspelt zoo name, config key or
option: one line naming it (and the nearest names, or what is here instead), before any
download, model load or output folder. Outputs default to the current folder, never beside an
input; a failed command leaves no folder it made.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
from functools import partial
from pathlib import Path

import pytest
from e2e_helpers import assert_one_clear_error, read_strict_json, simplepose, simplepose_in_process
from zoo_helpers import FileServer

VIDEO = "000001_synth"


def image(synth_set) -> Path:
    return synth_set.out / "images" / "val" / "000000.jpg"


def device_command(case: str, device: str, f: dict) -> list:
    """The arguments of `case` run with `--device DEVICE`, writing to f['out']."""
    return {
        "predict": ["predict", f["image"], "--checkpoint", f["ckpt"], "--detector", "none"],
        "track": ["track", f["video"], "--checkpoint", f["ckpt"]],
        "eval": ["eval", f["config"], "--checkpoint", f["ckpt"]],
        "train": ["train", f["config"]],
        "demo": ["demo", "--data", f["out"] / "data"],
    }[case] + ["--device", device, "--out", f["out"]]


# Each kind of missing device, and each command with --device, at least once. (The tests run with
# CUDA_VISIBLE_DEVICES="", so cuda is missing on a GPU machine too.) The installed command runs
# the cuda cases, which need that fresh process (torch in the test's own may see a GPU); "gpu",
# which names no device on any machine, and mps, which CUDA_VISIBLE_DEVICES does not hide, call
# `simplepose.cli.main` in the test's process.
DEVICE_CASES = [
    ("predict", "cuda"),
    ("predict", "gpu"),
    ("track", "cuda:3"),
    ("eval", "mps"),
    ("train", "cuda"),
    ("train", "gpu"),
    ("demo", "mps"),
]


@pytest.mark.parametrize("case,device", DEVICE_CASES, ids=[f"{c}-{d}" for c, d in DEVICE_CASES])
def test_a_device_the_machine_lacks_is_one_line_and_leaves_no_folder(
    case, device, tiny_model, tiny_config, synth_set, tmp_path, capfd
):
    f = {
        "image": image(synth_set),
        "ckpt": tiny_model.out / "best.pth",
        "config": tiny_config,
        "video": synth_set.out / "videos" / f"{VIDEO}.mp4",
        "out": tmp_path / "out",
    }
    if not device.startswith("cuda"):
        run = simplepose_in_process(capfd, *device_command(case, device, f), cwd=tmp_path)
    else:
        run = simplepose(*device_command(case, device, f), cwd=tmp_path)
    line = assert_one_clear_error(run, case)
    assert f"--device {device}: " in line and line.endswith("devices here: cpu"), line
    kind = device.split(":")[0]
    assert {"cuda": "CUDA", "gpu": "not a device name", "mps": "MPS"}[kind] in line
    assert list(tmp_path.iterdir()) == [], "nothing is made before the device is checked"


def test_runtime_names_and_missing_extras_are_one_line_before_the_model_loads(tiny_model, synth_set, tmp_path, capfd):
    """The installed command with a misspelt --runtime; the same check reached through --set and
    a missing extra, in the test's process (the base install meets the latter installed too)."""
    base = [
        "predict",
        image(synth_set),
        "--checkpoint",
        tiny_model.out / "best.pth",
        "--detector",
        "none",
        "--out",
        tmp_path / "out",
    ]
    line = assert_one_clear_error(simplepose(*base, "--runtime", "onnx-in8", cwd=tmp_path), "predict")
    assert "--runtime onnx-in8: unknown runtime; did you mean onnx-int8?" in line
    run = simplepose_in_process(capfd, *base, "--set", "test.runtime=eagr", cwd=tmp_path)
    line = assert_one_clear_error(run, "predict")
    assert "test.runtime eagr: unknown runtime; did you mean eager?" in line
    if importlib.util.find_spec("openvino") is None:
        run = simplepose_in_process(capfd, *base, "--runtime", "openvino", cwd=tmp_path)
        line = assert_one_clear_error(run, "predict")
        assert "--runtime openvino needs openvino" in line and "pip install 'simplepose[openvino]'" in line
    assert not (tmp_path / "out").exists()


def test_a_misspelt_model_is_named_before_anything_downloads(synth_set, tmp_path, capfd):
    # An empty cache and a mirror that counts requests: the default detector (yolox-m) is not
    # cached, so a command that fetched it before checking the model name would ask for it.
    # (The misspelt detector: the same check in the test's process.)
    with FileServer({}) as server:
        env = {"SIMPLEPOSE_HOME": str(tmp_path / "cache"), "SIMPLEPOSE_MIRROR": server.url}
        run = simplepose("predict", image(synth_set), "--model", "coco-res5-256x192", cwd=tmp_path, env=env)
        line = assert_one_clear_error(run, "predict")
        assert "no model named 'coco-res5-256x192'" in line and "did you mean coco-res50-256x192?" in line
        run = simplepose_in_process(capfd, "predict", image(synth_set), "--detector", "yolo-m", cwd=tmp_path, env=env)
        assert "no model named 'yolo-m'; did you mean yolox-m?" in assert_one_clear_error(run, "predict")
        run = simplepose("models", "download", "coco-res50-256x129", cwd=tmp_path, env=env)
        assert "did you mean coco-res50-256x192?" in assert_one_clear_error(run, "models")
        assert sum(server.requests.values()) == 0
    assert not (tmp_path / "cache" / "downloads").exists() or not any((tmp_path / "cache" / "downloads").iterdir())
    assert not (tmp_path / "predictions").exists()


def test_a_misspelt_config_key_suggests_the_nearest_and_blames_the_override(tiny_config, tmp_path):
    run = simplepose("train", tiny_config, "--set", "train.epoch=1", "--out", tmp_path / "run", cwd=tmp_path)
    line = assert_one_clear_error(run, "train")
    assert "--set: unknown key train.epoch; did you mean train.epochs?" in line
    assert str(tiny_config) not in line  # the key came from --set, not from the file
    assert not (tmp_path / "run").exists()


def test_an_unknown_option_shows_the_subcommands_usage(tmp_path):
    run = simplepose("predict", "--chekpoint", "x", "photo.jpg", cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "usage: simplepose predict " in run.stderr
    assert "simplepose predict: error: unrecognized arguments: --chekpoint; did you mean --checkpoint?" in run.stderr
    run = simplepose("models", "download", "--ofline", "yolox-m", cwd=tmp_path)
    assert "usage: simplepose models download " in run.stderr and "did you mean --offline?" in run.stderr
    run = simplepose("--bogus", "info", cwd=tmp_path)  # before the command: the top level's own
    assert run.returncode == 2 and "simplepose: error: unrecognized arguments: --bogus" in run.stderr


def test_version_is_the_one_in_pyproject(tmp_path):
    """--version and simplepose.__version__ say pyproject.toml's version (the one place it is
    written; an installed wheel reads the same from its metadata)."""
    tomllib = pytest.importorskip("tomllib")
    import simplepose as package

    written = tomllib.loads((Path(package.__file__).parents[2] / "pyproject.toml").read_text())["project"]["version"]
    run = simplepose("--version", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"simplepose {written}" and package.__version__ == written


def test_eval_writes_into_the_current_folder_never_beside_the_checkpoint(tiny_model, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    ckpt = Path(shutil.copy(tiny_model.out / "best.pth", models / "best.pth"))
    work = tmp_path / "work"
    work.mkdir()
    run = simplepose("eval", "--checkpoint", ckpt, "--runtime", "eager", cwd=work)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(p.name for p in models.iterdir()) == ["best.pth"]
    metrics = read_strict_json(work / "evaluation" / "metrics.json")
    assert 0 <= metrics["AP"] <= 1 and read_strict_json(work / "evaluation" / "results.json")
    assert str(Path("evaluation") / "metrics.json") in run.stdout


def test_track_eval_writes_into_the_current_folder_not_into_pred(synth_set, tmp_path):
    gt = synth_set.out / "posetrack" / "annotations" / "val"
    pred = tmp_path / "pred"
    shutil.copytree(gt, pred)
    run = simplepose("track-eval", "--gt", gt, "--pred", pred, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert read_strict_json(tmp_path / "track-evaluation" / "metrics.json")["mAP"] == pytest.approx(100.0)
    assert not (pred / "metrics.json").exists()


@pytest.mark.parametrize("command", ["train", "eval"])
def test_a_wrong_data_root_leaves_no_output_folder(command, tiny_model, tiny_config, tmp_path, capfd):
    """The installed `train`; `eval`, the same check, in the test's process."""
    args = [tiny_config] + (["--checkpoint", tiny_model.out / "best.pth"] if command == "eval" else [])
    run = (simplepose if command == "train" else partial(simplepose_in_process, capfd))(
        command, *args, "--set", "data.root=nowhere", "--out", tmp_path / "out" / "run", cwd=tmp_path
    )
    assert "data.root: folder not found: nowhere" in assert_one_clear_error(run, command)
    assert list(tmp_path.iterdir()) == []


def test_an_amp_setting_the_device_lacks_leaves_no_folder(tiny_config, tmp_path):
    # train.amp=fp16 on the CPU: refused before the folder is made, like a missing device.
    run = simplepose("train", tiny_config, "--set", "train.amp=fp16", "--out", tmp_path / "run", cwd=tmp_path)
    assert "fp16" in assert_one_clear_error(run, "train") and not (tmp_path / "run").exists()


def test_made_folders_are_removed_only_while_empty(tmp_path):
    from simplepose.core.fileio import made_dirs_mark, prepare_output_dir, remove_empty_made_dirs

    (tmp_path / "kept").mkdir()
    mark = made_dirs_mark()
    prepare_output_dir(tmp_path / "a" / "b")
    prepare_output_dir(tmp_path / "kept" / "c")
    prepare_output_dir(tmp_path / "d")
    (tmp_path / "d" / "results.json").write_text("[]")
    remove_empty_made_dirs(mark)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "kept"]  # a/b and kept/c went; kept was there
    assert list((tmp_path / "kept").iterdir()) == []


def test_suggestions_are_the_nearest_names():
    from simplepose.core.suggest import did_you_mean, nearest

    names = ["coco-res50-256x192", "coco-res101-256x192", "coco-res152-256x192", "yolox-s", "yolox-m"]
    assert nearest("coco-res50-256x129", names) == ["coco-res50-256x192"]
    assert nearest("yolox-n", names) == ["yolox-s", "yolox-m"]  # equally near: both
    assert nearest("res101", names) == ["coco-res101-256x192"]  # no near spelling: the names holding it
    assert did_you_mean("zzz", names) == ""
    assert did_you_mean("yolo-m", names) == "; did you mean yolox-m?"


def test_pose_estimator_names_the_device_and_the_model_before_loading(tmp_path, monkeypatch):
    import simplepose
    from simplepose.core.hardware import DeviceError
    from simplepose.zoo import ZooError

    with FileServer({}) as server:
        monkeypatch.setenv("SIMPLEPOSE_HOME", str(tmp_path / "cache"))
        monkeypatch.setenv("SIMPLEPOSE_MIRROR", server.url)
        for device in ("gpu", "cuda:99", "mps"):
            with pytest.raises(DeviceError, match=rf"^device {device}: .*; devices here: cpu"):
                simplepose.PoseEstimator(device=device)
        with pytest.raises(ZooError, match="no model named 'coco-res50-256x129'; did you mean coco-res50-256x192"):
            simplepose.PoseEstimator(model="coco-res50-256x129", device="cpu")
        with pytest.raises(ZooError, match="did you mean yolox-m"):
            simplepose.PoseEstimator(detector="yolo-m", device="cpu")
        with pytest.raises(ValueError, match="runtime onx: unknown runtime; did you mean onnx"):
            simplepose.PoseEstimator(runtime="onx", device="cpu")
        assert sum(server.requests.values()) == 0


def test_export_and_bench_check_their_options_before_any_download_or_folder(tmp_path):
    with FileServer({}) as server:
        env = {"SIMPLEPOSE_HOME": str(tmp_path / "cache"), "SIMPLEPOSE_MIRROR": server.url}
        run = simplepose(
            "export",
            "--model",
            "coco-res50-256x192",
            "--onnx",
            tmp_path / "out" / "m.onnx",
            "--int8",
            cwd=tmp_path,
            env=env,
        )
        line = assert_one_clear_error(run, "export")
        assert "--int8 needs --calibration DIR" in line or "pip install 'simplepose[onnx]'" in line
        assert sum(server.requests.values()) == 0
    run = simplepose("bench", "--runtimes", "eagr", "--out", tmp_path / "bench", cwd=tmp_path)
    assert run.returncode == 2 and "invalid choice: 'eagr'" in run.stderr and "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"] or list(tmp_path.iterdir()) == []


def test_device_messages_on_a_cuda_build(monkeypatch):
    """The branches a CPU-only machine cannot reach, with torch's answers stood in for."""
    import torch

    from simplepose.core.hardware import DeviceError, check_device

    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(
        DeviceError,
        match=r"^--device cuda: no CUDA GPU visible \(CUDA_VISIBLE_DEVICES=''\); "
        r"devices here: cpu",
    ):
        check_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert check_device("cuda:0") == "cuda:0" and check_device(None) == "cuda"
    with pytest.raises(
        DeviceError,
        match=r"^--device cuda:3: there is no GPU 3 \(1 CUDA GPU\(s\) here\); "
        r"devices here: cpu, cuda:0",
    ):
        check_device("cuda:3")
