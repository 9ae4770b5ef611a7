"""Pictures at the extremes: line widths follow the person and the image, boxes show on any
background, labels never cover each other, training curves of a 1-epoch run have whole-epoch
ticks, and printed counts say "1 person" / "2 people", never "frame(s)"."""

import ast
import re
from pathlib import Path

import numpy as np

from simplepose.core.poses import Poses
from simplepose.core.skeleton import COCO
from simplepose.core.visualize import draw_poses, image_diagonal, place_labels
from simplepose.core.words import count
from simplepose.demo import curve_figure, plot_curves
from simplepose.formats.check import Skips
from simplepose.training.train_log import read_metrics

SRC = Path(__file__).resolve().parents[1] / "src" / "simplepose"


def standing(x: float, y: float, height: float) -> Poses:
    """One confident person of `height` px whose hips are a horizontal limb at y + height / 2."""
    kp = np.zeros((1, 17, 3))
    kp[0, :, 0], kp[0, :, 1], kp[0, :, 2] = x, y + height / 2, 1.0
    lh, rh = COCO.index("left_hip"), COCO.index("right_hip")
    kp[0, lh, 0], kp[0, rh, 0] = x - height / 4, x + height / 4
    kp[0, :, 2] = 0.0
    kp[0, [lh, rh], 2] = 1.0  # only the hip limb is drawn
    box = np.array([[x - height / 3, y, x + height / 3, y + height]])
    return Poses(kp, box, np.ones(1))


def limb_width(image: np.ndarray, poses: Poses) -> int:
    """Pixels the hip limb covers in the column through its middle (its anti-aliased fringe aside)."""
    out = draw_poses(image, poses, COCO, show_boxes=False)
    x = int(round(poses.keypoints[0, :, 0].mean()))  # between the hips, far from both joint dots
    return int((np.abs(out[:, x].astype(int) - image[:, x]).max(axis=1) > 100).sum())


def test_limbs_scale_with_the_person_and_the_image():
    small, big = np.zeros((300, 400, 3), np.uint8), np.zeros((3000, 4000, 3), np.uint8)
    w_small = limb_width(small, standing(200, 20, 250))
    w_big = limb_width(big, standing(2000, 200, 2500))  # the same picture, 10x the pixels
    assert 2 <= w_small <= 6, w_small
    assert w_big >= 4 * w_small, (w_small, w_big)
    # A small person far away in a big photo still gets lines seen at screen size (the image bounds them).
    w_far = limb_width(big, standing(2000, 200, 100))
    assert w_far >= image_diagonal(4000, 3000) / 1000, w_far


def test_a_box_stays_visible_on_white_and_on_black():
    poses = standing(200, 40, 200)
    x1 = int(poses.boxes[0, 0])
    for background in (255, 0):
        image = np.full((300, 400, 3), background, np.uint8)
        out = draw_poses(image, poses, COCO)
        edge = out[60:220, x1 - 3 : x1 + 4].astype(int).sum(axis=2)  # across the box's left edge
        if background == 255:
            assert (edge < 100).any(), "no dark outline on a white image"
        else:
            assert (edge > 450).any(), "no light line on a black image"


def test_labels_of_a_crowd_never_overlap_and_stay_inside():
    rng = np.random.default_rng(0)
    n, w, h = 40, 640, 480
    x = rng.uniform(0, 600, n)
    y = rng.uniform(-20, 400, n)  # some boxes start above the image
    boxes = np.stack([x, y, x + rng.uniform(30, 80, n), y + rng.uniform(60, 160, n)], 1)
    sizes = [(int(s), 18) for s in rng.integers(40, 90, n)]
    rects = place_labels(boxes, sizes, w, h, order=np.argsort(-rng.random(n)))
    placed = [r for r in rects if r is not None]
    assert len(placed) >= n // 2  # most find a spot
    for i, a in enumerate(placed):
        assert 0 <= a[0] <= a[2] < w and 0 <= a[1] <= a[3] < h, a
        for b in placed[i + 1 :]:
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1], (a, b)
    for r, (sw, sh) in zip(rects, sizes):
        assert r is None or (r[2] - r[0] + 1, r[3] - r[1] + 1) == (sw, sh)
    # Two people side by side: the second label goes elsewhere, not on top of the first.
    two = place_labels(np.array([[100, 100, 200, 300], [105, 100, 205, 300.0]]), [(60, 20)] * 2, w, h)
    assert two[0] == (100, 80, 159, 99) and two[1] is not None and two[1] != two[0]


def test_a_crowd_is_drawn_with_one_label_per_free_spot():
    kp = np.zeros((12, 17, 3))
    boxes = np.array([[50 + 3 * i, 60, 150 + 3 * i, 260] for i in range(12)], float)
    poses = Poses(kp, boxes, np.linspace(0.9, 0.5, 12)).with_track_ids(list(range(12)))
    out = draw_poses(np.full((300, 400, 3), 255, np.uint8), poses, COCO)
    assert out.shape == (300, 400, 3) and (out < 100).any()


def test_curves_of_a_one_epoch_run_have_whole_epoch_ticks(tiny_model, tmp_path):
    rows = read_metrics(tiny_model.out / "metrics.jsonl")
    pts = [(r["step"], r["loss"]) for r in rows if r.get("tag") == "epoch"]
    assert len(pts) == 1  # the session's tiny model trains one epoch
    ax = curve_figure(pts, "training loss").axes[0]
    lo, hi = ax.get_xlim()
    shown = [t for t in ax.xaxis.get_major_locator()() if lo <= t <= hi]
    assert shown == [float(pts[0][0])], shown
    many = curve_figure([(e, 1.0 / e) for e in range(1, 8)], "loss").axes[0]
    lo, hi = many.get_xlim()
    assert all(float(t).is_integer() for t in many.xaxis.get_major_locator()() if lo <= t <= hi)
    written = plot_curves(tiny_model.out, tmp_path)
    assert sorted(Path(p).name for p in written) == ["ap.png", "loss.png"]
    assert all(Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)


def test_counts_in_words():
    assert [count(n, "person") for n in (0, 1, 2)] == ["0 people", "1 person", "2 people"]
    assert [count(n, "frame") for n in (0, 1, 6)] == ["0 frames", "1 frame", "6 frames"]
    assert [count(2, w) for w in ("epoch", "batch", "entry")] == ["2 epochs", "2 batches", "2 entries"]
    assert count(3, "zero-size detection box") == "3 zero-size detection boxes"
    assert count(2, "broken person record (no bbox)") == "2 broken person records (no bbox)"
    assert count(1, "input or frame", "inputs or frames") == "1 input or frame"
    skips = Skips()
    skips["box outside its image"] += 2
    skips["zero-size detection box"] += 1
    assert skips.summary() == "2 boxes outside their image, 1 zero-size detection box"


def test_no_message_says_frame_s():
    """Every string the package prints or raises (docstrings aside) counts with `words.count`."""
    found = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docs = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                text = node.value.replace("http(s)", "")
                if re.search(r"[a-z]\(s\)", text):
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}: {text.strip()[:60]}")
    assert not found, found
