"""People per second of `simplepose serve` under 1, 4 and 16 concurrent clients, against the
in-process predictor on the same images, in one run (loopback only, a fixed number of
requests: it stops by itself). Then a soak: the server's RSS before and after many requests.

    PYTHONPATH=src python benchmarks/serve_load.py [--requests 160] [--soak 2000] [--runtime auto]
        [--people 2] [--checkpoint src/simplepose/models/synthetic_res18_128x96.pth]

Each request sends one photo (the real COCO samples under ../shared/data/real/coco, else
random pictures) with `--people` fixed boxes, so every request holds the same crops. The
in-process figure runs `TopDownPredictor.predict_batch` on batches of 16 such images plus
the same rescoring, with the runtime the server reports it runs. Prints a table: clients,
people/s, ratio to in-process, latency p50 / p95 / p99 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("SIMPLEPOSE_REAL_DATA") or ROOT.parent / "shared" / "data" / "real") / "coco"


def photos() -> list[bytes]:
    """JPEG bytes of the real samples, else of four random 640x480 pictures."""
    found = sorted(REAL.glob("*.jpg"))
    if found:
        return [p.read_bytes() for p in found]
    rng = np.random.default_rng(0)
    return [cv2.imencode(".jpg", rng.integers(0, 255, (480, 640, 3), np.uint8))[1].tobytes() for _ in range(4)]


def boxes_for(image: np.ndarray, people: int) -> list[list[float]]:
    """`people` boxes side by side across the image."""
    h, w = image.shape[:2]
    step = (w - 1) / people
    return [[i * step, 0.0, (i + 1) * step, h - 1.0] for i in range(people)]


def start(args) -> tuple[subprocess.Popen, str, str]:
    cmd = [
        sys.executable,
        "-m",
        "simplepose",
        "serve",
        "--checkpoint",
        args.checkpoint,
        "--detector",
        "none",
        "--port",
        "0",
        "--runtime",
        args.runtime,
        "--max-queue",
        "256",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("serving "):
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, line.split()[1], line.strip()


def load(url: str, bodies, clients: int, n: int) -> tuple[float, int, np.ndarray]:
    """(seconds, people answered, latencies) of `n` requests from `clients` threads."""

    def client(k: int):
        s = requests.Session()
        out = []
        for i in range(k, n, clients):
            data, boxes = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            r = s.post(
                f"{url}/v1/predict", files={"image": ("p.jpg", data, "image/jpeg")}, data={"boxes": boxes}, timeout=120
            )
            r.raise_for_status()
            out.append((time.perf_counter() - t0, len(r.json()["people"])))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [x for part in pool.map(client, range(clients)) for x in part]
    return time.perf_counter() - t0, sum(p for _, p in results), np.array([s for s, _ in results])


def in_process(args, runtime: str, images: list[np.ndarray], people: int, n: int) -> float:
    """People per second of the predictor itself (batches of 16 images) with the same rescoring."""
    from simplepose.inference.postprocess import postprocess_image
    from simplepose.inference.predictor import TopDownPredictor
    from simplepose.nets.weights import load_checkpoint

    loaded = load_checkpoint(args.checkpoint)
    predictor = TopDownPredictor.from_config(loaded.model, loaded.config, runtime=runtime)
    boxes = [np.array(boxes_for(im, people)) for im in images]
    predictor.predict_batch(images[:2], boxes[:2])  # warm
    done, t0 = 0, time.perf_counter()
    while done < n:
        idx = [(done + j) % len(images) for j in range(min(16, n - done))]
        for p in predictor.predict_batch([images[i] for i in idx], [boxes[i] for i in idx]):
            postprocess_image(predictor, p, loaded.config.test)
        done += len(idx)
    return done * people / (time.perf_counter() - t0)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "src/simplepose/models/synthetic_res18_128x96.pth"))
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--requests", type=int, default=160, help="requests per concurrency level")
    parser.add_argument("--people", type=int, default=2, help="boxes per request")
    parser.add_argument("--soak", type=int, default=2000, help="requests of the soak (0: none)")
    args = parser.parse_args()
    data = photos()
    images = [cv2.imdecode(np.frombuffer(d, np.uint8), cv2.IMREAD_COLOR) for d in data]
    bodies = [(d, json.dumps(boxes_for(im, args.people))) for d, im in zip(data, images)]
    proc, url, line = start(args)
    try:
        print(line)
        runtime = line.split("runtime ")[1].split()[0]
        load(url, bodies, 4, 16)  # warm
        rows = [(c, *load(url, bodies, c, args.requests)) for c in (1, 4, 16)]
        base = in_process(args, runtime, images, args.people, args.requests)
        print(
            f"{args.requests} requests per level, {args.people} people each, runtime {runtime}, "
            f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}"
        )
        print(f"{'clients':>16} {'people/s':>9} {'x in-proc':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        print(f"{'in-process':>16} {base:9.1f} {1.0:9.2f}")
        for clients, seconds, people, lat in rows:
            label = "1 (sequential)" if clients == 1 else str(clients)
            p50, p95, p99 = (np.percentile(lat, q) * 1000 for q in (50, 95, 99))
            print(
                f"{label:>16} {people / seconds:9.1f} {people / seconds / base:9.2f} {p50:8.1f} {p95:8.1f} {p99:8.1f}"
            )
        if args.soak:
            before = rss_mb(proc.pid)
            seconds, people, _ = load(url, bodies, 8, args.soak)
            after = rss_mb(proc.pid)
            print(
                f"soak: {args.soak} requests in {seconds:.1f} s; server RSS {before:.0f} MB before, "
                f"{after:.0f} MB after ({after - before:+.0f} MB)"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
