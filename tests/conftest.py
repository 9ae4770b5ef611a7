"""Shared test fixtures: where the real data samples live; a tiny synthetic set and model."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml
from e2e_helpers import simplepose
from filelock import FileLock  # torch's own dependency

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on the two cores: one thread each, for torch in this process
    # and for the commands it starts (two threads per worker would fight over the cores).
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)

#: The slowest test files (~45 s to ~4 s of one core each on the 2-core machine), longest first.
#: `make test` runs two xdist workers that take whole files (--dist loadfile) from one queue, and
#: the run ends when the last file does. pytest-xdist orders that queue by the number of tests in
#: a file, which left files of few slow tests (torchrun, the demo, bench, distributed training)
#: for the end: one worker still busy, the other done (~10-15 s). Started first, the slow files
#: leave the short ones to even out the end. A file not named here runs after these, in collection
#: order. Only the order changes; a file's tests stay together, in their order.
SLOW_FILES_FIRST = (
    "test_cli_batches.py",
    "test_base_install.py",  # its pip install waits on the disk: beside the other worker's CPU work
    "test_torchrun.py",
    "test_cli_e2e.py",
    "test_cli_bad_input.py",
    "test_train_checks.py",
    "test_cheap_checks_first.py",
    "test_demo.py",
    "test_hrnet.py",
    "test_cache_keys.py",
    "test_zoo.py",
    "test_mmpose_golden.py",
    "test_weights.py",
    "test_tiny_sizes.py",
    "test_serve.py",
    "test_train_command.py",
    "test_recipe_probes.py",
    "test_bench.py",
    "test_distributed.py",
    "test_serve_browser.py",
    "test_cli_paths.py",
    "test_runtimes.py",
    "test_predict_cli.py",
    "test_model.py",
    "test_one_command.py",
    "test_pckh.py",
    "test_mmpose_hrnet_golden.py",
    "test_engine.py",
    "test_export.py",
)


def pytest_configure(config):
    # xdist's own reordering (by number of tests per file) would undo SLOW_FILES_FIRST.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    """The files of SLOW_FILES_FIRST first, in its order; each file's tests stay together, in order."""
    rank = {name: i for i, name in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


#: ../shared/data/real beside the checkout (see its README).
#: SIMPLEPOSE_REAL_DATA overrides it (e.g. for a checkout in a nested worktree folder).
REAL_DATA = Path(
    os.environ.get("SIMPLEPOSE_REAL_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
)


@pytest.fixture(scope="session", autouse=True)
def own_cache_folder(tmp_path_factory):
    """`auto` keeps decisions and exports in the cache folder: tests (and the commands they
    start) use one of their own, never the user's, unless SIMPLEPOSE_HOME names one."""
    if "SIMPLEPOSE_HOME" not in os.environ:
        os.environ["SIMPLEPOSE_HOME"] = str(tmp_path_factory.mktemp("simplepose-home"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data samples not found at {REAL_DATA}")
    return REAL_DATA


# ---------------------------------------------------------------- end-to-end CLI fixtures
# One tiny synthetic set and one tiny model per test run, made by the installed `simplepose`
# command; the end-to-end tests of every other command reuse them. Under pytest-xdist the
# workers share them (the first to ask makes them, under a file lock; the others wait and read).


def made_once(tmp_path_factory, name: str, make: Callable[[Path], subprocess.CompletedProcess]) -> tuple:
    """(folder, run): `make(folder)` run once per test run, the folder shared by the workers
    of `pytest -n` (in the run's base folder, beside theirs); its CompletedProcess is kept."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        return folder, make(folder)
    shared = tmp_path_factory.getbasetemp().parent / "shared-fixtures"
    shared.mkdir(exist_ok=True)
    folder, record = shared / name, shared / f"{name}.json"
    with FileLock(str(shared / f"{name}.lock")):
        if not record.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a maker that failed left it half made
            folder.mkdir()
            run = make(folder)
            if run.returncode != 0:
                return folder, run  # the fixture fails; another worker tries again
            kept = {"args": [str(a) for a in run.args], "returncode": 0, "stdout": run.stdout, "stderr": run.stderr}
            record.write_text(json.dumps(kept))
    return folder, subprocess.CompletedProcess(**json.loads(record.read_text()))


#: 12 images of 160x120 (10 train, 2 val: 000000.jpg is image id 1) and one 6-frame video.
SYNTH_ARGS = (
    "--images",
    12,
    "--videos",
    1,
    "--frames",
    6,
    "--size",
    "160x120",
    "--video-size",
    "160x120",
    "--max-people",
    2,
    "--seed",
    0,
)
#: The tiny model's input (w, h): R18 at width 16 with a 32-filter head, heatmaps 8x16.
TINY_INPUT = (32, 64)


@dataclass(frozen=True)
class CommandRun:
    """A finished `simplepose` run: where it wrote and what it printed."""

    out: Path
    result: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def synth_set(tmp_path_factory) -> CommandRun:
    """`simplepose synth` of a tiny set: images, annotations, detections, a video with PoseTrack GT."""
    root, result = made_once(
        tmp_path_factory, "synth", lambda root: simplepose("synth", "--out", root / "data", *SYNTH_ARGS, cwd=root)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return CommandRun(root / "data", result)


@pytest.fixture(scope="session")
def tiny_config(synth_set, tmp_path_factory) -> Path:
    """A YAML config of a model small enough to train on the tiny set in a few seconds."""
    cfg = {
        "model": {"depth": 18, "width": 16, "num_joints": 17, "deconv_filters": 32},
        "data": {
            "dataset": "coco",
            "root": str(synth_set.out),
            "train_ann": "annotations/train.json",
            "train_images": "images/train",
            "val_ann": "annotations/val.json",
            "val_images": "images/val",
            "input_size": list(TINY_INPUT),
            "heatmap_size": [TINY_INPUT[0] // 4, TINY_INPUT[1] // 4],
            "encoding": "udp",
            "rotation_prob": 0.0,
            "workers": 0,
        },
        "train": {"epochs": 1, "batch_size": 8, "val_every": 1, "log_every": 1},
        "test": {
            "batch_size": 16,
            "decoder": "udp",
            "shift_heatmap": False,
            "use_gt_boxes": True,
            "detections": "annotations/val_detections.json",
        },
    }
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_config, tmp_path_factory) -> CommandRun:
    """`simplepose train` of the tiny config for one epoch; `out` holds last.pth and best.pth."""

    def train(root: Path) -> subprocess.CompletedProcess:
        shutil.copy(tiny_config, root / "tiny.yaml")  # the run's config.yaml names this file
        return simplepose("train", root / "tiny.yaml", "--out", root / "run", cwd=root)

    root, result = made_once(tmp_path_factory, "tiny-model", train)
    assert result.returncode == 0, result.stderr[-3000:]
    return CommandRun(root / "run", result)
