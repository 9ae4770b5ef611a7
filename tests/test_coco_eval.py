"""Our COCO keypoint AP/AR against pycocotools on the real sample and on generated cases."""

import contextlib
import copy
import io
import json

import numpy as np
import pytest

from simplepose.evaluation.cases import generated_case
from simplepose.evaluation.cocoeval import METRIC_KEYS, evaluate_coco_keypoints

pytest.importorskip("pycocotools")


def pycoco(gt_path, res_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dt = gt.loadRes(str(res_path))
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(zip(METRIC_KEYS, (float(v) for v in ev.stats)))


def both(tmp_path, gt, results):
    gp, rp = tmp_path / "gt.json", tmp_path / "res.json"
    gp.write_text(json.dumps(gt))
    rp.write_text(json.dumps(results))
    return evaluate_coco_keypoints(gp, rp), pycoco(gp, rp)


def perturbed(gt, seed, scale=0.06):
    """Predictions from ground truth: noisy joints, random scores, some people dropped."""
    rng = np.random.default_rng(seed)
    out = []
    for a in gt["annotations"]:
        if a.get("iscrowd") or rng.random() < 0.1:
            continue
        kp = np.asarray(a["keypoints"], dtype=float).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, scale * np.sqrt(a["area"]), (len(kp), 2))
        kp[:, 2] = rng.uniform(0, 1, len(kp))
        out.append(
            {
                "image_id": a["image_id"],
                "category_id": 1,
                "keypoints": kp.reshape(-1).tolist(),
                "score": float(rng.uniform(0.1, 1)),
            }
        )
    return out


def test_real_sample_perturbed_equals_pycocotools(real_data, tmp_path):
    gt = json.loads((real_data / "coco" / "test_coco.json").read_text())
    for seed in range(3):
        ours, theirs = both(tmp_path, gt, perturbed(gt, seed))
        assert ours == theirs, seed


def test_ground_truth_as_predictions_gives_ap_one(real_data, tmp_path):
    gt = json.loads((real_data / "coco" / "test_coco.json").read_text())
    res = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
        for a in gt["annotations"]
        if a["num_keypoints"] > 0 and not a.get("iscrowd")
    ]
    ours, theirs = both(tmp_path, gt, res)
    assert ours == theirs
    assert ours["AP"] == 1.0 and ours["AP50"] == 1.0 and ours["AR"] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_generated_cases_equal_pycocotools(tmp_path, seed):
    gt, res = generated_case(80, seed=seed)
    # The case really holds what it is meant to exercise.
    assert any(a["iscrowd"] for a in gt["annotations"])
    assert any(a["num_keypoints"] == 0 and not a["iscrowd"] for a in gt["annotations"])
    assert any(a["area"] < 32**2 for a in gt["annotations"]) and any(a["area"] > 96**2 for a in gt["annotations"])
    ours, theirs = both(tmp_path, gt, res)
    assert ours == theirs
    assert 0.0 < ours["AP"] < 1.0


def test_results_with_boxes_use_box_areas_like_pycocotools(tmp_path):
    gt, res = generated_case(40, seed=5)
    rng = np.random.default_rng(0)
    for r in res:
        r["bbox"] = [0, 0, float(rng.uniform(10, 200)), float(rng.uniform(10, 200))]
    ours, theirs = both(tmp_path, gt, res)
    assert ours == theirs


def test_no_gt_category_and_gt_id_zero_edge_cases(tmp_path):
    gt, res = generated_case(30, seed=9)
    gt = copy.deepcopy(gt)
    gt["annotations"][0]["id"] = 0  # pycocotools records matches by id: id 0 never counts
    gt["categories"].append({"id": 2, "name": "other"})
    ours, theirs = both(tmp_path, gt, res)
    assert ours == theirs


def test_bad_results_name_the_entry(tmp_path):
    gt, res = generated_case(3, seed=1)
    res[1].pop("score")
    with pytest.raises(ValueError, match=r"results: entry \[1\]: missing field 'score'"):
        evaluate_coco_keypoints(gt, res)
    res[1]["score"] = 0.5
    res[0]["image_id"] = 999
    with pytest.raises(ValueError, match="field .image_id. = 999"):
        evaluate_coco_keypoints(gt, res)
