"""EXIF orientation: a phone stores a portrait photo's pixels sideways and says in the file's
EXIF header (tag 0x0112, values 1-8) how to turn them upright, as a photo viewer does.

`fileio.read_image(path, upright=True)` and the service's uploads turn a user's photos with
these; data sets and their annotations stay in the stored pixel order (the paper's code reads
with OpenCV's IMREAD_IGNORE_ORIENTATION).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np

#: EXIF orientation (tag 0x0112, 1-8) -> what turns the stored pixels upright (Pillow's
#: `ImageOps.exif_transpose`, on an (H, W, C) array; tests/test_orientation.py checks each).
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, -1)[::-1],
    8: lambda a: np.rot90(a, 1),
}


def exif_orientation(source: str | Path | bytes) -> int:
    """The EXIF orientation (1-8) of an image file or its bytes; 1 when there is none.

    Read from the header by Pillow for every format the same way (OpenCV applies it to JPEG
    only), so a picture is turned the same whatever its format."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            value = im.getexif().get(0x0112, 1)
    except Exception:  # no header Pillow reads: nothing to turn (decoding errors are OpenCV's to say)
        return 1
    return value if isinstance(value, int) and value in _UPRIGHT else 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """`image` (H, W, C) turned upright for EXIF `orientation`; a contiguous copy when turned."""
    turn = _UPRIGHT.get(orientation)
    return image if turn is None else np.ascontiguousarray(turn(image))
