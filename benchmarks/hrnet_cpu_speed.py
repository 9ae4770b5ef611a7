"""HRNet-W32 against ResNet-50 on the CPU: images per second of fp32 forward passes.

    PYTHONPATH=src python benchmarks/hrnet_cpu_speed.py [--seconds 6] [--threads 2] [--batch 8]

Both networks at 256x192 (17 joints), eager and BatchNorm-folded (`runtimes.fold`), each timed
for `--seconds` after one warm-up pass; prints img/s per network and path, and HRNet's speed
relative to ResNet-50's in the same run (the figure to trust when other jobs share the cores).
"""

from __future__ import annotations

import argparse
import time

import torch

from simplepose.nets.build import build_network
from simplepose.runtimes.fold import fold_batchnorm


def images_per_second(net: torch.nn.Module, x: torch.Tensor, seconds: float) -> float:
    with torch.no_grad():
        net(x)  # warm-up: allocations, oneDNN primitive choice
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            net(x)
            n += 1
    return n * x.shape[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(args.batch, 3, 256, 192)
    rates = {}
    for name, kwargs in (("ResNet-50", dict(depth=50)), ("HRNet-W32", dict(backbone="hrnet", width=32))):
        model = build_network(num_joints=17, **kwargs).eval()
        for path, net in (("eager", model), ("folded", fold_batchnorm(model))):
            rates[name, path] = images_per_second(net, x, args.seconds)
            print(f"{name:<10} {path:<7} {rates[name, path]:6.1f} img/s", flush=True)
    for path in ("eager", "folded"):
        print(f"HRNet-W32 / ResNet-50 ({path}): {rates['HRNet-W32', path] / rates['ResNet-50', path]:.2f}")


if __name__ == "__main__":
    main()
