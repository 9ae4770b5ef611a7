"""Training figures: one optimizer step per training set-up (no data loading), and the data
pipeline's samples/s per DataLoader worker count."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Callable

import torch

from ..config import Config, build_model_kwargs
from ..core.hardware import cpu_features
from ..nets.build import build_network
from ..runtimes import RuntimeUnavailable
from ..runtimes.torch_paths import require_compiler
from ..training.optim import autocast, build_loss
from .report import Section, ratio, times
from .timing import interleaved_rates

#: Training set-ups: name -> (channels_last, amp, torch.compile).
SETUPS: dict[str, tuple[bool, str, bool]] = {
    "eager fp32": (False, "", False),
    "channels-last fp32": (True, "", False),
    "channels-last + bf16 autocast": (True, "bf16", False),
    "channels-last + torch.compile fp32": (True, "", True),
}


def make_step(cfg: Config, channels_last: bool, amp: str, compiled: bool, batch: int) -> Callable[[], float]:
    """A closure running one training step (forward, loss, backward, Adam) on a fixed batch."""
    torch.manual_seed(0)
    model = build_network(**build_model_kwargs(cfg.model)).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's Module.to overloads leave out its documented memory_format
    net = torch.compile(model) if compiled else model
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    criterion = build_loss(cfg.train)
    (w, h), (hw, hh) = cfg.data.input_size, cfg.data.heatmap_size
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, 3, h, w, generator=g)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    target = torch.rand(batch, cfg.model.num_joints, hh, hw, generator=g)
    weight = torch.ones(batch, cfg.model.num_joints, 1)
    device = torch.device("cpu")

    def step() -> float:
        with autocast(amp, device):
            loss = criterion(net(x), target, weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def training_speed(
    cfg: Config, model_name: str, with_compile: bool, rounds: int, seconds: float, batch: int
) -> Section:
    """Samples/s of a training step for each set-up at `batch`, interleaved; ratios to eager fp32."""
    steps, warmups, notes = {}, {}, []
    for name, (cl, amp, compiled) in SETUPS.items():
        if compiled and not with_compile:
            notes.append(f"{name}: skipped (--quick or --no-compile)")
            continue
        if compiled:
            try:
                require_compiler("cpu")  # the steps run on the CPU
            except RuntimeUnavailable as e:  # no C++ compiler: torch.compile would fail with a traceback
                notes.append(f"{name}: skipped ({e})")
                continue
        steps[name] = make_step(cfg, cl, amp, compiled, batch)
        start = time.perf_counter()
        steps[name]()  # compiles, for the compiled set-up
        warmups[name] = time.perf_counter() - start
    rates = interleaved_rates(steps, batch, rounds, seconds)
    base = rates["eager fp32"]
    rows = [[name, rates[name], times(ratio(rates[name], base)), round(warmups[name], 1)] for name in steps]
    native = cpu_features().native_bf16
    notes.append(
        f"bf16 is {'native' if native else 'EMULATED (no avx512_bf16 / amx_bf16)'} on this CPU; "
        f"train.amp=auto picks {'bf16' if native else 'fp32'} here."
    )
    return Section(
        f"Training step, {model_name}, batch {batch}, samples/s (no data loading)",
        ["set-up", "samples/s", "vs eager fp32", "first step s"],
        rows,
        notes,
    )


def loading_speed(cfg: Config, workers: Sequence[int], batches: int) -> Section:
    """Samples/s of the training DataLoader (JPEG decode, augmentation, warp, targets) per
    worker count; the first batch (worker start-up) is not counted."""
    from torch.utils.data import DataLoader

    from ..data.build import build_train_dataset
    from ..data.dataset import worker_init

    _, dataset = build_train_dataset(cfg.data, seed=0)
    batch = cfg.train.batch_size
    rows: list[list] = []
    for n in workers:
        loader = DataLoader(dataset, batch_size=batch, shuffle=False, num_workers=n, worker_init_fn=worker_init)
        it = iter(loader)
        if len(loader) > batches + 1:  # worker start-up is not counted where there is data to spare
            next(it)
        count, start = 0, time.perf_counter()
        for _ in range(batches):
            try:
                count += len(next(it)["image"])
            except StopIteration:
                break
        rows.append([n, count / (time.perf_counter() - start)])
        del it, loader
    base = rows[0][1] if rows else None
    for row in rows:
        row.append(times(ratio(row[1], base)))
    return Section(
        f"Data loading, {cfg.data.input_size[1]}x{cfg.data.input_size[0]} training samples, batch {batch}",
        ["workers", "samples/s", f"vs {workers[0]} workers"],
        rows,
        ["0 workers = in the training process; each worker runs one torch thread."],
    )
