"""Person box sources behind the Detector protocol."""

import json

import numpy as np
import pytest

from simplepose.data.coco import load_coco_keypoints
from simplepose.inference.detector import DetectionsFile, GTBoxes, TorchvisionDetector, WholeImage


def test_detections_file_boxes_are_xyxy_and_found_by_id_or_name(tmp_path):
    path = tmp_path / "dets.json"
    path.write_text(
        json.dumps(
            [
                {"image_id": 7, "category_id": 1, "bbox": [10, 20, 30, 40], "score": 0.9},
                {"image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.1},
                {"image_id": 7, "category_id": 2, "bbox": [0, 0, 5, 5], "score": 0.9},  # not a person
            ]
        )
    )
    det = DetectionsFile(path, score_thresh=0.5, names={7: "000000000007.jpg"})
    boxes, scores = det(None, 7)
    np.testing.assert_array_equal(boxes, [[10, 20, 40, 60]])
    np.testing.assert_array_equal(scores, [0.9])
    assert det(None, "000000000007.jpg")[0].shape == (1, 4)
    assert det(None, 8)[0].shape == (0, 4)


def test_gt_boxes_of_the_real_sample(real_data):
    coco = load_coco_keypoints(real_data / "coco" / "test_coco.json", for_training=False)
    det = GTBoxes(coco)
    total = sum(len(det(None, i)[0]) for i in coco.images)
    assert total == sum(1 for r in coco.records if r.box[2] >= 0 and r.box[3] >= 0)  # the paper's x2 >= x1
    boxes, scores = det(None, coco.records[0].image_id)
    assert np.all(boxes[:, 2] >= boxes[:, 0]) and np.all(scores == 1.0)


def test_whole_image_box():
    boxes, scores = WholeImage()(np.zeros((48, 64, 3), np.uint8))
    np.testing.assert_array_equal(boxes, [[0, 0, 63, 47]])


def test_torchvision_detector_explains_what_is_missing(tmp_path):
    try:
        import torchvision  # noqa: F401 (whether it imports decides the test)
    except ImportError:
        from simplepose.core.fileio import MissingPackageError

        with pytest.raises(MissingPackageError, match="pip install torchvision"):
            TorchvisionDetector(tmp_path / "nope.pth")
    else:
        with pytest.raises(FileNotFoundError, match="detector weights not found"):
            TorchvisionDetector(tmp_path / "nope.pth")
