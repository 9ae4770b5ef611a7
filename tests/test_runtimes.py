"""Every inference runtime against eager fp32 on small random models with random BatchNorm
statistics (a fresh BatchNorm is the identity, under which any fold looks right), and the
choice `auto` makes. A BatchNorm folded along the wrong axis of the transposed convolutions
must fail these tolerances: `test_a_fold_along_the_wrong_axis_fails_the_tolerance` checks it."""

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import simplepose.runtimes as runtimes
from simplepose.core.hardware import CpuFeatures
from simplepose.inference.predictor import TopDownPredictor
from simplepose.nets.model import PoseResNet
from simplepose.runtimes import RUNTIMES, RuntimeSpec, auto_order, build_runtime, onnx_paths
from simplepose.runtimes import fold as fold_module
from simplepose.runtimes.base import relative_error
from simplepose.runtimes.fold import count_batchnorms, fold_batchnorm
from simplepose.runtimes.onnx_paths import build_onnx

#: fp32 rewrites agree to ~3e-7 here; a wrong-axis deconv fold is off by ~1e-2 on this model.
FP32_TOL = 1e-4
SIZE = (48, 64)  # (w, h) network input
HEATMAP = (16, 16)  # what the stride-32 backbone and 3 deconvs give for SIZE (48 -> 2 -> 16)


def random_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) * 2 + 0.3)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.rand(c, generator=g) * 0.4 - 0.2)
    return model.eval()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These tests compare numbers, not speed: one torch thread keeps them quick when other
    work shares the cores (two threads on two busy cores run many times slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def fresh_auto_timings(tmp_path, monkeypatch):
    """Tests swap runtimes under one model's speed signature: no decision carries over, in this
    process or on disk (a cache folder per test). OpenVINO joins `auto` only where a test says."""
    from simplepose.runtimes.auto import clear_timings

    monkeypatch.setenv("SIMPLEPOSE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(runtimes, "openvino_available", lambda: False)
    clear_timings()
    yield
    clear_timings()


@pytest.fixture(scope="module")
def model() -> nn.Module:
    # width 8: layer4 has 64 channels, so all three 64-filter deconvolutions are square
    # (64 -> 64), where a fold along the wrong axis still has the right shape.
    torch.manual_seed(0)
    return random_statistics(PoseResNet(depth=18, num_joints=17, width=8, deconv_filters=64))


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    # NHWC-strided, as the predictor's crops arrive
    return torch.randn(3, SIZE[1], SIZE[0], 3, generator=torch.Generator().manual_seed(5)).permute(0, 3, 1, 2)


def eager(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x.contiguous()).numpy()


def test_fold_removes_every_batchnorm_and_matches_eager(model, batch):
    folded = fold_batchnorm(model)
    assert count_batchnorms(folded) == 0 and count_batchnorms(model) > 0  # the model is not changed
    with torch.no_grad():
        assert relative_error(folded(batch).numpy(), eager(model, batch)) < FP32_TOL


def test_a_fold_along_the_wrong_axis_fails_the_tolerance(model, batch, monkeypatch):
    """Scaling a transposed conv's weight along dim 0 (its input channels), the inductor bug."""

    def wrong(weight, scale, transposed, groups):
        return weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))

    monkeypatch.setattr(fold_module, "output_channel_scale", wrong)
    with torch.no_grad():
        error = relative_error(fold_batchnorm(model)(batch).numpy(), eager(model, batch))
    assert error > 20 * FP32_TOL, error


@pytest.mark.parametrize("transposed", [False, True])
def test_fold_grouped_convolutions(transposed):
    conv = nn.ConvTranspose2d(4, 6, 4, 2, 1, groups=2) if transposed else nn.Conv2d(4, 6, 3, 1, 1, groups=2)
    net = random_statistics(nn.Sequential(conv, nn.BatchNorm2d(6), nn.ReLU()))
    x = torch.randn(2, 4, 8, 8)
    folded = fold_batchnorm(net)
    assert count_batchnorms(folded) == 0
    with torch.no_grad():
        assert relative_error(folded(x).numpy(), net(x).numpy()) < FP32_TOL


class SharedConv(nn.Module):
    """A conv output read by a BatchNorm and by a sum: folding would change the sum."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


def test_batchnorm_of_a_shared_conv_output_stays():
    net = random_statistics(SharedConv())
    folded = fold_batchnorm(net)
    x = torch.randn(2, 3, 8, 8)
    assert count_batchnorms(folded) == 1
    with torch.no_grad():
        assert relative_error(folded(x).numpy(), net(x).numpy()) < FP32_TOL


@pytest.mark.parametrize("name", ["fast", "onnx"])
def test_fp32_runtime_matches_eager(name, model, batch):
    if name == "onnx":
        pytest.importorskip("onnxruntime")
    built = build_runtime(name, model, RuntimeSpec(SIZE))
    assert built.name == name and built.precision == "fp32"
    assert relative_error(built.runner(batch), eager(model, batch)) < FP32_TOL


def test_fast_with_bf16_autocast_stays_close(model, batch):
    """The path `fast` takes on CPUs with native bf16 (emulated, and slow, elsewhere)."""
    built = build_runtime("fast", model, RuntimeSpec(SIZE, precision=torch.bfloat16))
    assert built.precision == "bf16"
    assert relative_error(built.runner(batch), eager(model, batch)) < 5e-2


def test_compiled_runtime_matches_eager():
    """torch.compile over the hand-folded net (inductor's own freezing folds deconv BN wrongly);
    a conv -> BN -> deconv -> BN head keeps the compile short."""
    net = random_statistics(
        nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.ConvTranspose2d(8, 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 5, 1),
        )
    )
    built = build_runtime("compile", net, RuntimeSpec((12, 16)))
    for n in (1, 4):  # other batch sizes than the warm-up's
        x = torch.randn(n, 3, 16, 12)
        assert relative_error(built.runner(x), eager(net, x)) < FP32_TOL


def test_int8_runtime_stays_close(model, tmp_path):
    pytest.importorskip("onnxruntime")
    import cv2

    rng = np.random.default_rng(0)
    for i in range(4):
        image = cv2.resize(rng.integers(0, 255, (12, 9, 3), dtype=np.uint8), (90, 120))
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), image)
    spec = RuntimeSpec(SIZE, calibration=str(tmp_path))
    built = build_runtime("onnx-int8", model, spec)
    from simplepose.runtimes.onnx_paths import calibration_batches

    x = torch.from_numpy(calibration_batches(tmp_path, SIZE, spec.normalize)[0])
    assert built.precision == "int8"
    assert relative_error(built.runner(x), eager(model, x)) < 0.1  # int8: a few percent
    with pytest.raises(ValueError, match="calibration"):
        build_runtime("onnx-int8", model, RuntimeSpec(SIZE))


def features(native_bf16: bool) -> CpuFeatures:
    return CpuFeatures("test", "AVX512", frozenset(), native_bf16, True)


def test_auto_order():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert auto_order(cpu, features(False), True) == ("onnx", "fast", "eager")
    assert auto_order(cpu, features(False), False) == ("fast", "eager")
    # Native bf16 is faster but moves joints: fp32 contenders unless bf16 is asked for.
    assert auto_order(cpu, features(True), True) == ("onnx", "fast", "eager")
    assert auto_order(cuda, features(False), True)[0] == "fast"
    assert auto_order(cpu, features(False), True, torch.bfloat16)[0] == "fast"  # ORT has no bf16
    assert auto_order(cpu, features(True), True, None, True) == ("onnx", "openvino", "fast", "eager")
    assert auto_order(cpu, features(True), False, None, True) == ("openvino", "fast", "eager")


def test_auto_without_onnxruntime_is_fast(model, batch, monkeypatch):
    monkeypatch.setattr(runtimes, "onnx_available", lambda: False)
    built = build_runtime("auto", model, RuntimeSpec(SIZE))
    assert built.name == "fast" and "checked against eager" in built.detail
    assert relative_error(built.runner(batch), eager(model, batch)) < FP32_TOL


def test_auto_skips_a_runtime_that_disagrees_with_eager(model, monkeypatch):
    def broken(m, spec):
        good = RUNTIMES["eager"](m, spec)
        return runtimes.BuiltRuntime("fast", lambda x: good.runner(x) * 1.1, "fp32", "broken")

    monkeypatch.setattr(runtimes, "onnx_available", lambda: False)
    monkeypatch.setitem(RUNTIMES, "fast", broken)
    with pytest.warns(UserWarning, match="differs from eager"):
        assert build_runtime("auto", model, RuntimeSpec(SIZE)).name == "eager"


def slowed(name: str, delay: float, when=lambda n: True):
    """A builder of eager fp32 under another name, `delay` seconds slower per call of a batch
    size n where `when(n)`."""

    def build(m, spec):
        good = RUNTIMES["eager"](m, spec)

        def run(x):
            if when(len(x)):
                time.sleep(delay)
            return good.runner(x)

        return runtimes.BuiltRuntime(name, run, "fp32", f"eager as {name}")

    return build


@pytest.mark.parametrize("slow,want", [("onnx", "fast"), ("fast", "onnx")])
def test_auto_keeps_the_faster_fp32_contender(slow, want, model, monkeypatch):
    monkeypatch.setattr(runtimes, "onnx_available", lambda: True)
    monkeypatch.setattr(runtimes, "cpu_features", lambda: features(False))
    for name in ("onnx", "fast"):
        monkeypatch.setitem(RUNTIMES, name, slowed(name, 0.02 if name == slow else 0.0))
    chosen = build_runtime("auto", model, RuntimeSpec(SIZE, batch_size=8))
    assert chosen.name == want and "batch 8:" in chosen.detail
    # Without a batch size nothing is timed: the order's first (ONNX Runtime) is kept.
    assert build_runtime("auto", model, RuntimeSpec(SIZE)).name == "onnx"


def test_auto_switches_on_batch_size_when_each_contender_wins_one(model, monkeypatch, batch):
    monkeypatch.setattr(runtimes, "onnx_available", lambda: True)
    monkeypatch.setattr(runtimes, "cpu_features", lambda: features(False))
    monkeypatch.setitem(RUNTIMES, "onnx", slowed("onnx", 0.03, when=lambda n: n > 2))  # slow on big batches
    monkeypatch.setitem(RUNTIMES, "fast", slowed("fast", 0.03, when=lambda n: n <= 2))  # slow on small ones
    chosen = build_runtime("auto", model, RuntimeSpec(SIZE, batch_size=8))
    assert chosen.name == "onnx+fast" and chosen.runner.threshold == 4  # sqrt(2 * 8)
    assert relative_error(chosen.runner(batch), eager(model, batch)) < FP32_TOL
    again = build_runtime("auto", model, RuntimeSpec(SIZE, batch_size=8))  # measured once, kept on disk
    assert again.name == "onnx+fast" and "decision cached" in again.detail


def cache_files(tmp_path):
    return sorted(p.name for p in (tmp_path / "cache" / "runtimes").rglob("*") if p.is_file())


def test_auto_keeps_its_decision_and_export_on_disk_for_the_next_process(model, monkeypatch, tmp_path, batch):
    pytest.importorskip("onnxruntime")
    from simplepose.runtimes import onnx_paths
    from simplepose.runtimes.auto import clear_timings

    monkeypatch.setattr(runtimes, "cpu_features", lambda: features(False))
    monkeypatch.setitem(RUNTIMES, "fast", slowed("fast", 0.03))  # the real onnx wins
    first = build_runtime("auto", model, RuntimeSpec(SIZE, batch_size=8))
    assert first.name == "onnx" and f"export-{SIZE[0]}x{SIZE[1]}-" in first.detail
    files = cache_files(tmp_path)
    # the export, its digest record and manifest, and one decision
    assert sum(f.endswith(".onnx") for f in files) == 1 and sum(f.endswith(".json") for f in files) == 3
    clear_timings()  # a new process: no export, no check against eager, no timing

    def refused(*a, **k):
        raise RuntimeError("exported again")

    monkeypatch.setattr(onnx_paths, "export_onnx_bytes", refused)
    again = build_runtime("auto", model, RuntimeSpec(SIZE, batch_size=8))
    assert again.name == "onnx" and "decision cached" in again.detail
    assert relative_error(again.runner(batch), eager(model, batch)) < FP32_TOL
    # Other weights: another digest, so nothing is reused (and this export is refused here).
    other = random_statistics(PoseResNet(depth=18, num_joints=17, width=8, deconv_filters=64), seed=3)
    with pytest.warns(UserWarning, match="exported again"):
        assert "decision cached" not in build_runtime("auto", other, RuntimeSpec(SIZE, batch_size=8)).detail


def test_an_export_is_keyed_on_the_input_size_and_checked_before_use(model, monkeypatch, tmp_path):
    """Two input sizes of one model's weights: two exports, each used only at its own size;
    a stale or damaged entry (manifest of another request, file changed, graph of another size
    under the right name) is exported again rather than run."""
    pytest.importorskip("onnxruntime")
    from simplepose.runtimes import cache
    from simplepose.runtimes.auto import with_cached_export
    from simplepose.runtimes.onnx_paths import OPSET

    digest = cache.model_digest(model)
    small, large = RuntimeSpec((32, 64)), RuntimeSpec((64, 128))
    paths = {s.input_size: with_cached_export(model, s, digest).onnx_model for s in (small, large)}
    assert len(set(paths.values())) == 2 and all(Path(p).is_file() for p in paths.values())
    for spec in (small, large):
        x = torch.randn(2, 3, spec.input_size[1], spec.input_size[0])
        assert (
            relative_error(
                build_onnx(model, replace(spec, onnx_model=paths[spec.input_size])).runner(x), eager(model, x)
            )
            < FP32_TOL
        )
    path = Path(paths[(32, 64)])
    exports = {"n": 0}
    real_export = onnx_paths.export_onnx_bytes

    def counted(*a, **k):
        exports["n"] += 1
        return real_export(*a, **k)

    monkeypatch.setattr(onnx_paths, "export_onnx_bytes", counted)
    assert with_cached_export(model, small, digest).onnx_model == str(path) and exports["n"] == 0  # reused
    path.write_bytes(Path(paths[(64, 128)]).read_bytes())  # the other size's graph under this name
    assert with_cached_export(model, small, digest).onnx_model == str(path) and exports["n"] == 1
    assert build_onnx(model, replace(small, onnx_model=str(path))).name == "onnx"  # the right graph again
    manifest = path.with_suffix(".json")
    manifest.write_text(manifest.read_text().replace('"opset"', '"opset_"'))  # answers another request
    with_cached_export(model, small, digest)
    assert exports["n"] == 2 and json.loads(manifest.read_text())["request"]["opset"] == OPSET
    manifest.write_text("{not json")
    with_cached_export(model, small, digest)
    assert exports["n"] == 3


def test_an_onnx_file_of_another_input_size_is_one_clear_error(model, tmp_path):
    pytest.importorskip("onnxruntime")
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx_paths.export_onnx_bytes(model, (32, 64)))
    with pytest.raises(ValueError, match=r"m\.onnx: the ONNX graph takes 32x64 .* data\.input_size is 64x128"):
        build_onnx(model, RuntimeSpec((64, 128), onnx_model=str(path)))


def test_a_short_job_runs_eager_without_export(model, monkeypatch, tmp_path):
    monkeypatch.setattr(runtimes, "onnx_available", lambda: True)
    built = build_runtime("auto", model, RuntimeSpec(SIZE, batch_size=8, work=4))
    assert built.name == "eager" and "short job" in built.detail and cache_files(tmp_path) == []
    predictor = TopDownPredictor(model, SIZE, HEATMAP, expected_crops=2)  # 2 people, flip test: 4 crops
    assert predictor.runtime.name == "eager"


def test_a_cached_decision_gives_way_to_eager_for_a_short_job():
    from simplepose.runtimes.cache import Decision

    decision = Decision(("onnx",), 0, {"onnx": 20.0}, 10.0, {"onnx": 0.3})
    assert not decision.cheaper_than_eager(2)  # 0.3 + 0.1 s against 0.2 s
    assert decision.cheaper_than_eager(20) and decision.cheaper_than_eager(0)  # 0: a long job


def test_model_digest_sees_one_changed_weight(model):
    import copy

    from simplepose.runtimes.cache import model_digest

    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.final_layer.weight[3, 5] += 1e-3
    assert model_digest(model) == model_digest(copy.deepcopy(model)) != model_digest(changed)


def test_model_digest_sees_the_structure_not_only_the_weights():
    """Equal weights, another stride or flag of the model's own: other heatmaps, so another
    digest (else one model's cached export and decision would serve the other)."""
    from simplepose.runtimes.cache import model_digest

    class Sampler(nn.Module):
        def __init__(self, step: int, udp: bool) -> None:
            super().__init__()
            self.step, self.udp = step, udp
            self.conv = nn.Conv2d(3, 2, 3, padding=1)

        def forward(self, x):
            return self.conv(x)[:, :, :: self.step, :: self.step]

    torch.manual_seed(0)
    a = Sampler(2, False)
    b, c = Sampler(4, False), Sampler(2, True)
    b.load_state_dict(a.state_dict())
    c.load_state_dict(a.state_dict())
    assert len({model_digest(a), model_digest(b), model_digest(c)}) == 3
    assert model_digest(a) == model_digest(a.train())  # train/eval mode is not part of it


def test_int8_keeps_the_final_layer_and_the_front_in_fp32(model, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx

    from simplepose.runtimes.onnx_paths import INPUT_NAME, OUTPUT_NAME, export_onnx_bytes, front_nodes, quantize_int8

    fp32 = export_onnx_bytes(model, SIZE)
    front = front_nodes(fp32)
    # R18: the stem, stage 1's four convolutions and two residual adds; the final 1x1 conv.
    kinds = [n.op_type for n in onnx.load_from_string(fp32).graph.node if n.name in front]
    assert kinds.count("Conv") == 6 and kinds.count("Add") == 2, kinds
    x = np.random.default_rng(0).standard_normal((4, 3, SIZE[1], SIZE[0])).astype(np.float32)
    graph = onnx.load_from_string(quantize_int8(fp32, [x])).graph
    assert next(n.op_type for n in graph.node if OUTPUT_NAME in n.output) == "Conv"
    assert next(n.op_type for n in graph.node if INPUT_NAME in n.input) == "Conv"  # the stem
    convs = [n.op_type for n in graph.node if n.op_type in ("Conv", "QLinearConv")]
    assert convs.count("Conv") == 6 and convs.count("QLinearConv") == 20 - 5, convs  # 20 convs in an R18 backbone


def test_openvino_fp32_matches_eager_and_auto_times_it(model, batch, monkeypatch):
    pytest.importorskip("openvino")
    built = build_runtime("openvino", model, RuntimeSpec(SIZE))
    assert built.name == "openvino" and built.precision == "fp32" and "fp32" in built.detail
    assert relative_error(built.runner(batch), eager(model, batch)) < FP32_TOL
    monkeypatch.setattr(runtimes, "openvino_available", lambda: True)
    monkeypatch.setattr(runtimes, "onnx_available", lambda: False)
    monkeypatch.setitem(RUNTIMES, "fast", slowed("fast", 0.03))
    chosen = build_runtime("auto", model, RuntimeSpec(SIZE, batch_size=8))
    assert chosen.name == "openvino" and "batch 8:" in chosen.detail


def test_openvino_int8_stays_close(model, tmp_path, capfd):
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    import cv2

    from simplepose.runtimes.onnx_paths import calibration_batches

    rng = np.random.default_rng(0)
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), cv2.resize(rng.integers(0, 255, (12, 9, 3), dtype=np.uint8), (90, 120)))
    spec = RuntimeSpec(SIZE, calibration=str(tmp_path))
    built = build_runtime("openvino-int8", model, spec)
    x = torch.from_numpy(calibration_batches(tmp_path, SIZE, spec.normalize)[0])
    assert built.precision == "int8"
    assert relative_error(built.runner(x), eager(model, x)) < 0.1
    out, err = capfd.readouterr()
    assert "nncf" not in out + err and "Statistics collection" not in out + err  # NNCF's chatter held back


def test_openvino_int8_leaves_the_same_front_in_fp32_as_onnx_int8(model):
    pytest.importorskip("openvino")
    import openvino as ov

    from simplepose.runtimes.onnx_paths import export_onnx_bytes, front_nodes
    from simplepose.runtimes.openvino_paths import front_ops

    fp32 = export_onnx_bytes(model, SIZE)
    ops = {op.get_friendly_name(): op.get_type_name() for op in ov.Core().read_model(fp32).get_ops()}
    front = front_ops(ov.Core().read_model(fp32))
    # OpenVINO splits a Conv into Convolution + its bias Add, named after the ONNX node; the
    # head's layers at 1/4 (the last deconvolution, the final conv) are left fp32 anyway.
    head = ("/deconv", "/final", "heatmaps")
    assert sorted(n for n in front if ops[n] == "Add" and not n.startswith(head)) == sorted(
        n for n in front_nodes(fp32) if not n.startswith(head)
    )
    assert [ops[n] for n in front].count("Convolution") == 6


def test_unknown_runtime_is_one_clear_error(model):
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'; choose one of auto, eager, fast"):
        build_runtime("tensorrt", model, RuntimeSpec(SIZE))


@pytest.mark.parametrize("name", ["fast", "onnx"])
def test_predictor_runtime_gives_eager_heatmaps_and_poses(name, model):
    if name == "onnx":
        pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (200, 160, 3), dtype=np.uint8)
    boxes = np.array([[10.0, 20.0, 90.0, 180.0], [50.0, 5.0, 150.0, 120.0], [0.0, 0.0, 160.0, 200.0]])
    ref = TopDownPredictor(model, SIZE, HEATMAP, runtime="eager")
    fast = TopDownPredictor(model, SIZE, HEATMAP, runtime=name)
    assert fast.runtime.name == name and ref.runtime.name == "eager"
    c, s = ref.crop_boxes(boxes)
    from simplepose.core.transforms import crop_people

    crops = crop_people(image, c, s, SIZE)[0]
    assert relative_error(fast.heatmaps(crops), ref.heatmaps(crops)) < FP32_TOL
    got, want = fast(image, boxes), ref(image, boxes)
    # Peaks are compared where the heatmaps leave no near tie for the argmax to flip on.
    np.testing.assert_allclose(got.keypoints[..., 2], want.keypoints[..., 2], rtol=1e-3, atol=1e-6)
    assert set(fast.seconds) == {"crop", "model", "flip", "decode"} and fast.seconds["model"] > 0


def test_from_config_honours_test_runtime(model):
    from simplepose.config import config_from_dict

    cfg = config_from_dict({"data": {"input_size": list(SIZE), "heatmap_size": [12, 16]}, "test": {"runtime": "fast"}})
    assert TopDownPredictor.from_config(model, cfg).runtime.name == "fast"
    assert TopDownPredictor.from_config(model, cfg, runtime="eager").runtime.name == "eager"


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    from simplepose.core.hardware import BF16_FLAGS, read_cpu_flags

    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n\nprocessor\t: 1\n"
    )
    flags = read_cpu_flags(str(info))
    assert {"avx2", "avx512_bf16"} <= flags and flags & BF16_FLAGS
    assert read_cpu_flags(str(tmp_path / "absent")) == frozenset()  # no /proc: nothing is assumed


def test_calibration_windows_are_person_sized_boxes_inside_the_image():
    from simplepose.runtimes.onnx_paths import calibration_windows

    boxes = calibration_windows((480, 640), 0.75, 200, np.random.default_rng(1))
    x, y, w, h = boxes.T
    assert np.all((h >= 0.3 * 480 - 1e-9) & (h <= 0.9 * 480 + 1e-9)) and np.allclose(w, h * 0.75)
    assert np.all((x >= 0) & (y >= 0) & (x + w <= 640 + 1e-9) & (y + h <= 480 + 1e-9))
    assert len({round(v) for v in x}) > 100  # spread over the image, not one place
    tall = calibration_windows((100, 50), 2.0, 20, np.random.default_rng(1))  # wider than the image: clipped
    assert np.all(tall[:, 2] <= 50) and np.all(tall[:, 0] >= 0)
