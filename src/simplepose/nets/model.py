"""PoseResNet: a ResNet backbone, a few deconvolution layers and a 1x1 conv to heatmaps.

Module and parameter names match the paper's code (`conv1`, `bn1`, `layer1..4`,
`deconv_layers`, `final_layer`), so its checkpoints load by key; the backbone's names also
match torchvision's ResNet, so ImageNet weight files in that format load into it directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

BN_MOMENTUM = 0.1

#: Blocks per stage for each supported depth, and whether it uses Bottleneck blocks.
RESNET_SPECS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}

#: ConvTranspose2d (padding, output_padding) per kernel size, so each layer doubles the size.
DECONV_PADDING: dict[int, tuple[int, int]] = {4: (1, 0), 3: (1, 1), 2: (0, 0)}


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        dilation: int = 1,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1. "pytorch" style strides the 3x3 conv, "caffe" style the first 1x1."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        dilation: int = 1,
    ) -> None:
        super().__init__()
        s1, s3 = (stride, 1) if style == "caffe" else (1, stride)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, s1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(planes, planes, 3, s3, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class PoseResNet(nn.Module):
    """The Simple Baselines network.

    Args:
        depth: ResNet depth, one of 18, 34, 50, 101, 152.
        num_joints: K, heatmap channels.
        num_deconv_layers, deconv_filters, deconv_kernels: the head's transposed convolutions
            (paper: 3 layers of 256 filters, kernel 4); each doubles the spatial size.
        final_conv_kernel: 1 (paper) or 3.
        style: "pytorch" or "caffe" (where a Bottleneck puts its stride). Both styles have the
            same keys and shapes, so a checkpoint cannot tell its style: project checkpoints
            store it in their config, other files take it from the caller (default "pytorch").
            BasicBlock depths (18, 34) have no 1x1 conv and ignore it; the official code would
            swap in its caffe Bottleneck even there, an untrained combination not reproduced.
        width: channels of the stem and the first stage (64 = the standard ResNet; the stages
            have width x 1, 2, 4, 8, times 4 for Bottlenecks). Not in the paper: a narrower
            net (32) trains about 2.5x faster on a CPU, which the synthetic demo uses.
            ImageNet weights exist for 64 only.
        output_stride: 32 (the paper) or 16: the last stage keeps its input's resolution
            (stride 1, its 3x3 convolutions dilated 2 so their field of view is unchanged). Not
            in the paper: at the demo's 96x64 input a stride-32 backbone leaves a 3x2 grid for
            the head to place 17 joints from, and a network trained from scratch sits on the
            mean pose for most of a short run; 6x4 lets it learn to localise early. With one
            deconvolution layer fewer the heatmaps stay 1/4 of the input. The same weights
            (no shape changes), so a checkpoint's config must say which stride it was trained at.

    Input (N, 3, H, W) -> heatmaps (N, K, H / output_stride * 2**num_deconv_layers, ...): 1/4 of
    the input for the paper's 3 layers at stride 32.
    """

    def __init__(
        self,
        depth: int = 50,
        num_joints: int = 17,
        num_deconv_layers: int = 3,
        deconv_filters: int | Sequence[int] = 256,
        deconv_kernels: int | Sequence[int] = 4,
        final_conv_kernel: int = 1,
        style: str = "pytorch",
        width: int = 64,
        output_stride: int = 32,
    ) -> None:
        super().__init__()
        if depth not in RESNET_SPECS:
            raise ValueError(f"unsupported ResNet depth {depth}; choose one of {sorted(RESNET_SPECS)}")
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"style must be 'pytorch' or 'caffe', not {style!r}")
        if final_conv_kernel not in (1, 3):
            raise ValueError(f"final_conv_kernel must be 1 or 3, not {final_conv_kernel}")
        if output_stride not in (16, 32):
            raise ValueError(f"output_stride must be 32 or 16, not {output_stride}")
        if width < 1:
            raise ValueError(f"width must be a positive channel count, not {width}")
        filters = _per_layer(deconv_filters, num_deconv_layers, "deconv_filters")
        kernels = _per_layer(deconv_kernels, num_deconv_layers, "deconv_kernels")
        for k in kernels:
            if k not in DECONV_PADDING:
                raise ValueError(f"deconv kernel must be one of {sorted(DECONV_PADDING)}, not {k}")

        self.depth, self.num_joints, self.style, self.width = depth, num_joints, style, width
        self.output_stride = output_stride
        self.head_config = dict(
            num_deconv_layers=num_deconv_layers,
            deconv_filters=list(filters),
            deconv_kernels=list(kernels),
            final_conv_kernel=final_conv_kernel,
        )
        kind, blocks = RESNET_SPECS[depth]
        block: type[BasicBlock | Bottleneck] = BasicBlock if kind == "basic" else Bottleneck

        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, width, blocks[0], 1)
        self.layer2 = self._make_layer(block, 2 * width, blocks[1], 2)
        self.layer3 = self._make_layer(block, 4 * width, blocks[2], 2)
        if output_stride == 32:
            self.layer4 = self._make_layer(block, 8 * width, blocks[3], 2)
        else:  # unstrided; dilation 2 keeps each 3x3 conv's field of view in input pixels
            self.layer4 = self._make_layer(block, 8 * width, blocks[3], 1, dilation=2)

        layers: list[nn.Module] = []
        for f, k in zip(filters, kernels):
            pad, out_pad = DECONV_PADDING[k]
            layers += [
                nn.ConvTranspose2d(self.inplanes, f, k, 2, pad, out_pad, bias=False),
                nn.BatchNorm2d(f, momentum=BN_MOMENTUM),
                nn.ReLU(inplace=True),
            ]
            self.inplanes = f
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(self.inplanes, num_joints, final_conv_kernel, 1, final_conv_kernel // 2)
        self.init_weights()

    def _make_layer(
        self, block: type[BasicBlock | Bottleneck], planes: int, count: int, stride: int, dilation: int = 1
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion, momentum=BN_MOMENTUM),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.style, dilation)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, 1, None, self.style, dilation) for _ in range(1, count)]
        return nn.Sequential(*layers)

    def init_weights(self) -> None:
        """The paper's head init (N(0, 0.001), BN 1/0, bias 0); He init for the backbone.

        The backbone init only matters when training without ImageNet weights (the paper's
        code always loads them); kaiming-normal is what torchvision's ResNet uses.
        """
        for name, m in self.named_modules():
            in_head = name.startswith(("deconv_layers", "final_layer"))
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                if in_head:
                    nn.init.normal_(m.weight, std=0.001)
                else:
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def backbone(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, C, H/32, W/32) features."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """(N, C, H/32, W/32) -> (N, K, h, w) heatmaps."""
        return self.final_layer(self.deconv_layers(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def architecture(self) -> dict:
        """Keyword arguments that rebuild this architecture: `PoseResNet(**m.architecture())`."""
        return dict(
            depth=self.depth,
            num_joints=self.num_joints,
            style=self.style,
            width=self.width,
            output_stride=self.output_stride,
            **self.head_config,
        )


def _per_layer(value: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{name} has {len(value)} entries for {n} deconv layers")
    return value
