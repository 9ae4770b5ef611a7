"""Training-step throughput: PoseResNet forward + backward + Adam step, samples per second.

    PYTHONPATH=src python benchmarks/train_step.py [--depth 50] [--batch 8] [--steps 5] [--threads N] [--amp bf16]

Synthetic inputs at 256x192 (the paper's COCO size) and random targets, so only the model
and optimizer are timed (see data_pipeline.py for the data side). Run it alone.
"""

from __future__ import annotations

import argparse
import time

import torch

from simplepose.nets.model import PoseResNet
from simplepose.training.engine import autocast
from simplepose.training.loss import JointsMSELoss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--amp", default="", help='"", "bf16" or (CUDA) "fp16"')
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = PoseResNet(depth=args.depth, num_joints=17).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type, enabled=args.amp == "fp16")
    criterion = JointsMSELoss()
    x = torch.randn(args.batch, 3, 256, 192, device=device)
    target = torch.rand(args.batch, 17, 64, 48, device=device)
    weight = torch.ones(args.batch, 17, 1, device=device)

    def step() -> None:
        with autocast(args.amp, device):
            loss = criterion(model(x), target, weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - t) / args.steps
    print(
        f"PoseResNet-{args.depth} 256x192 train step, batch {args.batch}, {device.type}, "
        f"{torch.get_num_threads()} threads, amp={args.amp or 'off'}: "
        f"{seconds:.2f} s/step, {args.batch / seconds:.1f} samples/s"
    )


if __name__ == "__main__":
    main()
