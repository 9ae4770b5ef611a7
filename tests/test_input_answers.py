"""The Python API's door (an image path or an array, clear ValueErrors) and `predict`'s word on
inputs that got no person box (issue 19)."""

import json
from pathlib import Path

import numpy as np
import pytest
from e2e_helpers import assert_one_clear_error, simplepose, simplepose_in_process

MODEL = Path(__file__).resolve().parents[1] / "src" / "simplepose" / "models" / "synthetic_res18_96x64.pth"


@pytest.fixture(scope="module")
def predictor():
    """Eager: the door is the same for every runtime, and `auto` would export and time the model
    first (~3 s)."""
    from simplepose.inference.predictor import TopDownPredictor

    return TopDownPredictor.from_checkpoint(MODEL, device="cpu", runtime="eager")


def test_the_predictor_takes_a_path_or_an_array(predictor, tmp_path):
    import cv2

    image = (np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    box = np.array([[10.0, 10.0, 80.0, 100.0]])
    from_path, from_array = predictor(tmp_path / "a.png", box), predictor(image, box)
    np.testing.assert_allclose(from_path.keypoints, from_array.keypoints)
    assert len(predictor.predict_batch([str(tmp_path / "a.png"), image], [box, box])) == 2


@pytest.mark.parametrize(
    "image,boxes,words",
    [
        (np.zeros((120, 160), np.uint8), [[0, 0, 10, 10]], "(H, W, 3)"),
        (np.zeros((120, 160, 3), np.float32), [[0, 0, 10, 10]], "uint8"),
        ([[1, 2, 3]], [[0, 0, 10, 10]], "got list"),
        (np.zeros((120, 160, 3), np.uint8), [[0, 0, 10]], "(N, 4)"),
        (np.zeros((120, 160, 3), np.uint8), [[0, 0, np.nan, 10]], "finite"),
    ],
)
def test_the_predictor_refuses_wrong_inputs_at_its_door(predictor, image, boxes, words):
    with pytest.raises(ValueError, match=None) as e:
        predictor(image, boxes)
    assert words in str(e.value)


def test_predict_names_the_inputs_that_got_no_box_and_strict_refuses_them(tmp_path, capfd):
    """The installed command names them; --strict refuses them (in the test's process)."""
    import cv2

    image = (np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8)
    for name in ("000001.jpg", "000002.jpg"):
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "dets.json").write_text(
        json.dumps([{"image_id": 1, "category_id": 1, "bbox": [10, 10, 60, 90], "score": 0.9}])
    )
    args = (
        "predict",
        "--checkpoint",
        MODEL,
        tmp_path / "000001.jpg",
        tmp_path / "000002.jpg",
        "--boxes",
        tmp_path / "dets.json",
        "--id-from",
        "stem",
        "--device",
        "cpu",
        "--runtime",
        "eager",
    )
    r = simplepose(*args, "--out", tmp_path / "p", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "no people: 1 input or frame had no person box" in r.stdout and "000002.jpg" in r.stdout, r.stdout
    assert "1 person in 2 frames of 2 inputs" in r.stdout, r.stdout  # counts in words, never "(s)"
    strict = simplepose_in_process(capfd, *args, "--out", tmp_path / "q", "--strict", cwd=tmp_path)
    assert "000002.jpg" in assert_one_clear_error(strict, "predict")
