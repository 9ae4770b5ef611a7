"""The routes of `simplepose serve` (Starlette): predict, health, metrics, OpenAPI, the page.

Every refusal is a 4xx with `{"error": "one line"}`; an exception inside one request is a 500
for it alone (its traceback logged). The service reads no path and fetches no URL a client
names: images arrive in the request body only.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .batcher import Batcher
from .metrics import Metrics
from .openapi import describe
from .uploads import RequestError, decode_image, image_size, parse_boxes, parse_flag, read_body
from .videos import VideoJobs

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("simplepose.serve")


@dataclass
class Limits:
    """What one client may send (the command's --max-* options)."""

    max_upload_bytes: int = 20 * 2**20
    max_pixels: int = 40_000_000
    max_video_bytes: int = 200 * 2**20


@dataclass
class Service:
    """Everything the routes share: the model behind its batcher, the detector, the labels
    the answers carry, the limits and the bearer token ("" = none needed)."""

    predictor: Any
    test: Any  # config.TestConfig: rescoring and OKS-NMS settings, flip default
    detector: Callable[[np.ndarray], Any]
    labels: dict[str, str]
    batcher: Batcher
    limits: Limits = field(default_factory=Limits)
    token: str = ""
    metrics: Metrics = field(default_factory=Metrics)
    videos: VideoJobs | None = None


#: Routes open without the token: the page (it asks for the token itself) and the probes.
OPEN_ROUTES = ("/", "/healthz", "/readyz")


def _authorized(service: Service, request) -> bool:
    if not service.token or request.url.path in OPEN_ROUTES or request.url.path.startswith("/static/"):
        return True
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {service.token}".encode())


def _handled(service: Service, route: str, fn: Callable[[Any], Awaitable[Any]]):
    """`fn` with the token check, errors as JSON and the request counted in the metrics."""
    from starlette.requests import ClientDisconnect
    from starlette.responses import JSONResponse

    async def endpoint(request):
        t0 = time.perf_counter()
        try:
            if not _authorized(service, request):
                raise RequestError(
                    401, "send the token as `Authorization: Bearer TOKEN` (--token)", {"WWW-Authenticate": "Bearer"}
                )
            response = await fn(request)
        except RequestError as e:
            response = JSONResponse({"error": str(e)}, e.status, headers=e.headers)
        except ClientDisconnect:  # gone mid-upload: nobody to answer
            response = JSONResponse({"error": "client disconnected"}, 400)
        except Exception as e:  # one request's fault stays its own: a 500, logged, and serving goes on
            log.exception("%s %s failed", request.method, request.url.path)
            response = JSONResponse({"error": f"internal error: {type(e).__name__}: {e}"}, 500)
        service.metrics.request(route, response.status_code, time.perf_counter() - t0)
        return response

    return endpoint


async def _form(request, limit: int, what: str = "image") -> dict[str, Any]:
    """The multipart form, read within `limit` bytes and held in memory (never spooled to disk)."""
    from starlette.formparsers import MultiPartException, MultiPartParser

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise RequestError(415, f"send the {what} as multipart/form-data with a field '{what}'")
    body = await read_body(
        request.stream(),
        request.headers.get("content-length"),
        limit,
        "--max-upload-mb" if what == "image" else "--max-video-mb",
    )

    async def once():
        yield body

    parser = MultiPartParser(request.headers, once(), max_files=1, max_fields=8, max_part_size=limit)
    parser.spool_max_size = limit + 1  # stays in memory: nothing written to disk
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise RequestError(422, f"multipart body: {e.message}") from None
    return dict(form.multi_items())


def people_json(poses, results: list[dict]) -> list[dict]:
    """The answer's people from rescored Poses and their `poses_to_results` entries (same
    rounding as `simplepose predict`'s results.json)."""
    return [
        {
            "box": [round(float(v), 3) for v in poses.boxes[i]],
            "score": r["score"],
            "keypoints": np.asarray(r["keypoints"]).reshape(-1, 3).tolist(),
        }
        for i, r in enumerate(results)
    ]


async def predict(service: Service, request) -> Any:
    """POST /v1/predict: multipart `image`, optional `boxes` (JSON) and `flip_test`."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    from ..inference.postprocess import poses_to_results, postprocess_image

    form = await _form(request, service.limits.max_upload_bytes)
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise RequestError(422, "image: missing (a multipart file field named 'image')")
    image = await run_in_threadpool(decode_image, await upload.read(), service.limits.max_pixels)
    width, height = image_size(image)
    flip = parse_flag(form.get("flip_test"), "flip_test")
    if form.get("boxes") not in (None, ""):
        boxes = parse_boxes(str(form["boxes"]), width, height)
        scores = np.ones(len(boxes))
    else:
        boxes, scores = await run_in_threadpool(service.detector, image)
    future = service.batcher.submit(image, boxes, scores, service.test.flip_test if flip is None else flip)
    poses = postprocess_image(service.predictor, await asyncio.wrap_future(future), service.test)
    service.metrics.answered(len(poses))
    return JSONResponse(
        {"width": width, "height": height, "people": people_json(poses, poses_to_results(0, poses)), **service.labels}
    )


def _videos(service: Service):
    if service.videos is None:
        raise RequestError(404, "video jobs are off (--video-workers 0)")
    return service.videos


async def add_video(service: Service, request) -> Any:
    """POST /v1/videos: multipart `video` -> 202 {"id": ...}; tracked in the background."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    videos = _videos(service)
    form = await _form(request, service.limits.max_video_bytes, "video")
    upload = form.get("video")
    if upload is None or isinstance(upload, str):
        raise RequestError(422, "video: missing (a multipart file field named 'video')")
    job = await run_in_threadpool(videos.add, upload.filename or "", await upload.read())
    return JSONResponse({"id": job.id, **job.status()}, 202)


def drawn_frame(path: Path, t: int) -> bytes:
    """Frame `t` of a drawn MP4 as JPEG bytes (for the page, which cannot play mp4v); 404 past its end."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, t)
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok:
        raise RequestError(404, f"frame {t}: past the video's end")
    return cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def build_app(service: Service, on_shutdown: Callable[[], None] | None = None):
    """The Starlette app of `service`."""
    import contextlib

    from starlette.applications import Starlette
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def page(request):
        return FileResponse(STATIC / "index.html")

    async def healthz(request):
        return JSONResponse({"status": "alive"})

    async def readyz(request):
        sk = service.predictor.skeleton  # the page draws with it: joint names say left and right
        return JSONResponse(
            {
                "ready": True,
                **service.labels,
                "skeleton": {"name": sk.name, "joints": list(sk.joints), "limbs": [list(limb) for limb in sk.limbs]},
            }
        )

    async def metrics(request):
        return PlainTextResponse(service.metrics.text(), media_type="text/plain; version=0.0.4")

    async def openapi(request):
        return JSONResponse(describe())

    async def docs(request):
        return HTMLResponse(describe_html())

    async def do_predict(request):
        return await predict(service, request)

    async def post_video(request):
        return await add_video(service, request)

    async def video_status(request):
        return JSONResponse(_videos(service).get(request.path_params["id"]).status())

    async def video_result(request):
        path = _videos(service).file(request.path_params["id"], ".json")
        return FileResponse(path, media_type="application/json", filename="posetrack.json")

    async def video_mp4(request):
        return FileResponse(
            _videos(service).file(request.path_params["id"], ".mp4"), media_type="video/mp4", filename="poses.mp4"
        )

    async def video_frame(request):
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response

        path = _videos(service).file(request.path_params["id"], ".mp4")
        return Response(await run_in_threadpool(drawn_frame, path, request.path_params["t"]), media_type="image/jpeg")

    async def video_delete(request):
        _videos(service).delete(request.path_params["id"])
        return JSONResponse({"deleted": request.path_params["id"]})

    def route(path: str, fn, name: str, methods=("GET",)) -> Route:
        return Route(path, _handled(service, name, fn), methods=list(methods))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        service.batcher.close()  # uvicorn has finished the requests in flight
        if service.videos is not None:
            service.videos.close()  # running jobs fail with "the service stopped"
        if on_shutdown:
            on_shutdown()

    return Starlette(
        routes=[
            route("/", page, "/"),
            route("/healthz", healthz, "/healthz"),
            route("/readyz", readyz, "/readyz"),
            route("/metrics", metrics, "/metrics"),
            route("/openapi.json", openapi, "/openapi.json"),
            route("/docs", docs, "/docs"),
            route("/v1/predict", do_predict, "/v1/predict", ("POST",)),
            route("/v1/videos", post_video, "/v1/videos", ("POST",)),
            route("/v1/videos/{id}", video_status, "/v1/videos/{id}"),
            route("/v1/videos/{id}", video_delete, "/v1/videos/{id}", ("DELETE",)),
            route("/v1/videos/{id}/result", video_result, "/v1/videos/{id}/result"),
            route("/v1/videos/{id}/video", video_mp4, "/v1/videos/{id}/video"),
            route("/v1/videos/{id}/frames/{t:int}", video_frame, "/v1/videos/{id}/frames/{t}"),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )


def describe_html() -> str:
    """The docs page: the OpenAPI description as an HTML list (offline: no CDN)."""
    import html

    spec = describe()
    rows = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            rows.append(
                f"<li><code>{method.upper()} {html.escape(path)}</code>: {html.escape(op.get('summary', ''))}"
                f"<br><small>{html.escape(op.get('description', ''))}</small></li>"
            )
    return (
        f"<!doctype html><meta charset=utf-8><title>{spec['info']['title']} API</title>"
        f"<h1>{spec['info']['title']} {spec['info']['version']}</h1><p><a href=/openapi.json>openapi.json</a></p>"
        f"<ul>{''.join(rows)}</ul>"
    )
