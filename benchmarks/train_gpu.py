"""GPU training throughput of a paper config with the real loader: the model-only step (the
ceiling), the loader alone, and the two together with where each step's time goes.

    PYTHONPATH=src python benchmarks/train_gpu.py --config configs/coco/res50_256x192.yaml \\
        --data data/synthetic_large [--batches 32 64 128] [--workers 15] [--amp bf16]
    # what keeps the launching thread fed (uint8 crops, the last batch size):
    PYTHONPATH=src python benchmarks/train_gpu.py --data data/synthetic_large --batches 128 \\
        --variant 15:0:0 --variant 15:10:0 --variant 15:0:1 --variant 12:0:0 [--compile]

`--data` is a COCO-format folder (annotations/train.json, images/train, as `simplepose synth`
writes). The loader is the training loader of `simplepose train` (the config's full
augmentation, JPEG decode in the workers, pinned memory), measured twice: handing over uint8
crops normalised on the GPU (what `simplepose train` does on CUDA) and float crops normalised
in the workers (what it did before); the step is the engine's (Adam, autocast, channels-last,
the loss read back every step as the engine does). A `--variant WORKERS:NICE:LAG` runs the
uint8 loader with that many workers at that niceness (`os.nice` in each worker, so that the thread
launching the step's kernels wins the CPU over them) and reads each step's loss back LAG steps
later (1: the host queues the next step while the GPU runs this one). The
projection multiplies out the paper's schedule: 140 epochs of COCO train2017's 149,813 people.
Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader

from simplepose.config import load_config
from simplepose.core.transforms import Normalize
from simplepose.data.build import build_train_dataset
from simplepose.data.dataset import worker_init
from simplepose.nets.model import PoseResNet
from simplepose.training.engine import network_input
from simplepose.training.loss import JointsMSELoss
from simplepose.training.optim import autocast

COCO_TRAIN_PEOPLE = 149_813  # person instances with keypoints in COCO train2017 (the paper's set)
PAPER_EPOCHS = 140


class Step:
    """One engine-like optimizer step of `model` on a device batch; `__call__` returns the loss."""

    def __init__(
        self,
        model: torch.nn.Module,
        amp: str,
        channels_last: bool,
        device: torch.device,
        normalize: Normalize,
        compiled: bool = False,
    ) -> None:
        self.model = torch.compile(model) if compiled else model
        self.amp, self.channels_last, self.device = amp, channels_last, device
        self.normalize = normalize
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.criterion = JointsMSELoss()

    def __call__(
        self, images: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, read: bool = True
    ) -> float | torch.Tensor:
        images = network_input(images, self.device, self.normalize, self.channels_last)
        with autocast(self.amp, self.device):
            loss = self.criterion(self.model(images), target, weight)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        # The engine reads the loss every step (non-finite check, logging): a synchronisation.
        return float(loss.detach()) if read else loss.detach()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_model(depth: int, joints: int, channels_last: bool, device: torch.device) -> torch.nn.Module:
    model = PoseResNet(depth=depth, num_joints=joints).to(device).train()
    return model.to(memory_format=torch.channels_last) if channels_last else model


def model_only(step: Step, batch: int, size: tuple, heat: tuple, joints: int, steps: int) -> float:
    """Samples/s of the step alone on random device tensors (no loading): the ceiling."""
    dev = step.device
    x = torch.randn(batch, 3, size[1], size[0], device=dev)
    t, w = torch.rand(batch, joints, heat[1], heat[0], device=dev), torch.ones(batch, joints, 1, device=dev)
    for _ in range(5):
        step(x, t, w)
    sync(dev)
    start = time.perf_counter()
    for _ in range(steps):
        step(x, t, w)
    sync(dev)
    return batch * steps / (time.perf_counter() - start)


def batches(loader: DataLoader) -> Iterator[dict[str, torch.Tensor]]:
    while True:
        yield from loader


def loader_alone(loader: DataLoader, steps: int) -> float:
    """Samples/s of the loader with nothing consuming but a pinned-memory handover."""
    it = batches(loader)
    for _ in range(2 * max(loader.num_workers, 1)):  # the workers' first batches fill the queue
        next(it)
    start, n = time.perf_counter(), 0
    for _ in range(steps):
        n += next(it)["image"].shape[0]
    return n / (time.perf_counter() - start)


def together_lagged(step: Step, loader: DataLoader, steps: int, lag: int) -> float:
    """Samples/s of loader + step when each step's loss is read back `lag` steps later (no
    per-part times: timing the parts would synchronise every step)."""
    dev, it = step.device, batches(loader)
    for _ in range(2 * max(loader.num_workers, 1)):
        b = next(it)
        step(b["image"], b["target"].to(dev), b["target_weight"].to(dev))
    pending: list = []
    n, start = 0, time.perf_counter()
    for _ in range(steps):
        b = next(it)
        pending.append(
            step(
                b["image"],
                b["target"].to(dev, non_blocking=True),
                b["target_weight"].to(dev, non_blocking=True),
                read=False,
            )
        )
        if len(pending) > lag:
            float(pending.pop(0))
        n += b["image"].shape[0]
    for loss in pending:
        float(loss)
    return n / (time.perf_counter() - start)


def variants(args: argparse.Namespace, step: Step, dataset, ceiling: float) -> None:
    """Each `--variant WORKERS:NICE:LAG` at the last batch size, uint8 crops, on `step`."""
    b = args.batches[-1]
    print(
        f"variants at b{b}, uint8 crops, {args.amp} channels-last{' compiled' if args.compile else ''} "
        f"(ceiling {ceiling:.0f}/s):",
        flush=True,
    )
    for v in args.variant:
        workers, nice, lag = (int(p) for p in v.split(":"))
        loader = DataLoader(
            dataset,
            batch_size=b,
            shuffle=True,
            num_workers=workers,
            pin_memory=True,
            worker_init_fn=functools.partial(worker_init, nice=nice),
            drop_last=True,
            persistent_workers=True,
        )
        start = time.perf_counter()
        rate = (
            together_lagged(step, loader, args.steps, lag)
            if lag
            else together(step, loader, args.steps)["samples_per_s"]
        )
        print(
            f"  {workers} workers, nice {nice}, loss read {lag} steps later: {rate:.0f}/s = {rate / ceiling:.2f} "
            f"of the ceiling ({time.perf_counter() - start:.0f} s with warm-up)",
            flush=True,
        )
        del loader


def together(step: Step, loader: DataLoader, steps: int) -> dict[str, float]:
    """Loader + host-to-device copy + step, as `simplepose train` runs them; seconds per part."""
    dev, it = step.device, batches(loader)
    for _ in range(2 * max(loader.num_workers, 1)):
        b = next(it)
        step(b["image"], b["target"].to(dev), b["target_weight"].to(dev))
    wait = copy = compute = 0.0
    n, start = 0, time.perf_counter()
    for _ in range(steps):
        t0 = time.perf_counter()
        b = next(it)
        t1 = time.perf_counter()
        images = b["image"].to(dev, non_blocking=True)  # network_input leaves it there
        target, weight = b["target"].to(dev, non_blocking=True), b["target_weight"].to(dev, non_blocking=True)
        sync(dev)
        t2 = time.perf_counter()
        step(images, target, weight)  # reads the loss back: synchronised
        t3 = time.perf_counter()
        wait, copy, compute, n = wait + t1 - t0, copy + t2 - t1, compute + t3 - t2, n + images.shape[0]
    total = time.perf_counter() - start
    return {"samples_per_s": n / total, "wait": wait / total, "copy": copy / total, "step": compute / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/coco/res50_256x192.yaml")
    parser.add_argument("--data", required=True, help="COCO-format folder: annotations/train.json, images/train")
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--amp", default="bf16")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--device", default="cuda", help="cuda (cpu only to try the script)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="WORKERS:NICE:LAG",
        help="only these loader variants at the last batch size (see above); repeatable",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (variants only)")
    args = parser.parse_args()
    dev = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    cfg = load_config(
        args.config,
        [f"data.root={args.data}", "data.train_ann=annotations/train.json", "data.train_images=images/train"],
    )
    size, heat, depth = tuple(cfg.data.input_size), tuple(cfg.data.heatmap_size), cfg.model.depth
    skeleton, dataset = build_train_dataset(cfg.data, raw_images=True)
    _, float_dataset = build_train_dataset(cfg.data)
    joints = skeleton.num_joints
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(
        f"{name}, torch {torch.__version__}, {os.cpu_count()} CPU cores; "
        f"R{depth} {size[0]}x{size[1]} (w x h), {len(dataset)} training people, {args.workers} loader workers",
        flush=True,
    )

    if args.variant:
        step = Step(make_model(depth, joints, True, dev), args.amp, True, dev, dataset.normalize, args.compile)
        variants(args, step, dataset, model_only(step, args.batches[-1], size, heat, joints, args.steps))
        return
    print("model-only step (random device tensors), samples/s:", flush=True)
    ceiling = {}
    for amp, cl in ((args.amp, True), ("", False)):
        step = Step(make_model(depth, joints, cl, dev), amp, cl, dev, dataset.normalize)
        for b in args.batches if amp else args.batches[1:2]:
            rate = model_only(step, b, size, heat, joints, args.steps)
            if amp:
                ceiling[b] = rate
            print(f"  {amp or 'fp32'}{' channels-last' if cl else ''} b{b}: {rate:.0f}", flush=True)
        del step
        if dev.type == "cuda":
            torch.cuda.empty_cache()

    step = Step(make_model(depth, joints, True, dev), args.amp, True, dev, dataset.normalize)
    print(f"real loader ({args.workers} workers, pinned) and {args.amp} channels-last step:", flush=True)
    for b in args.batches:
        for name, data in (
            ("uint8 crops, normalised on the device", dataset),
            ("float crops, normalised in the workers", float_dataset),
        ):
            loader = DataLoader(
                data,
                batch_size=b,
                shuffle=True,
                num_workers=args.workers,
                pin_memory=True,
                worker_init_fn=worker_init,
                drop_last=True,
                persistent_workers=True,
            )
            alone = loader_alone(loader, args.steps)
            r = together(step, loader, args.steps)
            hours = PAPER_EPOCHS * COCO_TRAIN_PEOPLE / r["samples_per_s"] / 3600
            print(
                f"  b{b}, {name}: loader alone {alone:.0f}/s ({alone / args.workers:.0f} per worker); with the "
                f"step {r['samples_per_s']:.0f}/s = {r['samples_per_s'] / ceiling[b]:.2f} of the ceiling "
                f"{ceiling[b]:.0f}; time: waiting for the loader {r['wait']:.0%}, host-to-device {r['copy']:.0%}, "
                f"step {r['step']:.0%}; paper schedule (140 x {COCO_TRAIN_PEOPLE:,}) {hours:.1f} h",
                flush=True,
            )
            del loader


if __name__ == "__main__":
    main()
