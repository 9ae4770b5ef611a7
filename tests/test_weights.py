"""Weights from files: official checkpoints, ImageNet backbones, project checkpoints, safety."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from simplepose.cli import main
from simplepose.config import load_config
from simplepose.nets.checkpoint import save_checkpoint
from simplepose.nets.complexity import table_rows
from simplepose.nets.model import RESNET_SPECS, PoseResNet
from simplepose.nets.weights import (
    WeightsError,
    extract_state_dict,
    infer_architecture,
    load_checkpoint,
    load_imagenet_backbone,
    read_weights_file,
)
from simplepose.training.engine import build_model


def trained_like(model: PoseResNet, seed: int = 0) -> PoseResNet:
    """Random BN parameters and statistics and final bias, so that every tensor shows in the output.

    Conv weights are random already (their init); BN tensors would otherwise be the constants a
    fresh model also has, and a load that skipped them would go unnoticed.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point() and t.dim() == 1:
                t.copy_(torch.randn(t.shape, generator=g) * 0.05 + (1.0 if "running_var" in name else 0.0))
                if "running_var" in name:
                    t.abs_()
    return model.eval()


def outputs(model: PoseResNet, seed: int = 1) -> torch.Tensor:
    x = torch.randn(2, 3, 128, 96, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model.eval()(x)


def without_counters(sd: dict) -> dict:
    """What PyTorch 0.4.0, which wrote the released files, saved: no num_batches_tracked."""
    return {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}


def test_released_r50_layout_loads_strictly_and_gives_identical_outputs(tmp_path):
    r50 = trained_like(PoseResNet(depth=50, num_joints=17))
    # pose_resnet_50_256x192.pth.tar: a bare state dict in the legacy (pre-zip) format, no counters.
    path = tmp_path / "pose_resnet_50_256x192.pth.tar"
    torch.save(without_counters(r50.state_dict()), path, _use_new_zipfile_serialization=False)
    loaded = load_checkpoint(path)
    assert loaded.config is None and loaded.format == "state_dict"
    assert loaded.model.architecture() == r50.architecture()
    assert torch.equal(outputs(loaded.model), outputs(r50))


@pytest.mark.parametrize("wrap", ["bare", "bare_module", "trainer", "compiled"])
def test_official_wrappings_load_with_identical_outputs(wrap, tmp_path):
    model = trained_like(PoseResNet(depth=18, num_joints=16, deconv_filters=64))
    sd = model.state_dict()
    prefixed = {"module." + k: v for k, v in sd.items()}  # saved from DataParallel
    obj = {
        "bare": sd,
        "bare_module": prefixed,
        "compiled": {"model": {"_orig_mod." + k: v for k, v in sd.items()}},  # torch.compile'd, saved as "model"
        # The official trainer's checkpoint.pth.tar: "model" is the model's name, a string.
        "trainer": {
            "epoch": 140,
            "model": "pose_resnet",
            "state_dict": prefixed,
            "perf": 0.704,
            "optimizer": torch.optim.Adam(model.parameters()).state_dict(),
        },
    }[wrap]
    path = tmp_path / "ckpt.pth.tar"
    torch.save(obj, path)
    loaded = load_checkpoint(path)
    assert loaded.model.architecture() == model.architecture()
    assert torch.equal(outputs(loaded.model), outputs(model))


@pytest.mark.parametrize("depth", sorted(RESNET_SPECS))
@pytest.mark.parametrize("style", ["pytorch", "caffe"])
def test_architecture_inference_on_every_depth_and_style(depth, style):
    with torch.device("meta"):  # only keys and shapes matter
        model = PoseResNet(depth=depth, num_joints=14, style=style)
    sd = extract_state_dict({"state_dict": {"module." + k: v for k, v in model.state_dict().items()}})
    arch = infer_architecture(sd, style=style)
    assert (arch["depth"], arch["style"], arch["num_joints"]) == (depth, style, 14)
    with torch.device("meta"):
        assert PoseResNet(**arch).architecture() == model.architecture()


def test_architecture_inference_of_a_non_default_head_and_width():
    with torch.device("meta"):
        model = PoseResNet(
            depth=34,
            num_joints=16,
            num_deconv_layers=2,
            deconv_filters=[128, 64],
            deconv_kernels=[3, 2],
            final_conv_kernel=3,
            width=32,
        )
    arch = infer_architecture(model.state_dict())
    with torch.device("meta"):
        assert PoseResNet(**arch).architecture() == model.architecture()
    assert (arch["deconv_filters"], arch["deconv_kernels"], arch["final_conv_kernel"]) == ([128, 64], [3, 2], 3)
    assert arch["width"] == 32


@pytest.mark.parametrize("depth, style", [(18, "pytorch"), (50, "caffe")])  # style moves Bottleneck strides
def test_project_checkpoint_round_trip_rebuilds_from_its_config(depth, style, tmp_path):
    cfg = load_config(
        None,
        [
            f"model.depth={depth}",
            "model.num_joints=16",
            f"model.style={style}",
            "model.deconv_filters=32",
            "data.input_size=[256,256]",
        ],
    )
    model = trained_like(PoseResNet(depth=depth, num_joints=16, style=style, deconv_filters=32))
    opt = torch.optim.Adam(model.parameters())
    path = tmp_path / "run" / "last.pt"
    save_checkpoint(path, model, cfg, epoch=3, optimizer=opt.state_dict())
    loaded = load_checkpoint(path)  # weights_only: training state of tensors and numbers only
    assert loaded.format == "simplepose" and loaded.config == cfg
    assert loaded.model.style == style and loaded.payload["epoch"] == 3
    assert torch.equal(outputs(loaded.model), outputs(model))
    with pytest.raises(WeightsError, match="style"):
        load_checkpoint(path, style="caffe" if style == "pytorch" else "pytorch")


def test_loading_is_strict(tmp_path):
    sd = PoseResNet(depth=18, num_joints=3, deconv_filters=16).state_dict()
    extra = dict(sd, **{"layer1.0.extra.weight": torch.zeros(1)})
    torch.save(extra, tmp_path / "extra.pt")
    with pytest.raises(WeightsError, match="unexpected: layer1.0.extra.weight"):
        load_checkpoint(tmp_path / "extra.pt")
    missing = {k: v for k, v in sd.items() if k != "layer2.1.bn2.running_var"}
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(WeightsError, match="missing: layer2.1.bn2.running_var"):
        load_checkpoint(tmp_path / "missing.pt")


def test_files_needing_full_unpickling_are_refused_unless_trusted(tmp_path):
    sd = PoseResNet(depth=18, num_joints=3, deconv_filters=16).state_dict()
    path = tmp_path / "pickled.pth"
    torch.save({"state_dict": sd, "args": argparse.Namespace(lr=1e-3)}, path)
    with pytest.raises(WeightsError, match=r"pickled\.pth.*argparse\.Namespace.*trusted=True.*--trusted"):
        load_checkpoint(path)
    assert load_checkpoint(path, trusted=True).model.num_joints == 3
    # `info` takes --trusted like every other command that reads checkpoints.
    assert main(["info", str(path)]) == 2
    assert main(["info", str(path), "--trusted"]) == 0


@pytest.mark.parametrize(
    "kind, message",
    [
        ("truncated", "truncated or corrupted"),
        ("truncated_legacy", "truncated or corrupted"),
        ("empty", "empty"),
        ("text", "not a PyTorch weights file"),
        ("list", "expected a state dict"),
        ("foreign", "not a ResNet state dict"),
        ("backbone_only", "no final_layer.weight"),
    ],
)
def test_bad_files_give_a_clear_error_naming_the_file(kind, message, tmp_path):
    path = tmp_path / f"{kind}.pth"
    sd = PoseResNet(depth=18, num_joints=3, deconv_filters=16).state_dict()
    if kind.startswith("truncated"):
        torch.save(sd, path, _use_new_zipfile_serialization=kind == "truncated")
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("model:\n  depth: 50\n")
    elif kind == "list":
        torch.save([1, 2, 3], path)
    elif kind == "foreign":
        torch.save({"encoder.weight": torch.zeros(3, 3)}, path)
    else:
        torch.save({k: v for k, v in sd.items() if k.startswith(("conv1", "bn1", "layer"))}, path)
    with pytest.raises(WeightsError, match=message) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        read_weights_file("/nonexistent/nowhere.pth")


def imagenet_file(path: Path, depth: int, empty: bool = False) -> dict:
    """A torchvision-format ImageNet ResNet: backbone keys, fc.*, old file without counters."""
    with torch.device("meta" if empty else "cpu"):
        model = PoseResNet(depth=depth)
    width = 512 * (4 if RESNET_SPECS[depth][0] == "bottleneck" else 1)
    sd = {
        k: (torch.empty(0) if empty else torch.randn(v.shape))
        for k, v in without_counters(model.state_dict()).items()
        if not k.startswith(("deconv_layers", "final_layer"))
    }
    sd.update({"fc.weight": torch.randn(1000, width), "fc.bias": torch.randn(1000)})
    torch.save(sd, path, _use_new_zipfile_serialization=False)
    return sd


def test_imagenet_backbone_loads_and_reports_the_classifier(tmp_path):
    path = tmp_path / "resnet18-f37072fd.pth"
    sd = imagenet_file(path, 18)
    model = PoseResNet(depth=18, num_joints=17)
    head_before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(("deconv", "final"))}
    report = load_imagenet_backbone(model, path)
    assert sorted(report.ignored) == ["fc.bias", "fc.weight"]
    assert "ignored fc.weight, fc.bias" in str(report) and report.depth == 18
    state = model.state_dict()
    for k, v in sd.items():
        if not k.startswith("fc."):
            assert torch.equal(state[k], v), k
    for k, v in head_before.items():
        assert torch.equal(state[k], v), k


def test_imagenet_backbone_of_the_wrong_depth_says_which_depth_it_is(tmp_path):
    path = tmp_path / "resnet101-5d3b4d8f.pth"
    imagenet_file(path, 101, empty=True)  # depth is read from keys, before any shape
    with torch.device("meta"):
        model = PoseResNet(depth=50)
    with pytest.raises(WeightsError, match="is a ResNet-101 but the model is a ResNet-50"):
        load_imagenet_backbone(model, path)


def test_imagenet_backbone_shape_mismatch_names_key_and_shapes(tmp_path):
    path = tmp_path / "resnet18.pth"
    sd = imagenet_file(path, 18)
    sd["layer3.1.conv2.weight"] = torch.zeros(256, 256, 1, 1)
    torch.save(sd, path)
    with pytest.raises(
        WeightsError,
        match=r"layer3\.1\.conv2\.weight has shape \(256, 256, 1, 1\), "
        r"the model expects \(256, 256, 3, 3\)",
    ):
        load_imagenet_backbone(PoseResNet(depth=18), path)


def test_imagenet_backbone_of_another_width_names_both_widths(tmp_path):
    path = tmp_path / "resnet18.pth"
    imagenet_file(path, 18)
    with pytest.raises(WeightsError, match="width 64 .* the model has width 32; set model.width"):
        load_imagenet_backbone(PoseResNet(depth=18, width=32), path)


def test_the_training_model_gets_the_configs_pretrained_backbone(tmp_path):
    path = tmp_path / "resnet18.pth"
    sd = imagenet_file(path, 18)
    cfg = load_config(None, ["model.depth=18", f"model.pretrained={path}"])
    model = build_model(cfg, num_joints=17, resuming=False)
    assert torch.equal(model.conv1.weight, sd["conv1.weight"])
    assert torch.equal(model.layer4[1].bn2.running_var, sd["layer4.1.bn2.running_var"])
    # Resuming restores every weight from the checkpoint: the backbone file is not read again.
    assert not torch.equal(build_model(cfg, num_joints=17, resuming=True).conv1.weight, sd["conv1.weight"])


def test_info_command_reads_checkpoints_and_prints_the_table(tmp_path, capsys):
    path = tmp_path / "pose_resnet_18.pth.tar"
    torch.save(PoseResNet(depth=18, num_joints=16).state_dict(), path)
    assert main(["info", str(path), "--input-size", "256", "256"]) == 0
    out = capsys.readouterr().out
    assert "PoseResNet-18" in out and "16 joints" in out and "heatmaps 64x64" in out
    assert main(["info", "--table"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("R")]
    assert [(r[0], r[1]) for r in rows] == [(f"R{d}", s) for d in sorted(RESNET_SPECS) for s in ("256x192", "384x288")]
    r50 = rows[4]
    assert (r50[2], r50[3], r50[4]) == ("34.00", "34.0", "5.43")
    # The printed table is the library's: every paper figure within 1.2% of our paper-convention count.
    for row in table_rows():
        if row["paper_gflops"] is not None:
            assert abs(row["paper_convention"] / row["paper_gflops"] - 1) < 0.012
            assert abs(row["params_m"] - row["paper_params_m"]) < 0.05
    path.write_bytes(b"garbage!")
    assert main(["info", str(path)]) == 2
    assert "pose_resnet_18.pth.tar: not a checkpoint" in capsys.readouterr().err
