"""From a picture to skeletons with nothing but the input: the default pose model and person
detector come from the zoo (here: a tiny mmpose-format model and a fake YOLOX bundle served from
127.0.0.1 under the default rows' names, through `$SIMPLEPOSE_MODELS`), for `predict`, `track`
and `PoseEstimator`."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from e2e_helpers import simplepose, simplepose_in_process
from yolox_fake import expected_boxes, paint_people
from zoo_helpers import default_rows

#: (slot, cells (i0, j0, i1, j1) in the 416 input, green = 255 * score): two people, one faint.
PEOPLE = [(0, (2, 0, 8, 2), 230), (1, (3, 4, 9, 6), 200), (2, (0, 5, 1, 6), 40)]
SIZE = (533, 977)  # (width, height): portrait, odd


@pytest.fixture(scope="module")
def defaults(tmp_path_factory):
    """Environment whose default rows (coco-res50-256x192, yolox-m) point at a local server."""
    root = tmp_path_factory.mktemp("defaults")
    with default_rows(root) as (rows, server):
        yield {"SIMPLEPOSE_HOME": str(root / "cache"), "SIMPLEPOSE_MODELS": str(rows)}, server


def photo(path=None) -> np.ndarray:
    image = paint_people(*SIZE, 416, PEOPLE)
    if path is not None:
        cv2.imwrite(str(path), image)
    return image


def test_predict_with_nothing_but_the_photo(defaults, tmp_path, capfd):
    """The installed command downloads the defaults; a second run, --offline, reads them from the
    cache (that one in the test's process)."""
    env, server = defaults
    photo(tmp_path / "photo.png")
    run = simplepose("predict", "photo.png", "--runtime", "eager", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "model coco-res50-256x192; detector yolox-m; runtime eager (fp32)" in run.stdout
    results = json.loads((tmp_path / "predictions" / "results.json").read_text())
    assert len(results) == 2 and {r["file_name"] for r in results} == {"photo.png"}  # the faint one dropped
    assert (tmp_path / "predictions" / "photo.png").is_file()
    again = simplepose_in_process(
        capfd, "predict", "photo.png", "--runtime", "eager", "--offline", "--out", "second", cwd=tmp_path, env=env
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert server.requests["/pose.pth"] == 1 and server.requests["/yolox.zip"] == 1  # downloaded once, then cached


def test_track_with_nothing_but_the_frames(defaults, tmp_path):
    env, _ = defaults
    frames = tmp_path / "clip"
    frames.mkdir()
    for t in range(4):  # lossless frames: the fake detector reads exact colours
        cv2.imwrite(str(frames / f"{t:06d}.png"), photo())
    # The tiny random model's joints are faint: let the tracker keep them (its defaults drop them).
    run = simplepose(
        "track",
        "clip",
        "--runtime",
        "eager",
        "--no-video",
        "--set",
        "track.keypoint_thresh=0.0",
        "--set",
        "track.min_pose_score=0.0",
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "detector yolox-m" in run.stdout and "4 frames, 2 tracks" in run.stdout
    pred = json.loads((tmp_path / "tracking" / "clip.json").read_text())
    assert sorted({a["track_id"] for a in pred["annotations"]}) == [0, 1]


def test_pose_estimator_api(defaults, monkeypatch, tmp_path):
    env, _ = defaults
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    import simplepose

    est = simplepose.PoseEstimator(runtime="eager")
    image = photo(tmp_path / "p.png")
    poses = est(str(tmp_path / "p.png"))
    want = expected_boxes(*SIZE, 416, PEOPLE[:2])
    np.testing.assert_allclose(np.sort(poses.boxes, axis=0), np.sort(want, axis=0), atol=1e-6)
    assert poses.keypoints.shape == (2, 17, 3)
    np.testing.assert_array_equal(est(image).keypoints, poses.keypoints)  # a path or an array
    drawn = est.draw(image, poses)
    assert drawn.shape == image.shape and (drawn != image).any()
    tracked = list(est.track(tmp_path))  # a folder of one frame
    assert len(tracked) == 1 and tracked[0][1].track_ids is not None
    with pytest.raises(ValueError, match="uint8"):
        est(image.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        est(image[:, :, 0])
