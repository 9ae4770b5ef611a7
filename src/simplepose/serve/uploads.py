"""Request bodies read within limits, and images checked before they are decoded.

Nothing here touches the disk: the body is held in memory (at most --max-upload-mb), the
image's size is read from its header (PIL opens lazily: no pixel is decoded) and refused over
--max-pixels before OpenCV decodes it, as `simplepose predict` does (cv2, EXIF ignored).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import numpy as np

from ..core.orientation import apply_orientation, exif_orientation

#: Formats the endpoint takes (PIL's names), as the issue lists them.
FORMATS = ("JPEG", "PNG", "BMP", "WEBP", "TIFF")


class RequestError(ValueError):
    """A request refused: its HTTP status and one line for `{"error": ...}`."""

    def __init__(self, status: int, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


async def read_body(
    stream: AsyncIterator[bytes], content_length: str | None, limit: int, flag: str = "--max-upload-mb"
) -> bytes:
    """The whole body, or a 413 as soon as it is known to exceed `limit` bytes: from the
    Content-Length header before reading anything, else while streaming (never past the limit
    by more than one chunk)."""
    mb = limit / 2**20
    if content_length and content_length.isdigit() and int(content_length) > limit:
        raise RequestError(413, f"upload of {int(content_length)} bytes is over {flag} {mb:g}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"upload is over {flag} {mb:g}")
        chunks.append(chunk)
    return b"".join(chunks)


def _looks_truncated(data: bytes, fmt: str) -> bool:
    """A JPEG without its end marker or a PNG without its IEND chunk: cut short in transit.
    (OpenCV decodes such files with grey where the data stops, without an error.)"""
    tail = data.rstrip(b"\0")[-16:]
    if fmt == "JPEG":
        return b"\xff\xd9" not in tail
    if fmt == "PNG":
        return b"IEND" not in tail
    return False


def decode_image(data: bytes, max_pixels: int, field: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 BGR from an uploaded file's bytes, upright (turned as its EXIF
    orientation says, as the browser shows it: the page's boxes and drawings are in that frame).

    415: empty, or not one of FORMATS; 413: the header says more than `max_pixels` (not
    decoded); 422: truncated or undecodable. A 1x1 image is fine (as everywhere in simplepose).
    """
    import cv2
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise RequestError(415, f"{field}: the file is empty (0 bytes)")
    Image.MAX_IMAGE_PIXELS = None  # our own limit below, as a 413, not PIL's warning
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, (w, h) = im.format or "", im.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise RequestError(415, f"{field}: not an image of a known format ({', '.join(FORMATS)})") from None
    if fmt not in FORMATS:
        raise RequestError(415, f"{field}: {fmt} images are not taken ({', '.join(FORMATS)})")
    if w * h > max_pixels:
        raise RequestError(413, f"{field}: {w}x{h} = {w * h} pixels is over --max-pixels {max_pixels} (not decoded)")
    if _looks_truncated(data, fmt):
        raise RequestError(422, f"{field}: the {fmt} file is truncated")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None or image.shape[:2] != (h, w):
        raise RequestError(422, f"{field}: the {fmt} file does not decode")
    return apply_orientation(image, exif_orientation(data))


def parse_boxes(text: str, width: int, height: int) -> np.ndarray:
    """(N, 4) xyxy boxes from the `boxes` form field: a JSON list of [x1, y1, x2, y2] with
    x2 >= x1, y2 >= y1, each touching the image (a box partly outside is kept, as a
    detector's may be; one wholly outside has no person in it). 422 otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:  # `text` is already a str: no decoding error can come from here
        raise RequestError(422, f"boxes: not valid JSON ({e.msg})") from None
    if not isinstance(value, list) or not all(
        isinstance(b, list) and len(b) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in b)
        for b in value
    ):
        raise RequestError(422, "boxes: expected a JSON list of [x1, y1, x2, y2] numbers")
    boxes = np.asarray(value, dtype=np.float64).reshape(-1, 4)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        if not np.isfinite([x1, y1, x2, y2]).all() or x2 < x1 or y2 < y1:
            raise RequestError(422, f"boxes[{i}]: needs finite x1 <= x2 and y1 <= y2")
        if x2 < 0 or y2 < 0 or x1 > width - 1 or y1 > height - 1:
            raise RequestError(
                422,
                f"boxes[{i}]: [{x1:g}, {y1:g}, {x2:g}, {y2:g}] is outside the "
                f"{width}x{height} image (pixels 0..{width - 1}, 0..{height - 1})",
            )
    return boxes


def parse_flag(text: str | None, field: str) -> bool | None:
    """true/false (also 1/0, yes/no) from a form field; None when absent; 422 otherwise."""
    if text is None or text == "":
        return None
    t = text.strip().lower()
    if t in ("true", "1", "yes"):
        return True
    if t in ("false", "0", "no"):
        return False
    raise RequestError(422, f"{field}: expected true or false, got {text[:40]!r}")


def image_size(image: np.ndarray) -> tuple[int, int]:
    """(width, height) of an (H, W, 3) image."""
    return int(image.shape[1]), int(image.shape[0])
