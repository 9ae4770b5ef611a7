"""MPII and PoseTrack 2018 readers on the real samples (COCO: test_readers_coco.py)."""

import json
import shutil

import numpy as np
import pytest
from conftest import REAL_DATA as REAL

from simplepose.core.fileio import FileFormatError
from simplepose.core.geometry import box_to_center_scale
from simplepose.core.skeleton import MPII, POSETRACK
from simplepose.data.mpii import load_mpii
from simplepose.data.posetrack import load_posetrack

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real data samples not found at {REAL}")


def test_mpii_reproduces_the_official_center_and_scale():
    path = REAL / "mpii" / "test_mpii.json"
    skeleton, records = load_mpii(path, REAL / "mpii")
    entries = json.loads(path.read_text())
    assert skeleton is MPII and len(records) == len(entries) == 5
    for r, a in zip(records, entries):
        # official: c[1] += 15 s; s *= 1.25; c -= 1; crop side = 200 s (s in units of 200 px)
        s = a["scale"] * 1.25
        c = np.array([a["center"][0] - 1, a["center"][1] + 15 * a["scale"] - 1])
        for aspect in (1.0, 0.75):
            center, scale = box_to_center_scale(r.box, aspect)
            np.testing.assert_allclose(center, c, atol=1e-9)
            assert scale[0] == pytest.approx(200 * s)
        np.testing.assert_allclose(r.keypoints, np.array(a["joints"]) - 1)
        assert r.visible.tolist() == [int(v > 0) for v in a["joints_vis"]]
        assert (REAL / "mpii" / a["image"]).exists() and r.image_path.endswith(a["image"])
        assert r.head_box is None


def test_mpii_bad_joint_count(tmp_path):
    entries = json.loads((REAL / "mpii" / "test_mpii.json").read_text())
    entries[3]["joints"] = entries[3]["joints"][:15]
    p = tmp_path / "m.json"
    p.write_text(json.dumps(entries))
    with pytest.raises(FileFormatError, match=r"m.json: entry \[3\].*'joints'"):
        load_mpii(p)


def test_posetrack_per_video_and_merged_agree():
    root = REAL / "posetrack18"
    per_video = load_posetrack(root / "annotations" / "val", root)
    merged = load_posetrack(root / "annotations" / "test_posetrack18_val.json", root)
    assert per_video.skeleton is POSETRACK and per_video.skeleton.joints[1] == "head_bottom"
    assert len(per_video.images) == len(merged.images) == 3
    assert {r.ann_id for r in per_video.records} == {r.ann_id for r in merged.records}
    data = json.loads((root / "annotations" / "test_posetrack18_val.json").read_text())
    labelled = [a for a in data["annotations"] if max(a["keypoints"][2::3]) > 0]
    assert len(merged.records) == len(labelled)
    by_id = {a["id"]: a for a in data["annotations"]}
    for r in merged.records:
        a = by_id[r.ann_id]
        assert r.track_id == a["track_id"] and r.head_box.tolist() == a["bbox_head"]
        assert r.visible.sum() == a["num_keypoints"] and (root / r.image_path.split("posetrack18/")[1]).exists()
    im = merged.images[10034180000]
    assert im.vid_id == "003418" and im.is_labeled and len(im.ignore_regions) == 9
    assert im.ignore_regions[0].shape == (66, 2) and im.ignore_regions[0][1].tolist() == [1.0, 647.0]


def test_posetrack_training_filter_and_errors(tmp_path):
    src = REAL / "posetrack18" / "annotations" / "val" / "003418_mpii_test.json"
    data = json.loads(src.read_text())
    data["annotations"][0]["keypoints"] = [0] * 51
    p = tmp_path / "v.json"
    p.write_text(json.dumps(data))
    n = len(data["annotations"])
    assert len(load_posetrack(p).records) == n - 1
    assert len(load_posetrack(p, for_training=False).records) == n
    data["images"][0]["ignore_regions_y"] = data["images"][0]["ignore_regions_y"][:-1]
    p.write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match=r"v.json: images\[0\].*ignore_regions"):
        load_posetrack(p)
    shutil.copy(src, tmp_path / "w.json")  # the same image ids twice in one folder
    data = json.loads(src.read_text())
    p.write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match="already read"):
        load_posetrack(tmp_path)
