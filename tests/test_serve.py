"""`simplepose serve` as a user runs it: the installed command in a subprocess on 127.0.0.1,
started once for the module (--port 0, its URL read from the startup line), with the shipped
synthetic model. Answers equal `simplepose predict`'s, alone or under concurrent clients;
every bad input is a 4xx JSON line and the service stays healthy; SIGTERM answers the request
in flight and exits 0.
"""

import io
import json
import os
import socket
import subprocess
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
from e2e_helpers import SIMPLEPOSE, assert_one_clear_error, simplepose

requests = pytest.importorskip("requests")
pytest.importorskip("starlette", reason="the serve extra is not installed: pip install 'simplepose[serve]'")

MODEL = Path(__file__).resolve().parents[1] / "src" / "simplepose" / "models" / "synthetic_res18_128x96.pth"
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: eager: the same runtime as the `predict` run compared with (auto may pick another here).
MODEL_ARGS = ("--checkpoint", MODEL, "--detector", "none", "--runtime", "eager")


class Server:
    """A running `simplepose serve`: its process, URL and startup line."""

    def __init__(self, proc: subprocess.Popen, url: str, line: str) -> None:
        self.proc, self.url, self.line = proc, url, line

    def post(self, files: dict[str, object], data: dict[str, str] = None, headers=AUTH, timeout: float = 60):
        return requests.post(f"{self.url}/v1/predict", files=files, data=data or {}, headers=headers, timeout=timeout)


def start_server(tmp: Path, *extra: object) -> Server:
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen(
        [str(SIMPLEPOSE), "serve", *map(str, MODEL_ARGS), "--port", "0", *map(str, extra)],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(tmp / "serve.err", "w"),  # noqa: SIM115 (the server's stderr file lives as long as the server)
        text=True,
    )
    line = proc.stdout.readline()  # blocks until the model is loaded and the socket listens
    if not line.startswith("serving http://"):
        proc.kill()
        pytest.fail(f"no startup line: {line!r} {(tmp / 'serve.err').read_text()[-2000:]}")
    return Server(proc, line.split()[1], line)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    s = start_server(
        tmp,
        "--token",
        TOKEN,
        "--max-upload-mb",
        1,
        "--max-pixels",
        1_000_000,
        "--max-queue",
        6,
        "--batch-wait-ms",
        20,
        "--max-batch",
        32,
        "--max-video-frames",
        6,
    )
    yield s
    if s.proc.poll() is None:
        s.proc.kill()
        s.proc.wait()


@pytest.fixture(scope="module")
def photos(synth_set) -> list[Path]:
    return sorted((synth_set.out / "images" / "train").glob("*.jpg"))[:4]


def jpeg(path: Path) -> bytes:
    return path.read_bytes()


def keypoints_close(a: list[dict], b: list[dict], tol: float = 1e-3) -> bool:
    """Same people in the same order, joints equal to `tol` px, scores to 1e-6."""
    return len(a) == len(b) and all(
        np.allclose(np.asarray(p["keypoints"]).reshape(-1, 3), np.asarray(q["keypoints"]).reshape(-1, 3), atol=tol)
        and abs(p["score"] - q["score"]) < 1e-6
        for p, q in zip(a, b)
    )


def test_startup_line_and_probes(server):
    assert "127.0.0.1" in server.url and "synthetic_res18_128x96.pth" in server.line
    assert "detector none" in server.line and "runtime eager" in server.line
    assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"status": "alive"}
    ready = requests.get(f"{server.url}/readyz", timeout=5).json()
    assert ready["ready"] is True and ready["runtime"] == "eager"
    spec = requests.get(f"{server.url}/openapi.json", headers=AUTH, timeout=5).json()
    assert "/v1/predict" in spec["paths"]


def test_answers_equal_predict_alone_and_concurrent(server, photos, tmp_path):
    result = simplepose("predict", *photos, *MODEL_ARGS, "--out", tmp_path / "p", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    expected: dict[str, list[dict]] = {p.name: [] for p in photos}
    for r in json.loads((tmp_path / "p" / "results.json").read_text()):
        expected[r["file_name"]].append(r)
    alone = {}
    for p in photos:
        answer = server.post({"image": (p.name, jpeg(p), "image/jpeg")})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        h, w = cv2.imread(str(p)).shape[:2]
        assert (body["width"], body["height"]) == (w, h) and body["runtime"] == "eager"
        assert len(body["people"]) >= 1 and keypoints_close(body["people"], expected[p.name]), p.name
        alone[p.name] = body["people"]

    def ask(p: Path):
        return p.name, server.post({"image": (p.name, jpeg(p), "image/jpeg")})

    with ThreadPoolExecutor(6) as pool:  # at most --max-queue waiting at once
        answers = list(pool.map(ask, photos * 3))
    for name, answer in answers:
        assert answer.status_code == 200, answer.text
        assert keypoints_close(answer.json()["people"], alone[name]), name


def test_boxes_and_flip(server, photos):
    image = {"image": ("a.jpg", jpeg(photos[0]), "image/jpeg")}
    two = server.post(image, {"boxes": json.dumps([[10, 10, 80, 110], [60, 5, 150, 100]]), "flip_test": "false"})
    assert two.status_code == 200, two.text
    people = two.json()["people"]
    assert 1 <= len(people) <= 2 and all(len(p["keypoints"]) == 17 for p in people)
    none = server.post(image, {"boxes": "[]"})
    assert none.status_code == 200 and none.json()["people"] == []


def test_a_sideways_phone_photo_is_answered_upright(server, photos):
    """A JPEG that stores its pixels turned and says so in EXIF (orientation 6) is answered in
    the frame the browser shows: its size and boxes upright, its people those of the upright picture."""
    from PIL import Image

    upright = cv2.imread(str(photos[0]))
    im = Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1))[..., ::-1])  # stored turned left
    exif = im.getexif()
    exif[0x0112] = 6  # "turn right to view"
    phone, plain = io.BytesIO(), io.BytesIO()
    im.save(phone, "PNG", exif=exif.tobytes())
    Image.fromarray(upright[..., ::-1]).save(plain, "PNG")
    h, w = upright.shape[:2]
    box = json.dumps([[2, 2, w - 3, h - 3]])  # in the upright frame: outside the stored one's width
    answers = [server.post({"image": ("a.png", b.getvalue(), "image/png")}, {"boxes": box}) for b in (phone, plain)]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    turned, straight = (a.json() for a in answers)
    assert (turned["width"], turned["height"]) == (w, h)
    assert turned["people"] and keypoints_close(turned["people"], straight["people"])


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header (CRC fixed) says width x height: a decompression bomb's header."""
    ok, data = cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))
    data = bytearray(data.tobytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[ihdr + 17 : ihdr + 21] = zlib.crc32(bytes(data[ihdr : ihdr + 17])).to_bytes(4, "big")
    return bytes(data)


def test_bad_input_is_one_json_line_and_service_stays_healthy(server, photos):
    photo = jpeg(photos[0])
    ok, one = cv2.imencode(".png", np.full((1, 1, 3), 128, np.uint8))
    cases = [  # (files, form, expected status, words in the error)
        ({"image": ("x.txt", b"hello, not a picture", "text/plain")}, {}, 415, "not an image"),
        ({"image": ("e.jpg", b"", "image/jpeg")}, {}, 415, "empty"),
        ({"image": ("t.jpg", photo[: len(photo) // 2], "image/jpeg")}, {}, 422, "truncated"),
        ({"image": ("bomb.png", png_claiming(50_000, 50_000), "image/png")}, {}, 413, "--max-pixels"),
        ({"image": ("a.jpg", photo, "image/jpeg")}, {"boxes": "[[1, 2"}, 422, "boxes"),
        ({"image": ("a.jpg", photo, "image/jpeg")}, {"boxes": "[[1, 2, 3]]"}, 422, "boxes"),
        ({"image": ("a.jpg", photo, "image/jpeg")}, {"boxes": "[[5000, 5000, 5100, 5100]]"}, 422, "boxes[0]"),
        ({"image": ("a.jpg", photo, "image/jpeg")}, {"flip_test": "perhaps"}, 422, "flip_test"),
        ({"picture": ("a.jpg", photo, "image/jpeg")}, {}, 422, "image"),
    ]
    for files, form, status, words in cases:
        answer = server.post(files, form)
        assert answer.status_code == status, (words, answer.text)
        error = answer.json()["error"]
        assert words in error and "\n" not in error, error
    assert server.post({"image": ("a.jpg", photo, "image/jpeg")}, headers={}).status_code == 401
    tiny = server.post({"image": ("one.png", one.tobytes(), "image/png")})
    assert tiny.status_code == 200 and len(tiny.json()["people"]) == 1, tiny.text
    # Over --max-upload-mb: refused from the Content-Length header, before the body is sent.
    host, port = server.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            f"POST /v1/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 50000000\r\n\r\n".encode()
        )
        head = ""
        while not head.endswith("}"):  # the JSON body may come in a packet of its own
            chunk = s.recv(4096).decode()
            if not chunk:
                break
            head += chunk
    assert head.startswith("HTTP/1.1 413") and "--max-upload-mb" in head, head
    # A client gone mid-upload: nothing to answer, and the next request is served.
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            f"POST /v1/predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n".encode()
        )
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert server.post({"image": ("a.jpg", photo, "image/jpeg")}).status_code == 200
    metrics = requests.get(f"{server.url}/metrics", headers=AUTH, timeout=5).text
    assert 'simplepose_requests_total{route="/v1/predict",status="415"} 2' in metrics
    assert "simplepose_batch_crops_count" in metrics and "simplepose_people_per_second" in metrics


def test_full_queue_is_503_with_retry_after(server, photos):
    """More requests at once than --max-queue (6): those over are 503 with Retry-After; the
    rest answered. 40 boxes each keep the model busy while 24 requests arrive."""
    boxes = json.dumps([[2 + i, 2, 100, 100] for i in range(40)])

    def ask(_):
        return server.post({"image": ("a.jpg", jpeg(photos[0]), "image/jpeg")}, {"boxes": boxes})

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(ask, range(24)))
    busy = [a for a in answers if a.status_code == 503]
    assert busy and all(a.headers.get("Retry-After") == "1" and "--max-queue" in a.json()["error"] for a in busy)
    assert all(a.status_code in (200, 503) for a in answers) and any(a.status_code == 200 for a in answers)


def test_bounded_load(server, photos):
    """A fixed number of requests from 4 clients: every one answered 200, then the server is idle."""

    def ask(i: int):
        p = photos[i % len(photos)]
        return server.post({"image": (p.name, jpeg(p), "image/jpeg")}).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(ask, range(24))) == {200}
    metrics = requests.get(f"{server.url}/metrics", headers=AUTH, timeout=5).text
    assert "simplepose_queue_depth 0" in metrics


def test_video_job_end_to_end_equals_track(server, synth_set, tmp_path):
    video = sorted((synth_set.out / "videos").glob("*.mp4"))[0]
    post = requests.post(
        f"{server.url}/v1/videos",
        files={"video": (video.name, video.read_bytes(), "video/mp4")},
        headers=AUTH,
        timeout=30,
    )
    assert post.status_code == 202, post.text
    job = post.json()["id"]
    deadline = time.monotonic() + 90
    while (status := requests.get(f"{server.url}/v1/videos/{job}", headers=AUTH, timeout=5).json())["state"] in (
        "queued",
        "running",
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status["state"] == "done" and status["frames_done"] == status["frames_total"] == 6, status
    result = requests.get(f"{server.url}/v1/videos/{job}/result", headers=AUTH, timeout=10).json()
    track = simplepose("track", video, *MODEL_ARGS, "--out", tmp_path / "t", "--no-video", cwd=tmp_path)
    assert track.returncode == 0, track.stderr[-2000:]
    assert result == json.loads((tmp_path / "t" / f"{video.stem}.json").read_text())
    mp4 = requests.get(f"{server.url}/v1/videos/{job}/video", headers=AUTH, timeout=10)
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"
    (tmp_path / "drawn.mp4").write_bytes(mp4.content)
    cap = cv2.VideoCapture(str(tmp_path / "drawn.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    frame = requests.get(f"{server.url}/v1/videos/{job}/frames/5", headers=AUTH, timeout=10)
    assert (
        frame.status_code == 200 and cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_COLOR) is not None
    )
    assert requests.delete(f"{server.url}/v1/videos/{job}", headers=AUTH, timeout=5).status_code == 200
    assert requests.get(f"{server.url}/v1/videos/{job}", headers=AUTH, timeout=5).status_code == 404
    # Longer than --max-video-frames 6: 413; not a video: 422; both one line.
    writer = cv2.VideoWriter(str(tmp_path / "long.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    for _ in range(7):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    for name, data, status in (("long.mp4", (tmp_path / "long.mp4").read_bytes(), 413), ("x.mp4", b"not a video", 422)):
        answer = requests.post(
            f"{server.url}/v1/videos", files={"video": (name, data, "video/mp4")}, headers=AUTH, timeout=30
        )
        assert answer.status_code == status and "video" in answer.json()["error"], answer.text


def test_sigterm_answers_the_request_in_flight_and_exits_0(server, photos):
    boxes = json.dumps([[2, 2, 100, 100]] * 60)
    answer = {}
    t = threading.Thread(
        target=lambda: answer.setdefault(
            "r", server.post({"image": ("a.jpg", jpeg(photos[0]), "image/jpeg")}, {"boxes": boxes})
        )
    )
    t.start()
    deadline = time.monotonic() + 20  # until the request waits for the model (or is answered)
    while (
        "r" not in answer
        and time.monotonic() < deadline
        and "simplepose_queue_depth 1" not in requests.get(f"{server.url}/metrics", headers=AUTH, timeout=5).text
    ):
        time.sleep(0.01)
    server.proc.terminate()
    t.join(30)
    assert answer["r"].status_code == 200 and len(answer["r"].json()["people"]) >= 1
    assert server.proc.wait(timeout=15) == 0
    assert "stopped" in server.proc.stdout.read()


def test_access_and_missing_extra_are_one_line(tmp_path):
    wide = simplepose("serve", *MODEL_ARGS, "--host", "0.0.0.0", "--port", 0, cwd=tmp_path)
    assert "--token" in assert_one_clear_error(wide, "serve")
    fake = tmp_path / "shadow" / "starlette"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('starlette is not installed')\n")
    path = os.pathsep.join(filter(None, [str(tmp_path / "shadow"), os.environ.get("PYTHONPATH", "")]))
    missing = simplepose("serve", *MODEL_ARGS, "--port", 0, cwd=tmp_path, env={"PYTHONPATH": path})
    assert "pip install 'simplepose[serve]'" in assert_one_clear_error(missing, "serve")


def test_a_fault_in_one_job_fails_that_job_alone():
    """The batcher (in process): a job whose crops make the model raise fails alone; the jobs
    that shared its batch are answered (each then runs in a pass of its own)."""
    from simplepose.core.poses import Poses
    from simplepose.serve.batcher import Batcher

    class Model:
        flip_test = True

        def predict_batch(self, images, boxes, scores):
            if any(im[0, 0, 0] == 255 for im in images):
                raise RuntimeError("the model failed on this image")
            return [
                Poses(np.zeros((len(b), 17, 3)), np.asarray(b, float), np.asarray(s, float))
                for b, s in zip(boxes, scores)
            ]

    batcher = Batcher(Model(), max_batch=64, wait_ms=200, max_queue=8)
    box = np.array([[0.0, 0.0, 1.0, 1.0]])
    good = [batcher.submit(np.zeros((2, 2, 3), np.uint8), box, np.ones(1), True) for _ in range(2)]
    bad = batcher.submit(np.full((2, 2, 3), 255, np.uint8), box, np.ones(1), True)
    assert all(len(f.result(timeout=10)) == 1 for f in good)
    with pytest.raises(RuntimeError, match="this image"):
        bad.result(timeout=10)
    assert batcher.pending == 0
    batcher.close()


def test_finished_video_jobs_go_after_keep_minutes(synth_set):
    """VideoJobs (in process): a job done is deleted with its folder once --keep-minutes pass
    (here 0.01 min), without any client asking."""
    from simplepose.serve.videos import VideoJobs

    def track(source, job):
        assert len(list(source.frames())) == 6
        (job.folder / f"{job.name}.json").write_text("{}")

    jobs = VideoJobs(track, workers=1, keep_minutes=0.01)
    video = sorted((synth_set.out / "videos").glob("*.mp4"))[0]
    job = jobs.add(video.name, video.read_bytes())
    deadline = time.monotonic() + 20
    while job.id in jobs.jobs and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.state == "done" and job.frames_done == 6
    assert job.id not in jobs.jobs and not job.folder.exists()
    jobs.close()
    assert not jobs.root.exists()
