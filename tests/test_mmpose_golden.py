"""An mmpose-format checkpoint gives the keypoints mmpose gives, on real photos.

The golden keypoints (`golden/mmpose_res50_coco_golden.json`) are mmpose 1.3.2's
`inference_topdown` on the real COCO samples with their GT boxes, for the seeded ResNet-50
SimpleBaseline that `golden/mmpose_weights.py` writes exactly as mmpose publishes checkpoints
(`golden/make_mmpose_golden.py` regenerates them in a side environment with mmpose). Here the
same file goes through the zoo (served from 127.0.0.1, verified, converted) and through
`--checkpoint FILE`, and must match mmpose; each wrong convention must not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from zoo_helpers import FileServer, sha256, write_rows

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from mmpose_weights import state_dict_digest, write_mmpose_checkpoint  # noqa: E402 (after the sys.path line above)

GOLDEN = json.loads((Path(__file__).parent / "golden" / "mmpose_res50_coco_golden.json").read_text())
FILE_NAME = "td-hm_res50_8xb64-210e_coco-256x192-{}_20220923.pth"


@pytest.fixture(scope="module")
def mmpose_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mmpose")
    tmp = folder / "written.pth"
    write_mmpose_checkpoint(str(tmp), seed=GOLDEN["seed"])
    path = folder / FILE_NAME.format(sha256(tmp.read_bytes())[:8])
    tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def photos(real_data):
    import cv2

    return [cv2.imread(str(real_data / "coco" / im["file_name"])) for im in GOLDEN["images"]]


def predict(checkpoint: Path, photos, images=None, **overrides):
    """Keypoints (people, 17, 3) on the golden boxes, eager fp32, with predictor overrides."""
    from simplepose.inference.predictor import TopDownPredictor

    predictor = TopDownPredictor.from_checkpoint(str(checkpoint), runtime="eager", **overrides)
    picked = range(len(photos)) if images is None else images
    out = [predictor(photos[i], np.array(GOLDEN["images"][i]["boxes_xyxy"])).keypoints for i in picked]
    return np.concatenate(out)


def golden(images=None) -> np.ndarray:
    picked = GOLDEN["images"] if images is None else [GOLDEN["images"][i] for i in images]
    return np.concatenate([np.array(im["keypoints"]) for im in picked])


def px(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a[..., :2] - b[..., :2], axis=-1)


def test_the_seeded_weights_are_the_golden_ones(mmpose_file):
    obj = torch.load(mmpose_file, weights_only=False)
    assert state_dict_digest(obj["state_dict"]) == GOLDEN["state_dict_sha256"]


def test_zoo_row_matches_mmpose_on_real_photos(mmpose_file, photos, tmp_path, monkeypatch):
    data = mmpose_file.read_bytes()
    with FileServer({f"/v1/{mmpose_file.name}": data}) as server:
        rows = write_rows(
            tmp_path / "rows.yaml",
            [
                {
                    "name": "golden-res50",
                    "urls": [f"{server.url}/v1/{mmpose_file.name}"],
                    "sha256": sha256(data)[:8],
                    "format": "mmpose",
                    "color": "rgb",
                    "input_size": [192, 256],
                    "skeleton": "coco",
                    "decoder": "mmpose",
                }
            ],
        )
        monkeypatch.setenv("SIMPLEPOSE_MODELS", str(rows))
        monkeypatch.setenv("SIMPLEPOSE_HOME", str(tmp_path / "cache"))
        from simplepose import zoo

        converted = zoo.model_file("golden-res50", progress=False)
    got = predict(converted, photos)
    d = px(got, golden())
    assert d.mean() <= 0.05 and d.max() <= 0.5, (d.mean(), d.max())
    scores = np.concatenate([np.array(im["keypoint_scores"]) for im in GOLDEN["images"]])
    np.testing.assert_allclose(got[..., 2], scores, atol=0.03)
    # A local file in mmpose's format (--checkpoint FILE) is read the same way.
    local = predict(mmpose_file, photos, images=[0, 1])
    np.testing.assert_array_equal(local, got[: len(local)])


@pytest.mark.parametrize(
    "wrong",
    [dict(normalize="bgr"), dict(shift_heatmap=False), dict(flip_test=False), dict(padding=1.2), dict(decoder="paper")],
)
def test_each_wrong_convention_is_caught(mmpose_file, photos, wrong):
    """BGR input, no flip shift, no flip test or padding 1.2 move joints by tens of pixels (the
    person of photo 0: by 49, 102, 107 and 25 px on average; photos 1 and 2 held 8 people for the
    same verdict, and photo 1 is grey, where BGR moves nothing); the paper's border rule moves the
    joints that peak next to the heatmap's border."""
    if wrong.get("normalize"):
        from simplepose.core.transforms import Normalize

        wrong = dict(normalize=Normalize("bgr"))
    images = [0] if "decoder" not in wrong else None  # the border peaks are spread over all four photos
    d = px(predict(mmpose_file, photos, images=images, **wrong), golden(images))
    if "decoder" in wrong:
        assert 0.2 < d.max() <= 0.5  # a quarter heatmap pixel on some border joints, exact elsewhere
    else:
        assert d.mean() > 5.0, d.mean()
