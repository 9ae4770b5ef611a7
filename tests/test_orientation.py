"""A phone's portrait photo stores its pixels sideways with an EXIF orientation: a user's photos
are read upright (as a viewer shows them), a data set's images and a boxes file's frame stay in
the stored pixel order (as the paper's code reads them)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from e2e_helpers import decode_image, read_strict_json, simplepose
from PIL import Image, ImageOps

import simplepose as package
from simplepose.core.fileio import read_image
from simplepose.core.orientation import apply_orientation, exif_orientation

SHIPPED = Path(package.__file__).parent / "models" / "synthetic_res18_96x64.pth"

#: How each EXIF orientation stores an upright picture: the inverse of turning it upright.
_STORED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a[::-1], 1),
    8: lambda a: np.rot90(a, -1),
}


def _with_orientation(upright_bgr: np.ndarray, orientation: int, fmt: str = "PNG") -> bytes:
    """The bytes of a file that stores `upright_bgr` turned, and says so in its EXIF header."""
    stored = np.ascontiguousarray(_STORED[orientation](upright_bgr))
    im = Image.fromarray(stored[..., ::-1])
    exif = im.getexif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, fmt, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_orientation_is_turned_as_pillow_turns_it(orientation):
    upright = np.random.default_rng(orientation).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    data = _with_orientation(upright, orientation)
    assert exif_orientation(data) == orientation
    stored = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    ours = apply_orientation(stored, orientation)
    pillow = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))[..., ::-1]
    assert np.array_equal(ours, pillow) and np.array_equal(ours, upright)


def test_read_image_keeps_the_stored_order_unless_asked_upright(tmp_path):
    upright = np.zeros((40, 20, 3), np.uint8)
    upright[:10] = 255  # a white band at the top
    path = tmp_path / "portrait.jpg"
    path.write_bytes(_with_orientation(upright, 6, "JPEG"))
    assert read_image(path).shape == (20, 40, 3)  # as stored (COCO's frame)
    turned = read_image(path, upright=True)
    assert turned.shape == (40, 20, 3) and turned[:8].mean() > 200 and turned[12:].mean() < 50
    assert exif_orientation(tmp_path / "nothere.jpg") == 1 and exif_orientation(b"not an image") == 1


def test_predict_reads_a_sideways_photo_upright(synth_set, tmp_path):
    upright = cv2.imread(str(synth_set.out / "images" / "val" / "000000.jpg"))
    (tmp_path / "upright.png").write_bytes(cv2.imencode(".png", upright)[1].tobytes())
    (tmp_path / "phone.png").write_bytes(_with_orientation(upright, 6))
    args = ("--checkpoint", SHIPPED, "--detector", "none", "--runtime", "eager")
    r = simplepose("predict", tmp_path / "upright.png", tmp_path / "phone.png", *args, "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    results = read_strict_json(tmp_path / "out" / "results.json")
    by_name = {x["file_name"]: x["keypoints"] for x in results}
    assert by_name["phone.png"] == pytest.approx(by_name["upright.png"], abs=1e-3)
    assert decode_image(tmp_path / "out" / "phone.png").shape == upright.shape  # drawn upright
