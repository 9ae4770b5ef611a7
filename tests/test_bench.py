"""`simplepose bench --quick`: the installed command runs every section on generated data
and writes its tables. (Speed itself is never asserted: it goes in the printed ratios.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import simplepose

REPO = Path(__file__).resolve().parents[1]


def test_installed_bench_quick_writes_every_table(tmp_path):
    exe = Path(sys.executable).parent / "simplepose"
    out = tmp_path / "bench"
    # One thread: a smoke test needs no speed, and two torch threads on two busy cores run
    # many times slower (the suite and other work share them).
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(exe), "bench", "--quick", "--out", str(out), "--runtimes", "auto", "eager", "fast"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "bench.json").read_text())
    assert report["simplepose_version"] == simplepose.__version__
    titles = [s["title"] for s in report["sections"]]
    for start in ("Network alone: demo", "Predictor end to end", "Training step", "Data loading", "Accuracy"):
        assert any(t.startswith(start) for t in titles), (start, titles)
    network = report["sections"][0]
    runtimes = {row[1].split(" = ")[0] for row in network["rows"]}
    assert {"auto", "eager", "fast"} <= runtimes
    assert all(isinstance(row[4], float) and row[4] > 0 for row in network["rows"])  # images/s measured
    eager_row = next(row for row in network["rows"] if row[1] == "eager")
    assert eager_row[5] == "1.00x"  # ratios are to eager fp32
    accuracy = next(s for s in report["sections"] if s["title"].startswith("Accuracy"))
    fast = next(row for row in accuracy["rows"] if row[0] == "fast")
    # Mean displacement in pixels against eager fp32. A rewrite in fp32 (BN folding, layout) moves
    # nothing; on a CPU with native bf16 `fast` runs bf16, and random weights have near-tied
    # heatmap maxima that bf16 rounding reorders, so there only the figure's presence is checked.
    if fast[1] == "fp32":
        assert fast[3] < 0.5, fast
    else:
        assert fast[1] == "bf16" and np.isfinite(fast[3]), fast
    assert any("RANDOM weights" in n for n in accuracy["notes"])  # says what the model is
    noise = next(row for row in accuracy["rows"] if row[0] == "eager, input +-1 grey")
    assert np.isfinite(noise[3]) and noise[2] >= noise[3] >= 0
    base = next(row for row in accuracy["rows"] if row[0] == "eager")
    assert 0 <= noise[4] <= 1 and abs(noise[5] - 100 * (noise[4] - base[4])) < 1e-9  # the floor's own AP
    text = (out / "bench.txt").read_text()
    assert "CPU:" in text and "native bf16" in text and "| eager | fp32 |" in text and "1 threads" in text
    assert "Network alone" in done.stdout and "wrote" in done.stdout


def test_bench_names_every_runtime():
    from simplepose.bench.settings import ALL_RUNTIMES
    from simplepose.runtimes import RUNTIME_CHOICES

    assert set(ALL_RUNTIMES) == set(RUNTIME_CHOICES)


def test_interleaved_rounds_rotate_which_callable_runs_first():
    from simplepose.bench.timing import interleaved_rates

    order = []
    calls = {name: (lambda n=name: order.append(n)) for name in "abc"}
    rates = interleaved_rates(calls, items_per_call=1, rounds=3, seconds_per_round=0.0)
    assert set(rates) == set("abc") and all(r > 0 for r in rates.values())
    measured = order[3:]  # after one warm-up call each
    assert [measured[i * 3] for i in range(3)] == ["a", "b", "c"], order
    assert sorted(measured) == sorted("abc" * 3)


def test_acceptance_judges_auto_and_its_choice_against_the_best_candidate():
    from simplepose.bench.report import Section
    from simplepose.bench.run import acceptance

    columns = ["model", "runtime", "precision", "build s", "img/s b1", "vs eager b1", "img/s b16", "vs eager b16"]
    rows = [
        ["demo", "auto = openvino", "fp32", 0.2, 90.0, "", 880.0, ""],
        ["demo", "onnx", "fp32", 1.0, 80.0, "", 700.0, ""],
        ["demo", "openvino", "fp32", 0.2, 100.0, "", 1000.0, ""],
        ["demo", "onnx-int8", "int8", 2.0, 300.0, "", 3000.0, ""],
    ]  # int8 is never the best fp32
    lines = acceptance(
        [Section("Network alone: demo R18, images/s", columns, rows)],
        {"mean_px": 0.0, "ap_points": 0.0, "int8": [("onnx-int8", 0.5, 40.0, -0.1)]},
    )
    assert lines[0] == (
        "- demo R18, img/s b1: auto 90 vs best of onnx/openvino/fast fp32 100 (0.90x), auto = openvino; "
        "openvino as a candidate 100 (1.00x: auto's choice)"
    )
    assert lines[1].startswith("- demo R18, img/s b16: auto 880 vs best of onnx/openvino/fast fp32 1e+03 (0.88x)")
    assert "onnx-int8: mean keypoint displacement 0.5 px, max 40 px" in lines[-1]


def test_the_noise_floor_is_one_grey_level_and_stays_out_of_the_runtimes_worst_case():
    from simplepose.bench.accuracy import NOISE_ROW, grey_noise, summary
    from simplepose.bench.report import Section
    from simplepose.bench.run import acceptance

    image = np.random.default_rng(1).integers(0, 256, (40, 30, 3)).astype(np.uint8)
    image[0] = 0
    image[1] = 255
    noisy = grey_noise([image])[0]
    change = noisy.astype(int) - image
    assert noisy.dtype == np.uint8 and noisy.shape == image.shape and np.abs(change).max() == 1
    assert 0.55 < np.abs(change[2:]).mean() < 0.78  # two thirds of the pixels move by one level
    assert (change[0] >= 0).all() and (change[1] <= 0).all()  # clipped, never wrapped
    rows = [
        ["eager", "fp32", 0.0, 0.0, 0.41, 0.0],
        [NOISE_ROW, "fp32", 30.0, 0.2, 0.405, -0.5],
        ["fast", "fp32", 0.01, 0.001, 0.41, 0.0],
        ["onnx-int8", "int8", 40.0, 0.3, 0.40, -1.0],
    ]
    got = summary(
        Section(
            "Accuracy against eager fp32",
            ["runtime", "precision", "max px", "mean px", "AP", "AP change (points)"],
            rows,
        )
    )
    assert got["mean_px"] == 0.001 and got["ap_points"] == 0.0 and got["noise"] == (0.2, 30.0, -0.5)
    assert acceptance([], got)[-1] == (
        "- for scale, eager fp32 on the same images with +-1 grey level of noise: "
        "mean 0.2 px, max 30 px, AP change -0.5 points"
    )


def test_the_floor_ap_comes_from_noisy_images_a_new_draw_per_batch():
    from simplepose.bench.accuracy import NoisyInput

    class Recorder:
        batch_size = 3

        def __init__(self):
            self.seen = []

        def predict_batch(self, images, boxes, scores=None):
            self.seen.append((images, boxes, scores))
            return ["poses"] * len(images)

    inner, image = Recorder(), np.full((20, 10, 3), 128, np.uint8)
    noisy = NoisyInput(inner)
    assert noisy.batch_size == 3  # what the evaluator reads passes through
    assert noisy.predict_batch([image], ["box"], ["score"]) == ["poses"]
    noisy.predict_batch([image], ["box"])
    (first, boxes, scores), (second, _, _) = inner.seen
    assert boxes == ["box"] and scores == ["score"] and image.max() == 128  # the caller's image untouched
    assert np.abs(first[0].astype(int) - 128).max() == 1 and (first[0] != second[0]).any()
