"""PoseHighResolutionNet: HRNet (Sun, Xiao, Liu, Wang, CVPR 2019) for heatmaps at 1/4 of the input.

The structure and every module and parameter name follow the authors' `lib/models/pose_hrnet.py`
(leoxiaobin/deep-high-resolution-net.pytorch), which mmpose's `HRNet` backbone keeps too, so
their state dicts load by key: a stem of two stride-2 3x3 convs (`conv1`/`bn1`, `conv2`/`bn2`),
`layer1` (four Bottlenecks, 64 -> 256 channels), then three times a transition and a stage
(`transition1`/`stage2` ... `transition3`/`stage4`) of parallel branches at 1/4, 1/8, 1/16
and 1/32 of the input, fused after every module, and `final_layer` on the 1/4 branch.

The blocks are `model.BasicBlock` and `model.Bottleneck` (pytorch style: the stride on the
3x3 conv), whose keys and arithmetic are the official ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import torch
from torch import nn

from .model import BN_MOMENTUM, BasicBlock, Bottleneck

#: The official `PRETRAINED_LAYERS`: the top-level modules an ImageNet file may initialise
#: (everything but `final_layer`, whose ImageNet namesake is a classifier of another shape).
PRETRAINED_LAYERS: tuple[str, ...] = (
    "conv1",
    "bn1",
    "conv2",
    "bn2",
    "layer1",
    "transition1",
    "stage2",
    "transition2",
    "stage3",
    "transition3",
    "stage4",
)
#: Modules per stage (stages 2, 3, 4) of every published HRNet-W32/W48.
STAGE_MODULES: tuple[int, int, int] = (1, 4, 3)


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, relu: bool, momentum: float = 0.1) -> list[nn.Module]:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(cout, momentum=momentum),
    ]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


class HighResolutionModule(nn.Module):
    """Parallel branches of BasicBlocks, then each output branch sums every input branch.

    Fusion from branch j into branch i: j > i (lower resolution) is a 1x1 conv + BN to i's
    channels, then nearest upsampling by 2**(j-i); j < i is i-j stride-2 3x3 convs + BN, ReLU
    after all but the last (the intermediate ones keep j's channels). With
    `multi_scale_output=False` only the highest-resolution output is made (`fuse_layers.0`).

    Input: a list of (N, C_b, H/2**b, W/2**b) tensors, one per branch -> a list of the same
    shapes (or of one, the first, when not multi-scale).
    """

    def __init__(self, channels: Sequence[int], blocks: int, multi_scale_output: bool = True) -> None:
        super().__init__()
        n = len(channels)
        self.num_branches = n
        self.branches = nn.ModuleList(nn.Sequential(*[BasicBlock(c, c) for _ in range(blocks)]) for c in channels)
        self.fuse_layers: nn.ModuleList | None = None
        if n > 1:
            rows: list[nn.Module] = []
            for i in range(n if multi_scale_output else 1):
                row: list[nn.Module | None] = []
                for j in range(n):
                    if j > i:
                        # BN here has the default momentum (0.1), as the official code leaves it.
                        row.append(
                            nn.Sequential(
                                nn.Conv2d(channels[j], channels[i], 1, 1, 0, bias=False),
                                nn.BatchNorm2d(channels[i]),
                                nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"),
                            )
                        )
                    elif j == i:
                        row.append(None)
                    else:
                        steps = [
                            nn.Sequential(
                                *_conv_bn(
                                    channels[j],
                                    channels[i] if k == i - j - 1 else channels[j],
                                    3,
                                    2,
                                    relu=k < i - j - 1,
                                )
                            )
                            for k in range(i - j)
                        ]
                        row.append(nn.Sequential(*steps))
                # None at j == i, as the official layout (and its state-dict names) has it: torch
                # takes None in a ModuleList, its stub does not say so.
                rows.append(nn.ModuleList(row))  # type: ignore[arg-type]  # None entries, as said above
            self.fuse_layers = nn.ModuleList(rows)
        self.relu = nn.ReLU(True)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        x = [branch(t) for branch, t in zip(self.branches, x)]
        if self.fuse_layers is None:
            return x
        out = []
        for i, row in enumerate(cast(Iterable[nn.ModuleList], self.fuse_layers)):
            # Summed in the official order (branch 0 first), so float rounding matches too.
            y = x[0] if i == 0 else row[0](x[0])
            for j in range(1, self.num_branches):
                y = y + (x[j] if i == j else row[j](x[j]))
            out.append(self.relu(y))
        return out


class PoseHighResolutionNet(nn.Module):
    """HRNet-W`width` with a 1x1 (or 3x3) conv to K heatmaps on its 1/4-resolution branch.

    Args:
        width: channels of the highest-resolution branch (32 or 48 published); the branches
            have width x 1, 2, 4, 8.
        num_joints: K, heatmap channels.
        final_conv_kernel: 1 (published) or 3 (padding 1), the official FINAL_CONV_KERNEL.
        stage_modules: HighResolutionModules in stages 2, 3, 4 (published: 1, 4, 3).
        stage_blocks: BasicBlocks per branch in every module (published: 4).

    Input (N, 3, H, W), H and W multiples of 32 -> heatmaps (N, K, H/4, W/4).
    """

    def __init__(
        self,
        width: int = 32,
        num_joints: int = 17,
        final_conv_kernel: int = 1,
        stage_modules: Sequence[int] = STAGE_MODULES,
        stage_blocks: int = 4,
    ) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"hrnet width must be a positive channel count, not {width}")
        if final_conv_kernel not in (1, 3):
            raise ValueError(f"final_conv_kernel must be 1 or 3, not {final_conv_kernel}")
        stage_modules = tuple(int(m) for m in stage_modules)
        if len(stage_modules) != 3 or min(stage_modules) < 1 or stage_blocks < 1:
            raise ValueError(
                f"hrnet stage_modules must be three counts >= 1 and stage_blocks >= 1, "
                f"not {stage_modules} and {stage_blocks}"
            )
        self.width, self.num_joints, self.final_conv_kernel = width, num_joints, final_conv_kernel
        self.stage_modules, self.stage_blocks = stage_modules, stage_blocks

        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        down = nn.Sequential(nn.Conv2d(64, 256, 1, 1, bias=False), nn.BatchNorm2d(256, momentum=BN_MOMENTUM))
        self.layer1 = nn.Sequential(Bottleneck(64, 64, 1, down), *[Bottleneck(256, 64) for _ in range(3)])

        previous: list[int] = [256]
        for stage, modules in enumerate(stage_modules, start=2):
            channels = [width * 2**b for b in range(stage)]
            setattr(self, f"transition{stage - 1}", self._transition(previous, channels))
            last = stage == 4  # the last module of the last stage makes only the 1/4 output
            setattr(
                self,
                f"stage{stage}",
                nn.Sequential(
                    *[
                        HighResolutionModule(channels, stage_blocks, multi_scale_output=not (last and m == modules - 1))
                        for m in range(modules)
                    ]
                ),
            )
            previous = channels
        self.final_layer = nn.Conv2d(width, num_joints, final_conv_kernel, 1, final_conv_kernel // 2)
        self.init_weights()

    @staticmethod
    def _transition(previous: Sequence[int], current: Sequence[int]) -> nn.ModuleList:
        """Existing branches: a 3x3 conv where the channel count changes (else None); each new
        branch: stride-2 3x3 convs from the lowest-resolution previous branch."""
        layers: list[nn.Module | None] = []
        for i, cout in enumerate(current):
            if i < len(previous):
                layers.append(
                    nn.Sequential(*_conv_bn(previous[i], cout, 3, 1, relu=True)) if previous[i] != cout else None
                )
            else:
                n = i + 1 - len(previous)
                cin = previous[-1]
                layers.append(
                    nn.Sequential(
                        *[nn.Sequential(*_conv_bn(cin, cout if k == n - 1 else cin, 3, 2, relu=True)) for k in range(n)]
                    )
                )
        return nn.ModuleList(layers)  # type: ignore[arg-type]  # None where a branch passes through, as above

    def init_weights(self) -> None:
        """The official init: every conv N(0, 0.001), biases 0, BN weight 1 and bias 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def backbone(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, width, H/4, W/4): the highest-resolution branch after stage 4."""
        x = self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))
        ys = [self.layer1(x)]
        for stage in (2, 3, 4):
            transition = getattr(self, f"transition{stage - 1}")
            # As the official forward: a branch with a transition takes the last (lowest-
            # resolution) output of the stage before; one without passes its own through.
            xs = [ys[i] if t is None else t(ys[-1]) for i, t in enumerate(transition)]
            ys = getattr(self, f"stage{stage}")(xs)
        return ys[0]

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """(N, width, H/4, W/4) -> (N, K, H/4, W/4) heatmaps."""
        return self.final_layer(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def architecture(self) -> dict[str, object]:
        """Keyword arguments that rebuild this network with `nets.build.build_network`."""
        return dict(
            backbone="hrnet",
            width=self.width,
            num_joints=self.num_joints,
            final_conv_kernel=self.final_conv_kernel,
            stage_modules=list(self.stage_modules),
            stage_blocks=self.stage_blocks,
        )
