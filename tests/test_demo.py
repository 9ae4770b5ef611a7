"""The demo end to end on a tiny synthetic set: every step runs and the report is complete."""
import json

from simplepose.cli import main
from simplepose.evaluation.cocoeval import METRIC_KEYS


def test_tiny_demo_writes_the_whole_report(tmp_path, capsys):
    out, data = tmp_path / "demo", tmp_path / "data"
    args = ["demo", "--out", str(out), "--data", str(data), "--images", "30", "--videos", "1", "--frames", "6",
            "--set", "train.epochs=1", "--set", "train.val_every=1"]
    assert main(args) == 0
    m = json.loads((out / "metrics.json").read_text())
    for key in ("coco_gt_boxes", "coco_detections"):
        assert set(m[key]) == set(METRIC_KEYS) and all(0.0 <= v <= 1.0 or v == -1.0 for v in m[key].values())
    assert {"mAP", "MOTA", "MOTP", "precision", "recall"} <= set(m["posetrack"])
    assert (out / "tracking").is_dir() and len(list((out / "tracking").glob("*.json"))) == 1
    assert len(list((out / "tracking").glob("*.mp4"))) == 1
    assert (out / "loss.png").stat().st_size > 0 and (out / "ap.png").stat().st_size > 0
    assert m["pictures"] and all((out / "pictures").glob("*.jpg"))
    assert "COCO AP, synthetic val, GT boxes" in capsys.readouterr().out
    # a second run reuses the generated data instead of making it again
    assert main(args) == 0
    assert "reusing" in capsys.readouterr().out
