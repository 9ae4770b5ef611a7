import json

import numpy as np
import pytest

from simplepose.core.fileio import FileFormatError
from simplepose.core.skeleton import COCO, CROWDPOSE
from simplepose.data.coco import load_coco_keypoints
from simplepose.formats.detections import load_detections


def test_real_coco_sample(real_data):
    f = load_coco_keypoints(real_data / "coco" / "test_coco.json", real_data / "coco")
    assert f.skeleton is COCO and len(f.images) == 4
    assert 0 < len(f.records) <= 14
    for r in f.records:
        assert r.keypoints.shape == (17, 2) and r.visible.max() > 0 and r.box[2] >= 0
        assert (real_data / "coco" / r.image_path.split("/")[-1]).exists()


def test_real_crowdpose_sample_has_14_joints(real_data):
    f = load_coco_keypoints(real_data / "crowdpose" / "test_crowdpose.json", real_data / "crowdpose")
    assert f.skeleton is CROWDPOSE and f.records[0].keypoints.shape == (14, 2)


def test_training_filter_skips_crowd_and_unlabelled(tmp_path, real_data):
    data = json.loads((real_data / "coco" / "test_coco.json").read_text())
    n_all = len(data["annotations"])
    data["annotations"][0]["iscrowd"] = 1
    data["annotations"][1]["keypoints"] = [0] * 51
    p = tmp_path / "a.json"
    p.write_text(json.dumps(data))
    kept = {r.ann_id for r in load_coco_keypoints(p).records}
    assert data["annotations"][0]["id"] not in kept and data["annotations"][1]["id"] not in kept
    assert len(load_coco_keypoints(p, for_training=False).records) == n_all - 1


def test_bad_field_names_file_record_and_field(tmp_path, real_data):
    data = json.loads((real_data / "coco" / "test_coco.json").read_text())
    data["annotations"][2]["keypoints"] = [1, 2, 3]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match=r"bad.json: annotations\[2\].*'keypoints'"):
        load_coco_keypoints(p)


def test_detections_threshold(real_data):
    dets = load_detections(real_data / "coco" / "test_coco_det_AP_H_56.json")
    hi = load_detections(real_data / "coco" / "test_coco_det_AP_H_56.json", score_thresh=0.5)
    assert sum(len(s) for _, s in dets.values()) == 118
    assert all((s >= 0.5).all() for _, s in hi.values())
    assert sum(len(s) for _, s in hi.values()) < 118
    b, _ = dets[785]
    assert b.shape[1] == 4


def test_training_filter_keeps_a_box_that_clips_to_a_point_as_the_paper_does(tmp_path, real_data):
    """The paper keeps x2 >= x1, y2 >= y1; a point box is cropped as the pixel there, magnified
    (`geometry.MIN_BOX_SIDE`), so it gives a finite crop rather than one of size 0."""
    from simplepose.core.geometry import box_to_center_scale

    data = json.loads((real_data / "coco" / "test_coco.json").read_text())
    data["annotations"][0]["bbox"] = [10.0, 10.0, 1.0, 1.0]  # clips to x2 = x1, y2 = y1
    data["annotations"][1]["bbox"] = [10.0, 10.0, 1.0, 30.0]  # zero width
    data["annotations"][2]["bbox"] = [1e5, 10.0, 5.0, 30.0]  # clips to x2 < x1 (beyond the image): still left out
    p = tmp_path / "a.json"
    p.write_text(json.dumps(data))
    records = {r.ann_id: r for r in load_coco_keypoints(p).records}
    ids = [a["id"] for a in data["annotations"][:3]]
    assert ids[0] in records and ids[1] in records and ids[2] not in records
    _, scale = box_to_center_scale(records[ids[0]].box, 0.75)
    assert (scale > 0).all() and np.isfinite(scale).all()
