"""The base install runs the default path, and an optional part that is missing says which extra
to install before anything is downloaded.

The first tests make a fresh virtual environment, install this checkout into it with no extras
(`pip install -c constraints.txt CHECKOUT`, not editable: the CPU torch pin is the project's
own), and run `simplepose predict PHOTO` there with nothing else: the default pose model and
YOLOX detector rows point (`$SIMPLEPOSE_MODELS`) at a tiny mmpose-format model and a fake YOLOX
bundle served from 127.0.0.1, so nothing leaves the machine but pip's own look-ups. The
install takes some tens of seconds (~20-35 s on this project's 2 cores); it is the only way
to see that the package asks for what its default path imports.

The last tests run the development install: each optional part asked for where it is
missing (OpenVINO, compile's C++ compiler, a torchvision .pth detector, TensorBoard) is one
line naming what to install, said before the zoo server sees a request.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from e2e_helpers import assert_one_clear_error, decode_image, simplepose, simplepose_in_process, video_frames
from yolox_fake import expected_boxes, paint_people
from zoo_helpers import default_rows

ROOT = Path(__file__).resolve().parents[1]
#: What `pip install .` builds from: the package, its metadata and the files pyproject names.
CHECKOUT_FILES = ("pyproject.toml", "README.md", "LICENSE", "src")
#: Optional packages the base install must not bring.
OPTIONAL = ("openvino", "nncf", "tensorboard", "torchvision")
#: (slot, cells (i0, j0, i1, j1) in the 416 input, green = 255 * score): two people and a faint one.
PEOPLE = [(0, (2, 0, 8, 2), 230), (1, (3, 4, 9, 6), 200), (2, (0, 5, 1, 6), 40)]
SIZE = (533, 977)  # (width, height) of the photo


def clean_env(**extra: str) -> dict:
    """This environment without what would make the venv import the checkout (PYTHONPATH) or
    another environment, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", **extra)
    return env


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Rows for the default pose model and detector, served from 127.0.0.1; yields (rows file, server)."""
    with default_rows(tmp_path_factory.mktemp("zoo")) as served:
        yield served


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory):
    """A fresh virtual environment with this checkout installed, no extras; yields its bin folder."""
    root = tmp_path_factory.mktemp("base-install")
    venv = root / "venv"
    # No pip inside (ensurepip costs seconds): this interpreter's pip installs into it (--python).
    made = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True)
    python = venv / "bin" / "python"
    if made.returncode != 0 or not python.is_file():
        pytest.skip(f"cannot create a virtual environment here: {(made.stderr or made.stdout).strip()[-300:]}")
    # A copy: building in the checkout would write build/ and *.egg-info into it, beside other tests.
    source = root / "checkout"
    source.mkdir()
    for name in CHECKOUT_FILES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name)
    start = time.perf_counter()
    # --no-compile: bytecode is written when a module is first imported instead of for all of
    # torch up front (that halves the install); nothing else differs from a user's install.
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-compile",
            "-c",
            str(ROOT / "constraints.txt"),
            str(source),
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=900,
    )
    seconds = time.perf_counter() - start
    assert install.returncode == 0, install.stderr[-3000:]
    print(f"\nfresh virtual environment: `pip install -c constraints.txt CHECKOUT` took {seconds:.1f} s")
    # Not removed here (~1.2 GB, as long to delete as to install on a busy disk): pytest keeps
    # the last three runs' temporary folders and removes older ones.
    return venv / "bin"


def run_venv(bin_dir: Path, *args: object, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """`args` run with the fresh environment's `bin_dir/args[0]`. Bytecode is written at the
    first import, as in a user's environment (the install was made with --no-compile), even
    where PYTHONDONTWRITEBYTECODE is set around the tests: else each command here compiles
    torch's modules again (~3 s each)."""
    return subprocess.run(
        [str(bin_dir / str(args[0])), *(str(a) for a in args[1:])],
        cwd=cwd,
        env={k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_base_install_has_the_default_path_and_no_optional_package(base_venv, tmp_path):
    # What the default path imports (the detector's and auto's onnxruntime, the export's onnx) imports.
    probe = (
        "import importlib.util, onnx, onnxruntime, cv2, yaml, torch, simplepose; print(simplepose.__file__); "
        f"print(','.join(m for m in {OPTIONAL!r} if importlib.util.find_spec(m)))"
    )
    run = run_venv(base_venv, "python", "-c", probe, cwd=tmp_path, env=clean_env())
    assert run.returncode == 0, run.stderr[-2000:]
    where, present = run.stdout.splitlines()
    assert Path(where).is_relative_to(base_venv.parent), where  # the installed copy, not the checkout
    assert present == "", f"the base install brought optional packages: {present}"


def test_predict_with_nothing_but_the_photo_in_the_base_install(base_venv, zoo, tmp_path, monkeypatch):
    rows, server = zoo
    image = paint_people(*SIZE, 416, PEOPLE)
    cv2.imwrite(str(tmp_path / "photo.png"), image)
    env = clean_env(SIMPLEPOSE_HOME=str(tmp_path / "cache"), SIMPLEPOSE_MODELS=str(rows))
    before = dict(server.requests)
    run = run_venv(base_venv, "simplepose", "predict", "photo.png", cwd=tmp_path, env=env)
    print(f"\n$ simplepose predict photo.png\n{run.stdout}{run.stderr[-1500:]}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "model coco-res50-256x192; detector yolox-m; runtime " in run.stdout
    assert "2 people in 1 frame of 1 input" in run.stdout
    assert server.requests["/pose.pth"] == before.get("/pose.pth", 0) + 1
    assert server.requests["/yolox.zip"] == before.get("/yolox.zip", 0) + 1
    results = json.loads((tmp_path / "predictions" / "results.json").read_text())
    assert len(results) == 2 and {r["file_name"] for r in results} == {"photo.png"}  # the faint one dropped
    assert all(r["category_id"] == 1 and len(r["keypoints"]) == 17 * 3 for r in results)
    drawn = decode_image(tmp_path / "predictions" / "photo.png")
    assert drawn.shape == image.shape and (drawn != image).any()  # skeletons drawn on the photo

    # The same people as the checkout finds (eager, as `auto` runs one photo), from the files the
    # base install cached: offline, so nothing is fetched again.
    for k, v in {**env, "SIMPLEPOSE_OFFLINE": "1"}.items():
        monkeypatch.setenv(k, v)
    import simplepose

    est = simplepose.PoseEstimator(runtime="eager")
    want = est(image)
    np.testing.assert_allclose(
        np.sort(want.boxes, axis=0), np.sort(expected_boxes(*SIZE, 416, PEOPLE[:2]), axis=0), atol=1e-6
    )
    got = sorted(results, key=lambda r: -r["score"])
    order = np.argsort(-want.scores)
    np.testing.assert_allclose([r["score"] for r in got], want.scores[order], rtol=1e-4)
    np.testing.assert_allclose(
        np.array([r["keypoints"] for r in got]).reshape(-1, 17, 3), want.keypoints[order], atol=1e-2
    )


def test_track_with_nothing_but_the_frames_in_the_base_install(base_venv, zoo, tmp_path):
    """A video's worth of crops: `auto` exports the model (onnx) and weighs ONNX Runtime against
    fast, the choice this base dependency is for."""
    rows, _ = zoo
    (tmp_path / "clip").mkdir()
    for t in range(3):  # lossless frames: the fake detector reads exact colours
        cv2.imwrite(str(tmp_path / "clip" / f"{t:06d}.png"), paint_people(*SIZE, 416, PEOPLE))
    env = clean_env(SIMPLEPOSE_HOME=str(tmp_path / "cache"), SIMPLEPOSE_MODELS=str(rows))
    run = run_venv(base_venv, "simplepose", "track", "clip", cwd=tmp_path, env=env)
    print(f"\n$ simplepose track clip\n{run.stdout}")
    assert run.returncode == 0, run.stderr[-3000:]
    setup = next(
        line for line in run.stdout.splitlines() if line.startswith("model coco-res50-256x192; detector yolox-m")
    )
    assert "onnx" in setup, setup  # ONNX Runtime built from the export: chosen, or timed against fast
    assert "could not be built" not in run.stderr, run.stderr[-2000:]
    assert "3 frames" in run.stdout
    pred = json.loads((tmp_path / "tracking" / "clip.json").read_text())
    assert len(pred["images"]) == 3
    assert len(video_frames(tmp_path / "tracking" / "clip.mp4")) == 3


def test_missing_openvino_is_one_line_before_any_download_in_the_base_install(base_venv, zoo, tmp_path):
    rows, server = zoo
    cv2.imwrite(str(tmp_path / "photo.png"), paint_people(*SIZE, 416, PEOPLE))
    env = clean_env(SIMPLEPOSE_HOME=str(tmp_path / "cache"), SIMPLEPOSE_MODELS=str(rows))
    before = sum(server.requests.values())
    run = run_venv(base_venv, "simplepose", "predict", "photo.png", "--runtime", "openvino", cwd=tmp_path, env=env)
    line = assert_one_clear_error(run, "predict")
    print(f"\n$ simplepose predict photo.png --runtime openvino\n{line}")
    assert "runtime openvino needs openvino" in line and "pip install 'simplepose[openvino]'" in line
    assert sum(server.requests.values()) == before and not (tmp_path / "cache").exists()  # nothing fetched
    assert not (tmp_path / "predictions").exists()


# --- the development install: each optional part, missing, is one line before any download ---


@pytest.fixture
def served(zoo, tmp_path):
    """(env with the served default rows and an empty cache, server, request count so far)."""
    rows, server = zoo
    cv2.imwrite(str(tmp_path / "photo.png"), paint_people(*SIZE, 416, PEOPLE))
    env = {"SIMPLEPOSE_HOME": str(tmp_path / "cache"), "SIMPLEPOSE_MODELS": str(rows)}
    return env, server, sum(server.requests.values())


@pytest.mark.skipif(importlib.util.find_spec("openvino") is not None, reason="openvino is installed here")
@pytest.mark.parametrize(
    "command,args",
    [  # predict: in the base install above
        ("track", ["photo.png", "--set", "test.runtime=openvino-int8"]),
        ("eval", ["--model", "coco-res50-256x192", "--runtime", "openvino"]),
    ],
)
def test_missing_openvino_is_one_line_before_any_download(served, tmp_path, command, args):
    env, server, before = served
    line = assert_one_clear_error(simplepose(command, *args, cwd=tmp_path, env=env), command)
    assert "pip install 'simplepose[openvino]'" in line and "runtime openvino" in line, line
    assert sum(server.requests.values()) == before and not (tmp_path / "cache").exists()


def test_missing_compiler_is_one_line_before_any_download(served, tmp_path):
    env, server, before = served
    run = simplepose(
        "predict", "photo.png", "--runtime", "compile", cwd=tmp_path, env={**env, "CXX": str(tmp_path / "no-such-c++")}
    )
    line = assert_one_clear_error(run, "predict")
    assert "runtime compile" in line and "no-such-c++ is not found" in line and "runtime fast" in line, line
    assert sum(server.requests.values()) == before


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed here")
def test_missing_torchvision_is_one_line_before_the_pose_model_download(served, tmp_path):
    env, server, before = served
    (tmp_path / "frcnn.pth").write_bytes(b"weights")
    run = simplepose("predict", "photo.png", "--detector", "frcnn.pth", cwd=tmp_path, env=env)
    line = assert_one_clear_error(run, "predict")
    assert "needs torchvision" in line and "pip install torchvision" in line, line
    assert sum(server.requests.values()) == before


@pytest.mark.skipif(importlib.util.find_spec("openvino") is not None, reason="openvino is installed here")
def test_pose_estimator_says_what_to_install_before_any_download(served, monkeypatch):
    env, server, before = served
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    import simplepose

    with pytest.raises(ValueError, match=r"runtime openvino needs openvino.*pip install 'simplepose\[openvino\]'"):
        simplepose.PoseEstimator(runtime="openvino")
    assert sum(server.requests.values()) == before and not Path(env["SIMPLEPOSE_HOME"]).exists()


@pytest.mark.skipif(importlib.util.find_spec("openvino") is not None, reason="openvino is installed here")
def test_demo_and_train_say_what_to_install_before_any_work(tmp_path, capfd):
    """The installed `demo`; `train`, the same check, in the test's process."""
    demo = simplepose("demo", "--runtime", "openvino", "--out", "report", "--data", "data", cwd=tmp_path)
    assert "pip install 'simplepose[openvino]'" in assert_one_clear_error(demo, "demo")
    assert not (tmp_path / "data").exists()  # no synthetic data made first
    config = ROOT / "configs" / "synthetic" / "res18_96x64.yaml"
    train = simplepose_in_process(
        capfd, "train", config, "--set", "test.runtime=openvino", "--out", "run", cwd=tmp_path
    )
    assert "pip install 'simplepose[openvino]'" in assert_one_clear_error(train, "train")
    assert not (tmp_path / "run" / "last.pth").exists()


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None, reason="tensorboard is installed here")
def test_training_log_says_tensorboard_is_off_and_which_extra_adds_it(tmp_path, capsys):
    from simplepose.training.train_log import MetricsLog

    log = MetricsLog(tmp_path)
    log.write(0, "train", {"loss": 1.0})
    log.close()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "pip install 'simplepose[tensorboard]'" in out[0] and "metrics.jsonl" in out[0]
    assert json.loads((tmp_path / "metrics.jsonl").read_text()) == {"tag": "train", "step": 0, "loss": 1.0}


def test_bench_skips_compiled_training_without_a_compiler_and_says_why(monkeypatch, tmp_path):
    from simplepose.bench import training
    from simplepose.config import load_config

    monkeypatch.setenv("CXX", str(tmp_path / "no-such-c++"))
    built = []
    # A step that only records its set-up: what is measured here is which set-ups run.
    monkeypatch.setattr(training, "make_step", lambda cfg, cl, amp, compiled, batch: built.append(compiled) or float)
    section = training.training_speed(load_config(), "tiny", with_compile=True, rounds=1, seconds=0.0, batch=2)
    assert built == [False, False, False]  # torch.compile never reached
    assert [row[0] for row in section.rows] == ["eager fp32", "channels-last fp32", "channels-last + bf16 autocast"]
    note = next(n for n in section.notes if n.startswith("channels-last + torch.compile fp32: skipped"))
    assert "no-such-c++ is not found" in note
