"""One rule for `--detector none` in `simplepose track` and `PoseEstimator(detector="none").track`:
a whole-frame box in every frame (a video of one person), the flow-propagated boxes joining it."""

import re

import numpy as np
from e2e_helpers import read_strict_json, simplepose

VIDEO = "000001_synth"
#: The tiny random model's joints are faint: keep every pose so that tracks exist.
KEEP_ALL = ("track.min_pose_score=0", "track.keypoint_thresh=0")


def test_track_command_with_whole_frame_boxes(tiny_model, synth_set, tmp_path):
    video = synth_set.out / "videos" / f"{VIDEO}.mp4"
    r = simplepose(
        "track",
        video,
        "--checkpoint",
        tiny_model.out / "last.pth",
        "--detector",
        "none",
        "--runtime",
        "eager",
        *[a for k in KEEP_ALL for a in ("--set", k)],
        "--out",
        tmp_path / "t",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "detector none" in r.stdout
    assert re.search(r"^6 frames, \d+ tracks?, ", r.stdout, re.M), r.stdout
    out = read_strict_json(tmp_path / "t" / f"{VIDEO}.json")
    per_frame = {im["id"]: 0 for im in out["images"]}
    for a in out["annotations"]:
        per_frame[a["image_id"]] += 1
    assert len(per_frame) == 6 and all(n >= 1 for n in per_frame.values()), per_frame  # the box in every frame
    assert (tmp_path / "t" / f"{VIDEO}.mp4").is_file()


def test_pose_estimator_tracks_with_whole_frame_boxes(tiny_model, synth_set):
    import simplepose as sp

    est = sp.PoseEstimator(
        checkpoint=str(tiny_model.out / "last.pth"), detector="none", device="cpu", runtime="eager", overrides=KEEP_ALL
    )
    tracked = list(est.track(synth_set.out / "videos" / f"{VIDEO}.mp4"))
    assert len(tracked) == 6
    for frame, poses in tracked:
        assert len(poses) >= 1 and poses.track_ids is not None
        h, w = frame.shape[:2]
        # the whole-frame box is among the boxes the poses came from
        assert any(np.allclose(b, [0, 0, w - 1, h - 1]) for b in poses.boxes), poses.boxes
