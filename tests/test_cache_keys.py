"""Cached artefacts are keyed on what shapes them, and a config whose sizes differ from the
checkpoint's says so: through the installed `simplepose eval` / `predict`, as a user runs them.

`auto` keeps its ONNX export and decision in the cache folder (`runtimes/cache.py`): one model
evaluated at two input sizes must run each size on a graph of that size, a damaged or old entry
must be rebuilt, and the heatmaps must equal eager's either way.

What reads or writes the cache, and each first word about a size, runs the installed command
(each run a fresh process that finds only what is on disk); the eager reference, the silent
run at the checkpoint's own size, the refused size and the ONNX file a test starts from call
`simplepose.cli.main` in the test's process.
"""

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from e2e_helpers import message_lines, simplepose, simplepose_in_process

#: A second input size the tiny model (R18, stride 32, 3 deconvs) can run: heatmaps at 1/4.
OTHER_INPUT, OTHER_HEATMAP = (64, 128), (16, 32)


def _eval(model, out: Path, home: Path, *extra, command=simplepose) -> tuple:
    """`simplepose eval` of the tiny model on its val set with GT boxes; (run, results)."""
    run = command(
        "eval",
        "--checkpoint",
        model.out / "last.pth",
        "--boxes",
        "gt",
        "--out",
        out,
        *extra,
        cwd=model.out,
        env={"SIMPLEPOSE_HOME": str(home)},
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    return run, json.loads((out / "results.json").read_text())


def _keypoints(results) -> np.ndarray:
    return np.array([r["keypoints"] for r in sorted(results, key=lambda r: (r["image_id"], r["keypoints"][0]))])


def _exports(home: Path) -> list:
    return sorted(p.name for p in (home / "runtimes").rglob("*.onnx"))


def test_auto_exports_once_per_input_size_and_each_size_runs_its_own_graph(tiny_model, tmp_path, capfd):
    home = tmp_path / "cache"
    at_other = (
        "--set",
        f"data.input_size=[{OTHER_INPUT[0]},{OTHER_INPUT[1]}]",
        "--set",
        f"data.heatmap_size=[{OTHER_HEATMAP[0]},{OTHER_HEATMAP[1]}]",
    )
    _, own = _eval(tiny_model, tmp_path / "own", home)
    assert [n.split("-")[1] for n in _exports(home)] == ["32x64"]
    run, other = _eval(tiny_model, tmp_path / "other", home, *at_other)
    assert [n.split("-")[1] for n in _exports(home)] == ["32x64", "64x128"]
    # The size change is said once, in one line naming both sizes.
    said = [line for line in message_lines(run.stderr) if line.startswith("warning:")]
    assert len(said) == 1 and "data.input_size 64x128 (the checkpoint's: 32x64)" in said[0], said
    # Each size's keypoints are eager's at that size (the cached graph is the right one).
    here = partial(simplepose_in_process, capfd)
    _, eager = _eval(tiny_model, tmp_path / "eager", home, *at_other, "--runtime", "eager", command=here)
    np.testing.assert_allclose(_keypoints(other), _keypoints(eager), atol=1e-2)
    assert not np.allclose(_keypoints(own), _keypoints(other), atol=1e-2)  # another size: other numbers
    # The same two commands again: both sizes read their own export from the cache.
    again = _eval(tiny_model, tmp_path / "again", home, *at_other)[1]
    np.testing.assert_allclose(_keypoints(again), _keypoints(eager), atol=1e-2)
    assert len(_exports(home)) == 2


def test_a_damaged_or_old_cache_entry_is_rebuilt(tiny_model, tmp_path):
    home = tmp_path / "cache"
    _, first = _eval(tiny_model, tmp_path / "first", home)
    (export,) = (home / "runtimes").rglob("*.onnx")
    folder = export.parent
    export.write_bytes(b"not an onnx graph")  # damaged: its recorded digest no longer matches
    for decision in folder.glob("[0-9a-f]*.json"):  # cache version 1's decision: no stored signature
        decision.write_text(
            json.dumps({"kept": ["onnx"], "threshold": 0, "rates": {}, "eager_rate": 0.0, "load_seconds": {}})
        )
    (folder / "model.onnx").write_bytes(b"cache version 1's export")  # the old layout, beside the new
    run, second = _eval(tiny_model, tmp_path / "second", home)
    assert not any(line.startswith("warning") for line in message_lines(run.stderr)), run.stderr[-2000:]
    np.testing.assert_allclose(_keypoints(second), _keypoints(first), atol=1e-2)
    manifest = json.loads(export.with_suffix(".json").read_text())
    import hashlib

    assert hashlib.sha256(export.read_bytes()).hexdigest() == manifest["sha256"]  # exported again
    assert manifest["request"]["input_size"] == [32, 64]


def test_predict_at_another_size_warns_once_and_an_impossible_heatmap_size_is_refused(
    tiny_model, synth_set, tmp_path, capfd
):
    image = synth_set.out / "images" / "val" / "000000.jpg"
    ckpt = tiny_model.out / "last.pth"
    size = ("--set", "data.input_size=[64,128]", "--set", "data.heatmap_size=[16,32]")
    run = simplepose(
        "predict", image, "--checkpoint", ckpt, "--detector", "none", "--out", tmp_path / "p", *size, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    said = [line for line in message_lines(run.stderr) if "checkpoint's" in line]
    assert len(said) == 1 and said[0].startswith("warning: ") and "64x128" in said[0] and "16x32" in said[0]
    assert (tmp_path / "p" / "results.json").is_file()
    # The checkpoint's own sizes: no word.
    quiet = simplepose_in_process(
        capfd, "predict", image, "--checkpoint", ckpt, "--detector", "none", "--out", tmp_path / "q", cwd=tmp_path
    )
    assert quiet.returncode == 0 and "checkpoint's" not in quiet.stderr, quiet.stderr[-2000:]
    # 48 wide: the stride-32 backbone rounds up (48 -> 2), so the head gives 16x16, not 12x16.
    bad = simplepose_in_process(
        capfd,
        "predict",
        image,
        "--checkpoint",
        ckpt,
        "--detector",
        "none",
        "--out",
        tmp_path / "b",
        "--set",
        "data.input_size=[48,64]",
        "--set",
        "data.heatmap_size=[12,16]",
        cwd=tmp_path,
    )
    lines = [line for line in message_lines(bad.stderr) if not line.startswith("warning: ")]
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("simplepose predict: error: "), lines
    assert "16x16 heatmaps for 48x64 crops" in lines[0] and "data.heatmap_size=[16,16]" in lines[0]


def test_a_given_onnx_file_of_another_size_is_one_clear_error(tiny_model, synth_set, tmp_path, capfd):
    graph = tmp_path / "m.onnx"
    made = simplepose_in_process(
        capfd, "export", "--checkpoint", tiny_model.out / "last.pth", "--onnx", graph, cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr[-3000:]
    image = synth_set.out / "images" / "val" / "000000.jpg"
    run = simplepose(
        "predict",
        image,
        "--checkpoint",
        tiny_model.out / "last.pth",
        "--detector",
        "none",
        "--runtime",
        "onnx",
        "--set",
        f"test.onnx_model={graph}",
        "--set",
        "data.input_size=[64,128]",
        "--set",
        "data.heatmap_size=[16,32]",
        "--out",
        tmp_path / "p",
        cwd=tmp_path,
    )
    assert run.returncode == 2, run.stderr[-3000:]
    error = [line for line in message_lines(run.stderr) if not line.startswith("warning: ")]
    assert "Traceback" not in run.stderr and len(error) == 1, error
    assert error[0].startswith("simplepose predict: error: ") and "m.onnx: the ONNX graph takes 32x64" in error[0]


def test_estimator_warns_once_of_another_size_and_refuses_heatmaps_it_cannot_decode(tiny_model, capfd):
    from simplepose import PoseEstimator

    ckpt = str(tiny_model.out / "last.pth")
    image = np.zeros((60, 40, 3), np.uint8)
    est = PoseEstimator(
        checkpoint=ckpt,
        detector="none",
        runtime="eager",
        overrides=("data.input_size=[64,128]", "data.heatmap_size=[16,32]"),
    )
    assert len(est(image)) == 1
    said = [line for line in capfd.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert len(said) == 1 and "data.input_size 64x128 (the checkpoint's: 32x64)" in said[0], said
    wrong = PoseEstimator(checkpoint=ckpt, detector="none", runtime="eager", overrides=("data.heatmap_size=[16,32]",))

    with pytest.raises(
        ValueError, match=r"the network gives 8x16 heatmaps for 32x64 crops .*data\.heatmap_size=\[8,16\]"
    ):
        wrong(image)


def test_generated_sets_are_reused_only_when_made_by_this_generator_at_these_sizes(tmp_path, capsys):
    """`demo` and `bench` keep the synthetic set they generate: keyed on seed, sizes and the
    generator (its code and the pixel libraries), and a set of another size is never taken."""
    from simplepose.bench.inputs import ensure_synthetic
    from simplepose.demo import DemoSettings, ensure_data
    from simplepose.synthetic.version import generator_key

    def images(root: Path) -> int:
        return len(list((root / "images").rglob("*.jpg")))

    root = ensure_synthetic(None, tmp_path / "bench", 4, 0)
    first = (root / "annotations" / "val.json").stat().st_mtime_ns
    assert images(root) == 4 and ensure_synthetic(None, tmp_path / "bench", 4, 0) == root
    assert (root / "annotations" / "val.json").stat().st_mtime_ns == first  # reused
    assert images(ensure_synthetic(None, tmp_path / "bench", 2, 0)) == 2  # another size: made anew, alone
    (root / ".bench-set").write_text("images=2 seed=0 generator=an-older-one")
    ensure_synthetic(None, tmp_path / "bench", 2, 0)
    assert (root / ".bench-set").read_text().endswith(generator_key())

    settings = DemoSettings(data_dir=str(tmp_path / "demo"), images=3, videos=1, frames=2)
    ensure_data(settings)
    ensure_data(settings)
    assert "reusing" in capsys.readouterr().out
    meta = tmp_path / "demo" / "meta.json"
    meta.write_text(meta.read_text().replace(generator_key(), "an-older-one"))
    ensure_data(settings)
    assert "reusing" not in capsys.readouterr().out
    assert json.loads(meta.read_text())["demo"]["generator"] == generator_key()
