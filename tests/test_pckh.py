"""MPII PCKh on hand-made cases."""

import numpy as np
import pytest

import simplepose
from simplepose.core.skeleton import MPII
from simplepose.evaluation.pckh import pckh_table


def case():
    n, k = 4, 16
    gt = np.zeros((n, k, 2))
    head = np.tile([0.0, 0.0, 30.0, 40.0], (n, 1))  # diagonal 50 -> head size 30 pixels
    visible = np.ones((n, k), bool)
    return gt, visible, head


def test_thresholds_and_grouping():
    gt, visible, head = case()
    pred = gt.copy()
    i = {name: j for j, name in enumerate(MPII.joints)}
    pred[0, i["head_top"], 0] = 15.0  # 0.5 head sizes: correct at 0.5 (<=)
    pred[1, i["head_top"], 0] = 15.1  # just over
    pred[:, i["left_wrist"], 1] = 3.2  # 0.1067 head sizes: wrong at 0.1, right at 0.11
    pred[2, i["right_ankle"], 0] = 100.0
    visible[3, i["right_ankle"]] = False  # not counted
    t = pckh_table(pred, gt, visible, head)
    assert t["Head"] == pytest.approx(75.0)
    assert t["Wrist"] == pytest.approx(100.0)
    assert t["Ankle"] == pytest.approx(0.5 * (100.0 + 100.0 * 2 / 3))
    assert t["Shoulder"] == 100.0
    counts = np.array([4] * 16)
    counts[i["right_ankle"]] = 3
    counts[[i["pelvis"], i["thorax"]]] = 0  # left out of the mean
    correct = counts.astype(float).copy()
    correct[i["head_top"]] = 3
    correct[i["right_ankle"]] = 2
    assert t["Mean"] == pytest.approx(100 * correct.sum() / counts.sum())
    at01 = correct.copy()
    at01[i["left_wrist"]] = 0
    at01[i["head_top"]] = 4 - 2  # the two head errors (15, 15.1) exceed 3 pixels
    assert t["Mean@0.1"] == pytest.approx(100 * at01.sum() / counts.sum())
    at011 = at01.copy()
    at011[i["left_wrist"]] = 4
    assert t["Mean@0.11_compat"] == pytest.approx(100 * at011.sum() / counts.sum())


def test_perfect_predictions_score_100():
    gt, visible, head = case()
    t = pckh_table(gt, gt, visible, head)
    assert all(v == pytest.approx(100.0) for v in t.values())


def test_evaluate_model_on_mpii_sample_with_head_boxes(real_data, tmp_path):
    """The MPII path end to end on the real sample (head boxes added by hand: the JSON has none)."""
    import json

    import torch

    from simplepose.config import build_model_kwargs, config_from_dict
    from simplepose.evaluation.runner import evaluate_model
    from simplepose.nets.model import PoseResNet

    entries = json.loads((real_data / "mpii" / "test_mpii.json").read_text())
    for e in entries:
        j = np.asarray(e["joints"]) - 1
        top = j[9]  # head_top
        e["head_box"] = [top[0] - 20, top[1] - 10, top[0] + 20, top[1] + 30]
    ann = tmp_path / "valid.json"
    ann.write_text(json.dumps(entries))
    cfg = config_from_dict(
        {
            "model": {"depth": 18, "num_joints": 16, "deconv_filters": 32},
            "data": {
                "dataset": "mpii",
                "val_ann": str(ann),
                "val_images": str(real_data / "mpii"),
                "input_size": [64, 64],
                "heatmap_size": [16, 16],
            },
            "test": {"flip_test": True},
        }
    )
    torch.manual_seed(0)
    model = PoseResNet(**build_model_kwargs(cfg.model))
    table = evaluate_model(model, cfg, "cpu", out_dir=tmp_path)
    assert set(table) >= {"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1"}
    assert 0.0 <= table["Mean@0.1"] <= table["Mean@0.11_compat"] <= 100.0
    assert json.loads((tmp_path / "metrics.json").read_text()) == {
        **table,
        "simplepose_version": simplepose.__version__,
    }


def test_an_unknown_dataset_fails_before_any_predictor_is_built(monkeypatch):
    from simplepose.config import build_model_kwargs, config_from_dict
    from simplepose.evaluation import runner
    from simplepose.nets.model import PoseResNet

    cfg = config_from_dict(
        {
            "model": {"depth": 18, "num_joints": 16, "deconv_filters": 32},
            "data": {"dataset": "lsp", "input_size": [64, 64], "heatmap_size": [16, 16]},
        }
    )
    model = PoseResNet(**build_model_kwargs(cfg.model))

    def built(*args, **kwargs):
        raise AssertionError("a predictor was built (with auto: exported and timed) for a dataset no evaluator knows")

    monkeypatch.setattr(runner.TopDownPredictor, "from_config", built)
    with pytest.raises(
        ValueError, match=r"data.dataset = 'lsp' has no evaluator; known: \['coco', 'mpii', 'posetrack'\]"
    ):
        runner.evaluate_model(model, cfg, "cpu")
    with pytest.raises(ValueError, match="data.dataset = 'lsp' has no evaluator"):
        runner.evaluate_predictor(object(), cfg)
