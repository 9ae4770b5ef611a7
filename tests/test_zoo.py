"""The model zoo: verified downloads, the cache's integrity, conversion, and the commands.

No network here: every file comes from a `FileServer` on 127.0.0.1 started by the test, and
rows point at it through `$SIMPLEPOSE_MODELS` (rows of one's own) and `$SIMPLEPOSE_MIRROR`.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import subprocess
from functools import partial
from pathlib import Path

import pytest
import torch
import yaml
from e2e_helpers import SIMPLEPOSE, assert_one_clear_error, simplepose, simplepose_in_process
from zoo_helpers import FileServer, mmpose_file_bytes, read_only, sha256, tiny_pose_state_dict, write_rows

from simplepose import zoo
from simplepose.zoo import download as dl

POSE_PATH = "/pose/tiny_coco_64x32-{}_20200709.pth"


@pytest.fixture(scope="module")
def files():
    """The served files: a tiny mmpose-format pose model and a torchvision-format ResNet-18."""
    pose = mmpose_file_bytes(tiny_pose_state_dict())
    from simplepose.nets.model import PoseResNet

    resnet = {
        k: v
        for k, v in PoseResNet(depth=18, num_joints=17).state_dict().items()
        if not k.startswith(("deconv_layers", "final_layer"))
    }
    resnet["fc.weight"], resnet["fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)
    import io

    buf = io.BytesIO()
    torch.save(resnet, buf)
    return {POSE_PATH.format(sha256(pose)[:8]): pose, "/models/resnet18-tiny.pth": buf.getvalue()}


@pytest.fixture
def server(files):
    with FileServer(files) as s:
        yield s


def pose_path(files) -> str:
    return next(p for p in files if p.startswith("/pose/"))


@pytest.fixture
def zoo_env(tmp_path, server, files, monkeypatch):
    """A fresh cache and rows pointing at `server` (the pose row through the mirror)."""
    pose = pose_path(files)
    rows = write_rows(
        tmp_path / "rows.yaml",
        [
            {
                "name": "tiny-mm",
                "urls": [f"https://models.example.org{pose}"],
                "sha256": sha256(files[pose])[:8],
                "format": "mmpose",
                "color": "rgb",
                "input_size": [32, 64],
                "skeleton": "coco",
                "decoder": "mmpose",
            },
            {
                "name": "tiny-resnet18",
                "urls": [server.url + "/models/resnet18-tiny.pth"],
                "sha256": sha256(files["/models/resnet18-tiny.pth"]),
                "format": "torchvision",
            },
        ],
    )
    env = {"SIMPLEPOSE_HOME": str(tmp_path / "cache"), "SIMPLEPOSE_MODELS": str(rows), "SIMPLEPOSE_MIRROR": server.url}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("SIMPLEPOSE_OFFLINE", raising=False)
    return env


def leftovers(folder: Path) -> list:
    """Data files in the cache's download folder (lock files are not data)."""
    return sorted(p.name for p in folder.glob("*") if not p.name.endswith(".lock")) if folder.exists() else []


# ---------------------------------------------------------------- downloads
def test_download_verifies_converts_and_loads_weights_only(zoo_env, server, files):
    path = zoo.model_file("tiny-mm", progress=False)
    raw = next(iter(server.requests))
    assert server.requests[raw] == 1 and raw == pose_path(files)  # asked at the mirror, keeping the path
    ckpt = torch.load(path, weights_only=True)  # the converted file needs no allow-list
    assert ckpt["config"]["data"]["color"] == "rgb" and ckpt["config"]["test"]["decoder"] == "mmpose"
    assert ckpt["config"]["data"]["input_size"] == [32, 64]
    expected = tiny_pose_state_dict()
    assert set(ckpt["state_dict"]) == set(expected)
    assert all(torch.equal(ckpt["state_dict"][k], expected[k]) for k in expected)
    assert zoo.model_file("tiny-mm", progress=False) == path and server.requests[raw] == 1  # cached


def test_hash_mismatch_keeps_nothing(zoo_env, server, files, tmp_path):
    write_rows(
        Path(zoo_env["SIMPLEPOSE_MODELS"]),
        [{"name": "tiny-mm", "urls": [server.url + pose_path(files)], "sha256": "0badc0de", "format": "mmpose"}],
    )
    with pytest.raises(zoo.ZooError) as e:
        zoo.model_file("tiny-mm", progress=False)
    msg = str(e.value)
    assert "sha256 mismatch" in msg and "0badc0de" in msg and sha256(files[pose_path(files)]) in msg
    assert server.url + pose_path(files) in msg and "\n" not in msg
    assert leftovers(tmp_path / "cache" / "downloads") == []


def test_dropped_connection_resumes_with_range(zoo_env, server, files):
    server.drop_first[pose_path(files)] = 2
    path = zoo.fetch(zoo.get_row("tiny-mm"), progress=False)
    assert path.read_bytes() == files[pose_path(files)]
    assert server.ranges and server.requests[pose_path(files)] == 3


def test_server_ignoring_range_starts_over(zoo_env, server, files):
    server.drop_first[pose_path(files)] = 1
    server.ignore_range = True
    assert zoo.fetch(zoo.get_row("tiny-mm"), progress=False).read_bytes() == files[pose_path(files)]


def test_connection_that_keeps_dropping_fails_in_one_line(zoo_env, server, files, tmp_path):
    server.drop_first[pose_path(files)] = 100
    with pytest.raises(zoo.ZooError, match="dropped|stopped") as e:
        zoo.fetch(zoo.get_row("tiny-mm"), progress=False)
    assert "\n" not in str(e.value)
    assert leftovers(tmp_path / "cache" / "downloads") == []  # no partial file left


def test_404_and_refused_move_on_to_the_next_url(zoo_env, server, files, monkeypatch):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
    server.missing.add("/gone.pth")
    monkeypatch.setenv("SIMPLEPOSE_MIRROR", server.url + "/nothing-here")  # the mirror answers 404
    write_rows(
        Path(zoo_env["SIMPLEPOSE_MODELS"]),
        [
            {
                "name": "tiny-mm",
                "urls": [refused + pose_path(files), server.url + "/gone.pth", server.url + pose_path(files)],
                "sha256": sha256(files[pose_path(files)]),
                "format": "mmpose",
            }
        ],
    )
    try:
        assert zoo.fetch(zoo.get_row("tiny-mm"), progress=False).is_file()
    finally:
        closed.close()
    assert server.requests["/nothing-here" + pose_path(files)] == 1 and server.requests["/gone.pth"] == 1


def test_no_working_url_names_each(zoo_env, server, files, monkeypatch):
    monkeypatch.delenv("SIMPLEPOSE_MIRROR")
    write_rows(
        Path(zoo_env["SIMPLEPOSE_MODELS"]),
        [{"name": "tiny-mm", "urls": [server.url + "/a.pth", server.url + "/b.pth"], "format": "mmpose"}],
    )
    with pytest.raises(zoo.ZooError, match=r"could not download tiny-mm: .*/a.pth \(HTTP 404\); .*/b.pth \(HTTP 404\)"):
        zoo.fetch(zoo.get_row("tiny-mm"), progress=False)


def test_offline_opens_no_socket_and_says_where_to_put_the_file(zoo_env, monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("a socket was opened offline")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("SIMPLEPOSE_OFFLINE", "1")
    with pytest.raises(zoo.ZooError) as e:
        zoo.model_file("tiny-mm")
    msg = str(e.value)
    assert "offline" in msg and "https://models.example.org/pose/" in msg
    assert str(tmp_path / "cache" / "downloads") in msg and "simplepose models download tiny-mm" in msg


def test_corrupted_cache_is_caught_then_fetched_again_or_refused(zoo_env, server, files, capsys):
    path = zoo.fetch(zoo.get_row("tiny-mm"), progress=False)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime
    with pytest.raises(zoo.ZooError, match="corrupted"):
        zoo.fetch(zoo.get_row("tiny-mm"), offline=True)
    assert zoo.fetch(zoo.get_row("tiny-mm"), progress=False).read_bytes() == files[pose_path(files)]
    assert "corrupted" in capsys.readouterr().err and server.requests[pose_path(files)] == 2


def test_corrupted_converted_model_is_converted_again(zoo_env, server, files):
    converted = zoo.model_file("tiny-mm", progress=False)
    converted.write_bytes(b"garbage")
    assert zoo.model_file("tiny-mm", offline=True) == converted  # from the verified download, no network
    assert torch.load(converted, weights_only=True)["format"] == "simplepose"


def test_an_edited_row_is_converted_anew_and_the_old_layout_is_not_read(zoo_env, server, files):
    """The converted file is keyed on what shapes it: a row given another decoder and colour
    (`$SIMPLEPOSE_MODELS`) gets a checkpoint of its own, made offline from the download; a file
    of the older layout (models/NAME.pth, keyed on the name alone) is never read."""
    first = zoo.model_file("tiny-mm", progress=False)
    old_layout = first.parent / "tiny-mm.pth"
    old_layout.write_bytes(b"an old conversion")
    rows = Path(zoo_env["SIMPLEPOSE_MODELS"])
    row = dict(yaml.safe_load(rows.read_text())[0], decoder="dark", color="bgr")
    write_rows(rows, [row])
    second = zoo.model_file("tiny-mm", offline=True)
    assert second != first and second != old_layout and server.requests[pose_path(files)] == 1  # no new download
    config = torch.load(second, weights_only=True)["config"]
    assert config["test"]["decoder"] == "dark" and config["data"]["color"] == "bgr"
    assert torch.load(first, weights_only=True)["config"]["test"]["decoder"] == "mmpose"  # the first row's own file


def test_full_cache_is_one_line(zoo_env, monkeypatch, tmp_path):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dl, "_copy", full)
    with pytest.raises(zoo.ZooError, match=f"the cache folder {tmp_path / 'cache' / 'downloads'} is full"):
        zoo.fetch(zoo.get_row("tiny-mm"), progress=False)


def test_imagenet_backbone_by_name(zoo_env):
    from simplepose.config import load_config
    from simplepose.training.engine import build_model

    cfg = load_config(None, ["model.depth=18", "model.pretrained=tiny-resnet18"])
    model = build_model(cfg, 17, resuming=False)
    assert torch.equal(model.state_dict()["layer4.1.bn2.running_var"], torch.ones(512))  # the file's values
    with pytest.raises(zoo.ZooError, match="not a pose model"):
        zoo.model_file("tiny-resnet18")


def test_rows_file_errors_name_file_row_and_field(tmp_path, monkeypatch):
    rows = write_rows(tmp_path / "rows.yaml", [{"name": "x", "urls": ["http://h/x.pth"], "colour": "rgb"}])
    monkeypatch.setenv("SIMPLEPOSE_MODELS", str(rows))
    with pytest.raises(zoo.ZooError, match=r"rows.yaml: row 1 \(x\): unknown field \['colour'\]"):
        zoo.rows()
    write_rows(rows, [{"name": "x", "urls": ["http://h/x.pth"], "sha256": "XYZ"}])
    with pytest.raises(zoo.ZooError, match=r"row 1 \(x\): field 'sha256' must be 8 to 64 lowercase hex"):
        zoo.rows()


def test_official_rows_say_where_to_get_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMPLEPOSE_HOME", str(tmp_path))
    with pytest.raises(
        zoo.ZooError,
        match=r"cannot be downloaded: get it by hand from .*OneDrive.*pose_resnet_50_256x192"
        r".*place it at .*official-coco-res50-256x192.pth .*--checkpoint FILE",
    ):
        zoo.model_file("official-coco-res50-256x192")


def test_builtin_rows_are_complete():
    names = {r.name for r in zoo.rows()}
    for depth in (50, 101, 152):
        for size in ("256x192", "384x288"):
            assert {
                f"coco-res{depth}-{size}",
                f"coco-res{depth}-dark-{size}",
                f"official-coco-res{depth}-{size}",
            } <= names
        assert {f"mpii-res{depth}-256x256", f"resnet{depth}"} <= names
    assert {"posetrack18-res50-256x192", "resnet18", "resnet34", "yolox-m", "yolox-tiny"} <= names
    for w in (32, 48):
        for size in ("256x192", "384x288"):
            assert {f"coco-hrnet-w{w}{v}-{size}" for v in ("", "-dark", "-udp")} <= names
        assert {f"hrnet_w{w}", f"mpii-hrnet-w{w}-256x256", f"official-coco-hrnet-w{w}-256x192"} <= names
    assert zoo.get_row("hrnet_w32").kind == "backbone" and zoo.get_row("coco-hrnet-w48-udp-384x288").decoder == "udp"
    row = zoo.get_row("coco-res101-384x288")
    assert row.urls[0].endswith("/top_down/resnet/res101_coco_384x288-8c71bdc9_20200709.pth")  # not the 1.x link
    for r in zoo.rows():
        assert not r.urls or r.sha256 or r.format == "onnx-zip", r.name
        assert not r.sha256 or f"-{r.sha256}" in r.urls[0].rsplit("/", 1)[1], r.name  # the published name's digest


# ---------------------------------------------------------------- the commands, as a user runs them
def test_models_command_lists_downloads_and_predicts_offline(zoo_env, server, files, synth_set, tmp_path):
    listed = simplepose("models", cwd=tmp_path, env=zoo_env)
    assert listed.returncode == 0, listed.stderr
    line = next(s for s in listed.stdout.splitlines() if s.startswith("tiny-mm "))
    assert line.split()[-1] == "no" and "coco-res50-256x192" in listed.stdout

    got = simplepose("models", "download", "tiny-mm", cwd=tmp_path, env=zoo_env)
    assert got.returncode == 0, got.stderr
    assert re.fullmatch(
        rf"tiny-mm: {re.escape(str(tmp_path / 'cache' / 'models'))}/tiny-mm-[0-9a-f]{{10}}\.pth", got.stdout.strip()
    )  # stdout: results only
    table = json.loads(simplepose("models", "--json", cwd=tmp_path, env=zoo_env).stdout)
    assert next(r for r in table if r["name"] == "tiny-mm")["cached"] is True

    image = synth_set.out / "images" / "val" / "000000.jpg"
    out = tmp_path / "pred"
    run = simplepose(
        "predict",
        image,
        "--model",
        "tiny-mm",
        "--offline",
        "--detector",
        "none",
        "--runtime",
        "eager",
        "--out",
        out,
        cwd=tmp_path,
        env=zoo_env,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads((out / "results.json").read_text())
    assert len(results) == 1 and len(results[0]["keypoints"]) == 51
    assert server.requests[pose_path(files)] == 1  # predict --offline asked for nothing


def test_offline_command_with_empty_cache_is_one_line(zoo_env, server, synth_set, tmp_path, capfd):
    """The installed command with a named model; with the defaults, in the test's process."""
    image = synth_set.out / "images" / "val" / "000000.jpg"
    run = simplepose(
        "predict",
        image,
        "--model",
        "tiny-mm",
        "--detector",
        "none",
        "--out",
        tmp_path / "p",
        cwd=tmp_path,
        env=dict(zoo_env, SIMPLEPOSE_OFFLINE="1"),
    )
    line = assert_one_clear_error(run, "predict")
    assert "offline and not in the cache: tiny-mm: https://models.example.org/pose/" in line
    assert str(tmp_path / "cache" / "downloads") in line and "`simplepose models download tiny-mm`" in line
    assert sum(server.requests.values()) == 0 and not (tmp_path / "p").exists()
    # With nothing but the input: the default model and detector, both named in one line.
    run = simplepose_in_process(capfd, "predict", image, cwd=tmp_path, env=dict(zoo_env, SIMPLEPOSE_OFFLINE="1"))
    line = assert_one_clear_error(run, "predict")
    assert "coco-res50-256x192: https://download.openmmlab.com/" in line and "yolox-m: https://" in line
    assert "`simplepose models download coco-res50-256x192 yolox-m`" in line


def test_two_processes_download_once(zoo_env, server, files, tmp_path):
    server.delay = 0.05  # ~1 s per file, so the two overlap
    env = dict(__import__("os").environ, **zoo_env)
    procs = [
        subprocess.Popen(
            [str(SIMPLEPOSE), "models", "download", "tiny-mm"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert server.requests[pose_path(files)] == 1


def test_read_only_cache_is_one_line(zoo_env, tmp_path):
    cache = tmp_path / "cache"
    with read_only(cache):
        run = simplepose("models", "download", "tiny-mm", cwd=tmp_path, env=zoo_env)
    line = assert_one_clear_error(run, "models")
    assert (
        f"the cache folder {cache / 'downloads'} is not writable" in line
        or f"the cache folder {cache} is not writable" in line
    ), line


def test_model_option_in_eval_export_info(zoo_env, server, synth_set, tmp_path, capfd):
    """`--model NAME` of eval (the installed command), info and export (in the test's process;
    the installed command takes it in predict above)."""
    here = partial(simplepose_in_process, capfd)
    assert here("models", "download", "tiny-mm", cwd=tmp_path, env=zoo_env).returncode == 0
    offline = dict(zoo_env, SIMPLEPOSE_OFFLINE="1")
    info = here("info", "--model", "tiny-mm", cwd=tmp_path, env=offline)
    assert info.returncode == 0 and "ResNet-18" in info.stdout, info.stderr
    onnx = tmp_path / "tiny.onnx"
    exported = here("export", "--model", "tiny-mm", "--onnx", onnx, cwd=tmp_path, env=offline)
    assert exported.returncode == 0 and onnx.is_file(), exported.stderr
    ann = synth_set.out / "annotations" / "val.json"
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(
        f"data:\n  root: {synth_set.out}\n  val_ann: annotations/val.json\n  val_images: images/val\n"
        "  input_size: [32, 64]\n  heatmap_size: [8, 16]\n  color: rgb\n"
        "test:\n  use_gt_boxes: true\n  runtime: eager\n  decoder: mmpose\n"
    )
    evaluated = simplepose("eval", cfg, "--model", "tiny-mm", "--out", tmp_path / "ev", cwd=tmp_path, env=offline)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "AP" in json.dumps(json.loads((tmp_path / "ev" / "metrics.json").read_text())) and ann.is_file()
