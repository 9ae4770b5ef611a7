"""`simplepose serve [--model NAME | --checkpoint CKPT] [--detector D] [--host H] [--port P] ...`

The pose model behind HTTP: `POST /v1/predict` (an image in, people out, as `simplepose
predict` finds them), `/healthz`, `/readyz`, `/metrics`, `/openapi.json`, and a web page at `/`.
Requests arriving within --batch-wait-ms share forward passes (up to --max-batch crops).
Needs the `serve` extra: `pip install 'simplepose[serve]'` (Starlette, uvicorn, python-multipart).
Binding an address other than loopback needs --token (clients send `Authorization: Bearer
TOKEN`) or --no-auth. SIGTERM or Ctrl-C: no new connections, the requests in flight are
answered, exit 0.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket

from .common import (
    DEFAULT_MODEL,
    add_model_options,
    build_predictor,
    check_model_options,
    describe_runtime,
    model_label,
)
from .paths import DETECTOR

#: A generous guess of the crops a service will see: `auto` picks the fast runtime of a long job.
EXPECTED_CROPS = 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="an HTTP pose service with a web page (needs the serve extra)")
    add_model_options(p, default_model=DEFAULT_MODEL)
    p.add_argument(
        "--detector",
        metavar="NAME|FILE.onnx|none",
        type=DETECTOR,
        help="person detector for requests without boxes: a zoo name, an .onnx file, a torchvision .pth "
        "file, or none for one whole-image box (default: yolox-m)",
    )
    p.add_argument(
        "--det-thresh", type=float, default=0.3, metavar="SCORE", help="detector boxes scoring this or less are dropped"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (not loopback: needs --token or --no-auth)")
    p.add_argument(
        "--port", type=int, default=8000, help="port to bind; 0 picks a free one (the startup line says which)"
    )
    p.add_argument(
        "--token",
        default="",
        help="clients must send `Authorization: Bearer TOKEN` (also: SIMPLEPOSE_SERVE_TOKEN, which other users "
        "cannot read in the process list; default: none)",
    )
    p.add_argument("--no-auth", action="store_true", help="serve a non-loopback --host without a token")
    p.add_argument("--max-batch", type=int, default=64, metavar="CROPS", help="crops per forward pass across requests")
    p.add_argument(
        "--batch-wait-ms",
        type=float,
        default=5.0,
        metavar="MS",
        help="how long the first request waits for others to share its forward pass",
    )
    p.add_argument(
        "--max-queue", type=int, default=64, metavar="N", help="requests waiting for the model; more get 503"
    )
    p.add_argument(
        "--max-upload-mb", type=float, default=20.0, metavar="MB", help="largest request body; more gets 413"
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=40_000_000,
        metavar="N",
        help="largest image (width x height, read from its header); more gets 413 without decoding",
    )
    p.add_argument(
        "--video-workers", type=int, default=1, metavar="N", help="video jobs tracked at once (0: no video jobs)"
    )
    p.add_argument(
        "--keep-minutes",
        type=float,
        default=30.0,
        metavar="MIN",
        help="finished video jobs (their JSON and drawn MP4) are deleted this long after they end",
    )
    p.add_argument(
        "--max-video-frames", type=int, default=10_000, metavar="N", help="longest video a job takes; more gets 413"
    )
    p.add_argument(
        "--max-video-mb", type=float, default=200.0, metavar="MB", help="largest video upload; more gets 413"
    )
    p.set_defaults(run=run)


def require_serve_extra() -> None:
    """One line naming the extra when Starlette, uvicorn or python-multipart does not import."""
    from ..core.fileio import MissingPackageError

    try:
        import multipart  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise MissingPackageError(
            "simplepose serve", "starlette, uvicorn and python-multipart", "pip install 'simplepose[serve]'"
        ) from e


def check_access(host: str, token: str, no_auth: bool) -> None:
    """A non-loopback --host needs --token or --no-auth (one line otherwise)."""
    if token and no_auth:
        raise ValueError("give --token or --no-auth, not both")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not token and not no_auth:
        raise ValueError(
            f"--host {host} is reachable from other machines: give --token TOKEN (clients send "
            "`Authorization: Bearer TOKEN`) or --no-auth"
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), bound before the startup line names it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ValueError(f"--host {host} --port {port}: cannot bind ({e.strerror})") from None
    sock.listen(2048)
    return sock


def run(args: argparse.Namespace) -> int:
    from ..inference.detector import DEFAULT_DETECTOR
    from ..inference.person_boxes import open_detector
    from ..serve.app import Limits, Service, build_app
    from ..serve.batcher import Batcher
    from ..serve.metrics import Metrics

    require_serve_extra()
    args.token = args.token or os.environ.get("SIMPLEPOSE_SERVE_TOKEN", "")
    check_access(args.host, args.token, args.no_auth)
    for flag in ("max_batch", "max_queue", "max_pixels", "max_video_frames"):
        if getattr(args, flag) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be at least 1, not {getattr(args, flag)}")
    if min(args.max_upload_mb, args.max_video_mb) <= 0 or min(args.batch_wait_ms, args.keep_minutes) < 0:
        raise ValueError(
            "--max-upload-mb and --max-video-mb must be above 0, --batch-wait-ms and --keep-minutes at least 0"
        )
    args.detector = args.detector or DEFAULT_DETECTOR
    check_model_options(args, args.detector)
    sock = bind(args.host, args.port)
    detector = open_detector(
        args.detector, args.det_thresh, device=args.device or "cpu", offline=True if args.offline else None
    )
    predictor, cfg = build_predictor(args, EXPECTED_CROPS)
    metrics = Metrics()
    batcher = Batcher(predictor, args.max_batch, args.batch_wait_ms, args.max_queue, metrics.batch)
    metrics.queue_depth = lambda: batcher.pending
    labels = {"model": model_label(args), "detector": args.detector, "runtime": predictor.runtime.name}
    service = Service(
        predictor,
        cfg.test,
        detector,
        labels,
        batcher,
        Limits(int(args.max_upload_mb * 2**20), args.max_pixels, int(args.max_video_mb * 2**20)),
        args.token,
        metrics,
        video_jobs(args, predictor, cfg),
    )
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"serving http://{shown}:{port} ; model {labels['model']}; detector {args.detector}; "
        f"{describe_runtime(predictor)}",
        flush=True,
    )
    serve_until_stopped(build_app(service), sock)
    print("stopped: the requests in flight were answered", flush=True)
    return 0


def video_jobs(args: argparse.Namespace, predictor, cfg):
    """The service's VideoJobs (None with --video-workers 0): `simplepose track`'s pipeline
    with a predictor of their own (sharing the built runtime: the batcher's flip setting is
    its own) and the tracker's detector (all boxes; track.det_score_thresh filters them)."""
    from ..inference.person_boxes import open_detector
    from ..inference.predictor import TopDownPredictor
    from ..serve.videos import VideoJobs
    from ..tracking.pipeline import track_video

    if args.video_workers < 1:
        return None
    tracker_predictor = TopDownPredictor.from_config(
        predictor.model, cfg, device=str(predictor.device), precision=args.precision, runtime=predictor.runtime
    )
    detector = open_detector(args.detector, 0.0, device=args.device or "cpu", offline=True if args.offline else None)

    def track(source, job) -> None:
        track_video(source, tracker_predictor, cfg.track, detector, job.folder, job.name, progress=False)

    return VideoJobs(track, args.video_workers, args.keep_minutes, args.max_video_frames)


def serve_until_stopped(app, sock: socket.socket) -> None:
    """uvicorn on `sock` until SIGTERM / SIGINT; then it stops accepting and finishes the
    requests in flight. uvicorn re-raises the signal to the handler it found once done: a
    quiet one here, so a stop asked for is exit status 0 (not cli's 130 / 143)."""
    import uvicorn

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=10, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
