"""PoseResNet architecture, initialisation, key names, and the parameter / multiply-add counts."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from simplepose.nets.complexity import count_cost
from simplepose.nets.model import RESNET_SPECS, PoseResNet

DEPTHS = sorted(RESNET_SPECS)

#: torchvision's published ResNet parameter counts (ImageNet classifiers), and their fc size.
TORCHVISION_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}


def meta_model(**kwargs) -> PoseResNet:
    with torch.device("meta"):
        return PoseResNet(**kwargs)


@functools.cache
def meta_pose(depth: int, style: str = "pytorch") -> PoseResNet:
    """A shared meta-device model (shapes only, nothing to mutate) of the paper's head, K=17."""
    return meta_model(depth=depth, num_joints=17, style=style).eval()


@pytest.mark.parametrize("depth", DEPTHS)
def test_output_shapes_for_every_depth_and_input_size(depth):
    # Shapes propagate through the same modules on the meta device, without the arithmetic.
    model = meta_pose(depth)
    for (h, w), (hh, hw) in {(256, 192): (64, 48), (384, 288): (96, 72), (256, 256): (64, 64)}.items():
        out = model(torch.empty(2, 3, h, w, device="meta"))
        assert tuple(out.shape) == (2, 17, hh, hw), (depth, h, w)


# One depth per block type; deeper nets repeat the same blocks (and cost seconds).
@pytest.mark.parametrize("depth, style", [(18, "pytorch"), (50, "pytorch")])
def test_forward_is_finite_and_every_parameter_gets_a_gradient(depth, style):
    torch.manual_seed(depth)
    model = PoseResNet(depth=depth, num_joints=5, style=style).train()
    x = torch.randn(2, 3, 64, 64)  # a multiple of 32, as the paper's sizes are
    out = model(x)
    assert out.shape == (2, 5, 16, 16)
    assert torch.isfinite(out).all()
    loss = (out - torch.rand_like(out)).pow(2).mean()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("depth, paper_m", [(50, 34.0), (101, 53.0), (152, 68.6)])
def test_parameter_counts_match_the_paper(depth, paper_m):
    n = sum(p.numel() for p in meta_pose(depth).parameters())
    assert abs(n / 1e6 - paper_m) < 0.05


@pytest.mark.parametrize("depth", DEPTHS)
def test_backbone_parameters_equal_torchvision_resnet_without_classifier(depth):
    cost = count_cost(meta_pose(depth), (64, 48))
    width = 512 * (4 if RESNET_SPECS[depth][0] == "bottleneck" else 1)
    assert cost.params["backbone"] == TORCHVISION_PARAMS[depth] - (width * 1000 + 1000)


def official_r50_keys() -> list:
    """The state-dict keys of the official pose_resnet.py for ResNet-50, written from its layout:
    conv1/bn1, layer1-4 of Bottlenecks (conv1-3, bn1-3, downsample.0/.1 in the first block of each
    stage), deconv_layers as Sequential(ConvT, BN, ReLU) x 3 (indices 0,1 / 3,4 / 6,7), final_layer."""
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    keys = ["conv1.weight"] + [f"bn1.{p}" for p in bn]
    for stage, count in enumerate((3, 4, 6, 3), start=1):
        for b in range(count):
            for i in (1, 2, 3):
                keys += [f"layer{stage}.{b}.conv{i}.weight"] + [f"layer{stage}.{b}.bn{i}.{p}" for p in bn]
            if b == 0:
                keys += [f"layer{stage}.0.downsample.0.weight"] + [f"layer{stage}.0.downsample.1.{p}" for p in bn]
    for i in (0, 3, 6):
        keys += [f"deconv_layers.{i}.weight"] + [f"deconv_layers.{i + 1}.{p}" for p in bn]
    return keys + ["final_layer.weight", "final_layer.bias"]


def test_key_names_equal_the_official_layout():
    keys = list(meta_pose(50).state_dict())
    assert keys == official_r50_keys()
    assert len(keys) == 338  # what the official model's state_dict() holds on PyTorch >= 0.4.1


def test_head_layers_and_initialisation_follow_the_paper():
    torch.manual_seed(0)
    model = PoseResNet(depth=18, num_joints=17)
    deconvs = [m for m in model.deconv_layers if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 3
    for m in deconvs:
        assert m.bias is None and m.kernel_size == (4, 4) and m.stride == (2, 2)
        assert (m.padding, m.output_padding) == ((1, 1), (0, 0))
        assert m.out_channels == 256
        assert abs(m.weight.std().item() - 0.001) < 5e-5 and abs(m.weight.mean().item()) < 5e-5
    final = model.final_layer
    assert final.kernel_size == (1, 1) and final.out_channels == 17
    assert abs(final.weight.std().item() - 0.001) < 1e-4
    assert torch.equal(final.bias, torch.zeros(17))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight))
            assert torch.equal(m.bias, torch.zeros_like(m.bias))


@pytest.mark.parametrize("kernel", [2, 3, 4])
def test_each_deconv_kernel_doubles_the_size(kernel):
    model = meta_model(
        depth=18, num_joints=3, num_deconv_layers=2, deconv_filters=[64, 32], deconv_kernels=kernel, final_conv_kernel=3
    )
    out = model(torch.empty(1, 3, 256, 192, device="meta"))
    assert tuple(out.shape) == (1, 3, 32, 24)


def test_caffe_style_moves_the_stride_to_the_first_1x1_conv():
    pt, cf = meta_pose(50, "pytorch"), meta_pose(50, "caffe")
    for stage in (pt.layer2[0], cf.layer2[0]):
        assert stage.downsample[0].stride == (2, 2)
    assert (pt.layer2[0].conv1.stride, pt.layer2[0].conv2.stride) == ((1, 1), (2, 2))
    assert (cf.layer2[0].conv1.stride, cf.layer2[0].conv2.stride) == ((2, 2), (1, 1))
    # Same keys and shapes: only where the stride sits differs.
    assert {k: v.shape for k, v in pt.state_dict().items()} == {k: v.shape for k, v in cf.state_dict().items()}


def test_true_multiply_adds_of_r50_at_256x192():
    cost = count_cost(meta_pose(50), (256, 192))
    # Head by hand: a transposed conv multiplies every input pixel by its whole k*k*Cout kernel.
    deconv = sum(h * w * 16 * cin * 256 for h, w, cin in ((8, 6, 2048), (16, 12, 256), (32, 24, 256)))
    assert cost.macs["deconv_layers"] == deconv
    assert cost.macs["final_layer"] == 64 * 48 * 256 * 17
    assert round(cost.macs["deconv_layers"] / 1e9, 2) == 1.41
    assert round(cost.total_macs / 1e9, 2) == 5.43
    assert cost.output_shape == (1, 17, 64, 48)


def test_paper_convention_charges_deconvs_per_output_pixel():
    cost = count_cost(meta_pose(50), (256, 192))
    backbone_and_final = cost.macs["backbone"] + cost.macs["final_layer"]
    # stride 2: four times as many output pixels as input pixels.
    assert cost.paper_macs == backbone_and_final + 4 * cost.macs["deconv_layers"]


@pytest.mark.parametrize(
    "depth, size, paper",
    [
        (50, (256, 192), 8.9),
        (101, (256, 192), 12.4),
        (152, (256, 192), 15.7),
        (50, (384, 288), 20.0),
        (101, (384, 288), 27.9),
        (152, (384, 288), 35.3),
    ],
)
def test_paper_convention_is_close_to_the_papers_table(depth, size, paper):
    # The table's figures are not all reproducible: R50->R101 and R101->R152 both add 17 blocks
    # of identical cost, yet the table's steps are 3.5 and 3.3. We land within 1.2% of each.
    got = count_cost(meta_pose(depth), size).paper_gflops
    assert abs(got - paper) / paper < 0.012


def test_count_cost_leaves_the_model_alone():
    model = PoseResNet(depth=18, num_joints=3)
    before = model.conv1.weight.clone()
    count_cost(model, (128, 96))
    assert model.conv1.weight.device.type == "cpu" and torch.equal(model.conv1.weight, before)


def test_width_scales_every_stage_and_keeps_the_output_shape():
    narrow = meta_model(depth=18, num_joints=17, width=32, deconv_filters=64)
    assert narrow.conv1.out_channels == 32
    assert [narrow.layer1[0].conv1.out_channels, narrow.layer4[0].conv1.out_channels] == [32, 256]
    assert narrow.deconv_layers[0].in_channels == 256
    out = narrow(torch.empty(1, 3, 96, 64, device="meta"))
    assert tuple(out.shape) == (1, 17, 24, 16)
    # Convolution weights scale with width^2: half the width, about a quarter of the backbone.
    full = count_cost(meta_model(depth=18, deconv_filters=64), (96, 64)).params["backbone"]
    assert count_cost(narrow, (96, 64)).params["backbone"] == pytest.approx(full / 4, rel=0.01)
    with pytest.raises(ValueError, match="width"):
        meta_model(depth=18, width=0)


def test_output_stride_16_unstrides_the_last_stage_with_the_same_weights(tmp_path):
    """The demo's option: layer4 at stride 1 (3x3 convs dilated 2), one deconv fewer, heatmaps 1/4."""
    from simplepose.config import build_model_kwargs, config_from_dict
    from simplepose.nets.checkpoint import save_checkpoint
    from simplepose.nets.weights import load_checkpoint

    plain = PoseResNet(depth=18, width=8, deconv_filters=16, num_deconv_layers=3)
    os16 = PoseResNet(depth=18, width=8, deconv_filters=16, num_deconv_layers=2, output_stride=16)
    assert tuple(os16.backbone(torch.zeros(1, 3, 96, 64)).shape[-2:]) == (6, 4)
    assert tuple(plain.backbone(torch.zeros(1, 3, 96, 64)).shape[-2:]) == (3, 2)
    assert tuple(os16(torch.zeros(1, 3, 96, 64)).shape) == (1, 17, 24, 16)
    conv = os16.layer4[0].conv1
    assert (conv.stride, conv.dilation, conv.padding) == ((1, 1), (2, 2), (2, 2))
    assert os16.layer4[0].downsample[0].stride == (1, 1) and os16.layer3[0].conv1.dilation == (1, 1)
    backbone = {k: v.shape for k, v in os16.state_dict().items() if not k.startswith("deconv_layers.4")}
    assert all(plain.state_dict()[k].shape == s for k, s in backbone.items())  # the same weights fit
    with pytest.raises(ValueError, match="output_stride"):
        PoseResNet(depth=18, output_stride=8)
    # A checkpoint's config says the stride: it loads back as the model that was saved.
    cfg = config_from_dict(
        {"model": {"depth": 18, "width": 8, "deconv_filters": 16, "num_deconv_layers": 2, "output_stride": 16}}
    )
    model = PoseResNet(**build_model_kwargs(cfg.model))
    save_checkpoint(tmp_path / "m.pth", model, cfg)
    loaded = load_checkpoint(tmp_path / "m.pth").model
    assert loaded.architecture()["output_stride"] == 16
    x = torch.randn(2, 3, 96, 64)
    assert torch.equal(loaded.eval()(x), model.eval()(x))
