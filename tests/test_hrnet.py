"""HRNet (`model.backbone: hrnet`) on the same pipeline: structure, weights files, and a tiny
one trained, predicting (runtime auto), exported to ONNX and described by `info`, each by the
installed command."""

import json

import pytest
import torch
import yaml
from e2e_helpers import simplepose, simplepose_in_process

from simplepose.config import build_model_kwargs, load_config
from simplepose.nets.build import build_network
from simplepose.nets.hrnet import PoseHighResolutionNet
from simplepose.nets.weights import WeightsError, infer_architecture, load_imagenet_backbone
from simplepose.runtimes.fold import count_batchnorms, fold_batchnorm

TINY = dict(backbone="hrnet", hrnet_width=8, hrnet_modules=[1, 1, 1], hrnet_blocks=1)


def _randomise_bn(model: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=g))


def test_published_shapes_key_count_and_names():
    with torch.device("meta"):
        w32 = PoseHighResolutionNet(32)
    sd = w32.state_dict()
    assert len(sd) == 1754  # mmpose's W32 backbone + head, without the prefixes
    for key in (
        "conv2.weight",
        "layer1.0.downsample.0.weight",
        "transition1.0.0.weight",
        "transition3.3.0.0.weight",
        "stage2.0.fuse_layers.0.1.0.weight",
        "stage4.2.fuse_layers.0.3.0.weight",
        "stage4.1.fuse_layers.3.0.2.0.weight",
        "final_layer.weight",
    ):
        assert key in sd, key
    assert "stage4.2.fuse_layers.1.0.0.0.weight" not in sd  # the last module makes only the 1/4 output
    assert infer_architecture(sd) == dict(w32.architecture())


def test_tiny_hrnet_gives_quarter_heatmaps_folds_and_infers_its_architecture():
    model = build_network(**build_model_kwargs(load_config(None, [f"model.{k}={v}" for k, v in TINY.items()]).model))
    assert isinstance(model, PoseHighResolutionNet)
    _randomise_bn(model)
    model.eval()
    x = torch.randn(2, 3, 64, 32)
    folded = fold_batchnorm(model)
    with torch.no_grad():
        out, out_folded = model(x), folded(x)
    assert out.shape == (2, 17, 16, 8)
    assert count_batchnorms(folded) == 0 and count_batchnorms(model) > 0
    assert torch.allclose(out, out_folded, atol=1e-5 * out.abs().max().item())
    rebuilt = build_network(**infer_architecture(model.state_dict()))
    rebuilt.load_state_dict(model.state_dict())


def test_imagenet_file_loads_only_the_pretrained_layers(tmp_path):
    model = PoseHighResolutionNet(8, stage_modules=(1, 1, 1), stage_blocks=1)
    sd = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    sd["final_layer.weight"] = torch.randn(2048, 8, 1, 1)  # the classifier's namesake of another shape
    sd["incre_modules.0.0.conv1.weight"] = torch.randn(4, 8, 1, 1)
    torch.save(sd, tmp_path / "hrnet_w8.pth")
    report = load_imagenet_backbone(model, tmp_path / "hrnet_w8.pth")
    assert sorted(report.ignored) == ["final_layer.bias", "final_layer.weight", "incre_modules.0.0.conv1.weight"]
    assert "ignored 3 (final_layer, incre_modules)" in str(report)
    assert torch.equal(
        model.state_dict()["stage4.0.branches.3.0.conv2.weight"], sd["stage4.0.branches.3.0.conv2.weight"]
    )
    with pytest.raises(WeightsError, match="W8 but the model is W16"):
        load_imagenet_backbone(
            PoseHighResolutionNet(16, stage_modules=(1, 1, 1), stage_blocks=1), tmp_path / "hrnet_w8.pth"
        )


@pytest.fixture(scope="module")
def hrnet_run(tiny_config, tmp_path_factory):
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["model"] = {"num_joints": 17, **TINY}
    cfg["test"]["runtime"] = "auto"
    root = tmp_path_factory.mktemp("hrnet")
    (root / "hrnet.yaml").write_text(yaml.safe_dump(cfg))
    run = simplepose("train", root / "hrnet.yaml", "--out", root / "run", cwd=root)
    assert run.returncode == 0, run.stderr[-3000:]
    return root


def test_tiny_hrnet_trains_predicts_with_auto_exports_and_is_described(hrnet_run, synth_set, capfd):
    """`train` and `predict --runtime auto` of an HRNet, installed; its `export` and `info` in the
    test's process (installed: test_export.py, test_zoo.py; `info` of an HRNet config below)."""
    ckpt = hrnet_run / "run" / "last.pth"
    image = synth_set.out / "images" / "val" / "000000.jpg"
    run = simplepose(
        "predict",
        image,
        "--checkpoint",
        ckpt,
        "--detector",
        "none",
        "--runtime",
        "auto",
        "--out",
        hrnet_run / "p",
        cwd=hrnet_run,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((hrnet_run / "p" / "results.json").read_text())
    assert results and len(results[0]["keypoints"]) == 17 * 3
    made = simplepose_in_process(capfd, "export", "--checkpoint", ckpt, "--onnx", hrnet_run / "m.onnx", cwd=hrnet_run)
    assert made.returncode == 0, made.stderr[-3000:]
    assert (hrnet_run / "m.onnx").stat().st_size > 0
    info = simplepose_in_process(capfd, "info", ckpt, cwd=hrnet_run)
    assert info.returncode == 0 and "HRNet-W8 (modules 1/1/1, 1 blocks per branch)" in info.stdout, info.stderr


def test_info_of_the_shipped_configs_gives_the_published_size(tmp_path):
    """28.5M / 7.1 "GFLOPs" (W32 256x192) and 63.6M / 32.9 (W48 384x288), the HRNet README's
    figures: W32 through the installed `simplepose info`, W48 through the function it prints."""
    from pathlib import Path

    from simplepose.nets.complexity import describe_source

    configs = Path(__file__).resolve().parents[1] / "configs" / "coco"
    run = simplepose("info", configs / "hrnet_w32_256x192.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    for text, params, gflops in (
        (run.stdout, 28.5, 7.1),
        (describe_source(str(configs / "hrnet_w48_384x288.yaml")), 63.6, 32.9),
    ):
        lines = text.splitlines()
        assert any(line.startswith("parameters") and round(float(line.split()[1]), 1) == params for line in lines), text
        assert any(
            line.startswith("paper convention") and round(float(line.split()[2]), 1) == gflops for line in lines
        ), text


def test_mmpose_hrnet_file_through_the_zoo_and_checkpoint(synth_set, tmp_path, capfd):
    """An HRNet file in mmpose's layout (backbone.* / head.final_layer.*, legacy pickle, numpy
    meta), served on 127.0.0.1: `models download` converts it (in the test's process; installed
    in test_zoo.py), the installed `predict --model` and `predict --checkpoint` (the raw file)
    run it."""
    from zoo_helpers import FileServer, mmpose_file_bytes, sha256, write_rows

    model = PoseHighResolutionNet(8, stage_modules=(1, 1, 1), stage_blocks=1)
    _randomise_bn(model)
    data = mmpose_file_bytes(model.state_dict())
    name = f"/hrnet/hrnet_w8_coco_64x32-{sha256(data)[:8]}_20200708.pth"
    (tmp_path / "raw.pth").write_bytes(data)
    image = synth_set.out / "images" / "val" / "000000.jpg"
    with FileServer({name: data}) as server:
        rows = write_rows(
            tmp_path / "rows.yaml",
            [
                {
                    "name": "tiny-hrnet",
                    "urls": [server.url + name],
                    "sha256": sha256(data)[:8],
                    "format": "mmpose",
                    "input_size": [32, 64],
                    "decoder": "dark",
                }
            ],
        )
        env = {"SIMPLEPOSE_HOME": str(tmp_path / "cache"), "SIMPLEPOSE_MODELS": str(rows)}
        got = simplepose_in_process(capfd, "models", "download", "tiny-hrnet", cwd=tmp_path, env=env)
        assert got.returncode == 0, got.stderr[-2000:]
    converted = torch.load(got.stdout.strip().split(": ", 1)[1], weights_only=True)
    assert converted["config"]["model"]["backbone"] == "hrnet" and converted["config"]["model"]["hrnet_width"] == 8
    assert converted["config"]["test"]["decoder"] == "dark" and converted["config"]["data"]["color"] == "rgb"
    for how in (("--model", "tiny-hrnet", "--offline"), ("--checkpoint", tmp_path / "raw.pth")):
        run = simplepose(
            "predict",
            image,
            *how,
            "--detector",
            "none",
            "--runtime",
            "eager",
            "--out",
            tmp_path / how[0].strip("-"),
            cwd=tmp_path,
            env=env,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        results = json.loads((tmp_path / how[0].strip("-") / "results.json").read_text())
        assert len(results) == 1 and len(results[0]["keypoints"]) == 51


def test_an_official_hrnet_experiment_file_is_read(tmp_path):
    """The layout of experiments/coco/hrnet/w48_384x288_adam_lr1e-3.yaml (MODEL.NAME pose_hrnet,
    MODEL.EXTRA.STAGE2..4, COLOR_RGB, the *_PER_GPU batch keys); a stage we cannot build is named."""

    def stage(n, modules):
        return {
            "NUM_MODULES": modules,
            "NUM_BRANCHES": n,
            "BLOCK": "BASIC",
            "NUM_BLOCKS": [4] * n,
            "NUM_CHANNELS": [48 * 2**b for b in range(n)],
            "FUSE_METHOD": "SUM",
        }

    official = {
        "AUTO_RESUME": True,
        "GPUS": "(0,1,2,3)",
        "WORKERS": 24,
        "DATASET": {
            "COLOR_RGB": True,
            "DATASET": "coco",
            "ROOT": "data/coco/",
            "PROB_HALF_BODY": 0.3,
            "NUM_JOINTS_HALF_BODY": 8,
            "ROT_FACTOR": 45,
            "SCALE_FACTOR": 0.35,
        },
        "MODEL": {
            "NAME": "pose_hrnet",
            "NUM_JOINTS": 17,
            "PRETRAINED": "models/hrnet_w48-8ef0771d.pth",
            "TARGET_TYPE": "gaussian",
            "IMAGE_SIZE": [288, 384],
            "HEATMAP_SIZE": [72, 96],
            "SIGMA": 3,
            "EXTRA": {
                "PRETRAINED_LAYERS": ["conv1", "bn1", "stage4"],
                "FINAL_CONV_KERNEL": 1,
                "STAGE2": stage(2, 1),
                "STAGE3": stage(3, 4),
                "STAGE4": stage(4, 3),
            },
        },
        "TRAIN": {"BATCH_SIZE_PER_GPU": 24, "END_EPOCH": 210, "OPTIMIZER": "adam", "LR": 0.001, "LR_STEP": [170, 200]},
        "TEST": {"BATCH_SIZE_PER_GPU": 24, "FLIP_TEST": True, "SHIFT_HEATMAP": True},
    }
    path = tmp_path / "w48_384x288_adam_lr1e-3.yaml"
    path.write_text(yaml.safe_dump(official))
    cfg = load_config(path)
    assert (cfg.model.backbone, cfg.model.hrnet_width, cfg.model.hrnet_modules, cfg.model.hrnet_blocks) == (
        "hrnet",
        48,
        (1, 4, 3),
        4,
    )
    assert cfg.model.pretrained_layers == ("conv1", "bn1", "stage4") and cfg.data.color == "rgb"
    assert cfg.data.half_body and tuple(cfg.data.input_size) == (288, 384) and cfg.train.batch_size == 24
    official["MODEL"]["EXTRA"]["STAGE3"]["NUM_CHANNELS"] = [48, 96, 200]
    path.write_text(yaml.safe_dump(official))
    from simplepose.config import ConfigError

    with pytest.raises(ConfigError, match=r"MODEL.EXTRA.STAGE3: NUM_BRANCHES 3 with NUM_CHANNELS \[48, 96, 200\]"):
        load_config(path)


def test_a_small_hrnet_overfits_the_real_photos(real_data, tmp_path):
    """Eight steps on the 14 people of the real COCO photos: the loss falls (the engine as
    tests/test_engine.py drives it, with `model.backbone: hrnet`)."""
    from simplepose import engine
    from simplepose.config import config_from_dict

    cfg = config_from_dict(
        {
            "model": {"num_joints": 17, **TINY},
            "data": {
                "root": str(real_data / "coco"),
                "train_ann": "test_coco.json",
                "train_images": ".",
                "input_size": [64, 64],
                "heatmap_size": [16, 16],
                "workers": 0,
                "cache_images": True,
                "scale_factor": 0.0,
                "rotation_prob": 0.0,
                "flip": False,
            },
            "train": {"epochs": 8, "batch_size": 16, "val_every": 0, "log_every": 1, "lr": 3e-3},
        }
    )
    losses = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        engine.train(cfg, tmp_path, step_callback=lambda e, i, loss: losses.append(loss))
    finally:
        torch.set_num_threads(threads)
    assert len(losses) == 8 and losses[-1] < 0.75 * losses[0], losses
