"""PoseTrack 2018 files: the real sample reads, writes back and reads again identically."""

import json
from pathlib import Path

import numpy as np
import pytest

from simplepose.core.fileio import FileFormatError
from simplepose.core.poses import Poses
from simplepose.core.skeleton import COCO, POSETRACK
from simplepose.formats.posetrack import read_posetrack, write_posetrack
from simplepose.tracking.predictions import poses_to_people, prediction_video


def _sample_dir() -> Path:
    """../shared/data/real/posetrack18 beside the checkout (or beside a folder of worktrees)."""
    for parent in Path(__file__).resolve().parents[1:4]:
        d = parent / "shared" / "data" / "real" / "posetrack18" / "annotations" / "val"
        if d.is_dir():
            return d
    return Path("missing")


FILES = sorted(_sample_dir().glob("*.json"))


@pytest.mark.skipif(not FILES, reason="real PoseTrack sample not available")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_real_sample_round_trip(path, tmp_path):
    video = read_posetrack(path)
    raw = json.loads(path.read_text())
    assert video.skeleton.joints == POSETRACK.joints
    assert len(video.frames) == len(raw["images"])
    assert sum(len(f.people) for f in video.frames) == len(raw["annotations"])
    first = video.frames[0]
    ann = raw["annotations"][0]
    p = first.people[0]
    assert p.track_id == ann["track_id"]
    np.testing.assert_array_equal(p.keypoints.reshape(-1), ann["keypoints"])
    x, y, w, h = ann["bbox_head"]
    np.testing.assert_array_equal(p.head_box, [x, y, x + w, y + h])
    assert len(first.ignore_regions) == len(raw["images"][0].get("ignore_regions_x", []))
    # Unlabelled joints (0, 0, 0) are not annotated; PoseTrack never labels the ears.
    assert not p.annotated[POSETRACK.index("left_ear")]

    write_posetrack(video, tmp_path / path.name)
    again = read_posetrack(tmp_path / path.name)
    assert json.loads((tmp_path / path.name).read_text()) == raw  # the same document
    assert len(again.frames) == len(video.frames)
    for a, b in zip(video.frames, again.frames):
        assert (a.image_id, a.file_name, a.is_labeled) == (b.image_id, b.file_name, b.is_labeled)
        assert len(a.ignore_regions) == len(b.ignore_regions)
        for ra, rb in zip(a.ignore_regions, b.ignore_regions):
            np.testing.assert_array_equal(ra, rb)
        for pa, pb in zip(a.people, b.people):
            assert pa.track_id == pb.track_id
            np.testing.assert_array_equal(pa.keypoints, pb.keypoints)
            np.testing.assert_array_equal(pa.head_box, pb.head_box)


@pytest.mark.skipif(not FILES, reason="real PoseTrack sample not available")
def test_write_predictions_in_posetrack_layout(tmp_path):
    gt = read_posetrack(FILES[0])
    kpts = np.zeros((2, COCO.num_joints, 3))
    kpts[:, :, :2] = 50.0
    kpts[:, :, 2] = 0.9
    kpts[0, COCO.index("left_wrist"), 2] = 0.3  # under the output threshold: not written
    poses = Poses(kpts, np.array([[0, 0, 10, 10], [5, 5, 20, 20.0]]), np.array([0.9, 0.8]), np.array([3, 7]))
    people = [poses_to_people(poses, COCO, POSETRACK, keypoint_thresh=0.4)] + [[] for _ in gt.frames[1:]]
    pred = prediction_video(gt.name, gt.frames, people, POSETRACK)
    write_posetrack(pred, tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    assert [im["file_name"] for im in doc["images"]] == [f.file_name for f in gt.frames]
    assert doc["categories"][0]["keypoints"] == list(POSETRACK.joints)
    a = doc["annotations"][0]
    assert a["track_id"] == 3 and len(a["scores"]) == POSETRACK.num_joints
    k = np.array(a["keypoints"]).reshape(-1, 3)
    assert k[POSETRACK.index("left_wrist")].tolist() == [0, 0, 0]
    assert k[POSETRACK.index("nose")].tolist() == [50, 50, 1]
    assert k[POSETRACK.index("head_top")].tolist() == [0, 0, 0]  # COCO has no head_top
    assert "ignore_regions_x" not in doc["images"][0]
    with pytest.raises(ValueError, match="repeated track ids"):
        prediction_video(gt.name, gt.frames, [people[0] * 2] + people[1:], POSETRACK)


def test_bad_files_name_the_record(tmp_path):
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg"}],
        "categories": [{"keypoints": list(POSETRACK.joints)}],
        "annotations": [{"image_id": 1, "id": 9, "keypoints": [0] * 51}],
    }
    (tmp_path / "v.json").write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match=r"v.json: annotation \[0\] \(id 9\): missing field 'track_id'"):
        read_posetrack(tmp_path / "v.json")
    doc["annotations"][0].update(track_id=0, keypoints=[0] * 50)
    (tmp_path / "v.json").write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match="'keypoints' has 50 numbers"):
        read_posetrack(tmp_path / "v.json")
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_posetrack(tmp_path / "nope.json")
