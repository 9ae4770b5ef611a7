"""A file server on 127.0.0.1 with faults on demand, and model files in the formats the zoo reads.

The machines that run the tests reach no model host, so every zoo test serves generated files
from `FileServer` (started by the test) and points rows at it with `$SIMPLEPOSE_MODELS` and
`$SIMPLEPOSE_MIRROR`, the two settings users have for their own rows and mirrors.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import torch
import yaml


class FileServer:
    """Serves `files` (URL path -> bytes) with HTTP Range; faults are set per path.

    Attributes the tests set: `missing` (paths answered 404), `drop_first[path] = n` (the
    first n GETs of `path` send half the body, then close), `delay` (seconds per 64 KiB sent,
    so that two clients overlap), `ignore_range` (answer 200 with the whole file).
    `requests` counts GETs per path.
    """

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = dict(files or {})
        self.missing: set[str] = set()
        self.drop_first: Counter = Counter()
        self.delay = 0.0
        self.ignore_range = False
        self.requests: Counter = Counter()
        self.ranges: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                server.requests[self.path] += 1
                data = server.files.get(self.path)
                if data is None or self.path in server.missing:
                    self.send_error(404)
                    return
                start, status = 0, 200
                rng = self.headers.get("Range")
                if rng and not server.ignore_range:
                    server.ranges.append(rng)
                    start, status = int(rng.split("=")[1].split("-")[0]), 206
                    if start >= len(data):
                        self.send_error(416)
                        return
                body = data[start:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if server.drop_first[self.path] > 0:
                    server.drop_first[self.path] -= 1
                    body = body[: len(body) // 2]
                    self._send(body)
                    self.close_connection = True
                    return
                self._send(body)

            def _send(self, body: bytes) -> None:
                for i in range(0, len(body), 1 << 16):
                    if server.delay:
                        time.sleep(server.delay)
                    self.wfile.write(body[i : i + (1 << 16)])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *args: None  # a client that hung up on purpose is no news
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # Polled every 20 ms for `shutdown` (the default 0.5 s made every test that stops a server
        # wait half a second for nothing).
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tiny_pose_state_dict(
    seed: int = 0, joints: int = 17, width: int = 16, filters: int = 32
) -> dict[str, torch.Tensor]:
    """A small ResNet-18 pose network's weights (our key names), random but seeded."""
    from simplepose.nets.model import PoseResNet

    torch.manual_seed(seed)
    model = PoseResNet(depth=18, num_joints=joints, width=width, deconv_filters=filters)
    for m in model.modules():  # BatchNorm statistics that matter
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return {k: v.clone() for k, v in model.state_dict().items()}


def mmpose_file_bytes(sd: dict[str, torch.Tensor], version: int = 1) -> bytes:
    """`sd` as mmpose publishes it: prefixed keys, numpy arrays in `meta`, legacy pickle."""
    head = "head." if version == 1 else "keypoint_head."
    heads = ("deconv_layers.", "final_layer.")  # mmpose's head; the rest (ResNet or HRNet) is its backbone
    state = {(head if k.startswith(heads) else "backbone.") + k: v for k, v in sd.items()}
    state["data_preprocessor.mean"] = torch.tensor([123.675, 116.28, 103.53])
    meta = {
        "dataset_meta": {
            "dataset_name": "coco",
            "num_keypoints": 17,
            "sigmas": np.linspace(0.025, 0.107, 17).astype(np.float32),
            "flip_indices": [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15],
            "keypoint_colors": np.zeros((17, 3), dtype=np.uint8),
            "dataset_keypoint_weights": np.ones(17, dtype=np.float64),
        },
        "mmengine_version": "0.10.7",
        "epoch": np.int64(210),
    }
    import io

    buf = io.BytesIO()
    torch.save({"meta": meta, "state_dict": state}, buf, _use_new_zipfile_serialization=False)
    return buf.getvalue()


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text(yaml.safe_dump(rows, sort_keys=False))
    return path


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make `folder` unwritable even for root (chattr +i), else by its mode; restore after."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if not chattr or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode != 0:
            import pytest

            pytest.skip("running as root without chattr +i: no way to make a folder read-only")
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(folder)], check=True)
    else:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)


@contextlib.contextmanager
def default_rows(root: Path) -> Iterator[tuple]:
    """The default rows (coco-res50-256x192, yolox-m) pointing at a tiny mmpose-format model and
    a fake 416 YOLOX bundle (`yolox_fake`) served from 127.0.0.1; yields (rows file for
    `$SIMPLEPOSE_MODELS`, the server)."""
    from yolox_fake import make_yolox_bundle, make_yolox_onnx

    pose = mmpose_file_bytes(tiny_pose_state_dict())
    bundle = make_yolox_bundle(root / "yolox.zip", make_yolox_onnx(416), 416).read_bytes()
    with FileServer({"/pose.pth": pose, "/yolox.zip": bundle}) as server:
        rows = write_rows(
            root / "rows.yaml",
            [
                {
                    "name": "coco-res50-256x192",
                    "urls": [server.url + "/pose.pth"],
                    "sha256": sha256(pose),
                    "format": "mmpose",
                    "input_size": [32, 64],
                },
                {
                    "name": "yolox-m",
                    "urls": [server.url + "/yolox.zip"],
                    "sha256": sha256(bundle)[:8],
                    "format": "onnx-zip",
                    "color": "bgr",
                    "input_size": [416, 416],
                    "member": "end2end.onnx",
                },
            ],
        )
        yield rows, server
