"""Training: build everything from a Config, run epochs, checkpoint, resume.

The loop is the paper's recipe with its one known bug fixed: Adam (lr 1e-3), learning rate
x0.1 at epochs 90 and 120, 140 epochs, and the scheduler stepped *after* each epoch (the
official code steps it first, one epoch early on modern PyTorch). A non-finite loss stops
training with an error. Under torchrun it runs DistributedDataParallel (see distributed.py);
only rank 0 writes files.
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from .checkpoint import read_checkpoint, save_checkpoint
from .config import Config, TrainConfig, build_model_kwargs, config_to_dict
from .distributed import DistInfo, all_reduce_mean, barrier, cleanup, init_distributed, parameters_agree
from .loss import JointsMSELoss, JointsOHKMLoss
from .train_log import MetricsLog

StepCallback = Callable[[int, int, float], None]


class StepDecay:
    """lr factor at an epoch: `factor` ** (number of `steps` reached). Picklable for resume."""

    def __init__(self, steps: Sequence[int], factor: float) -> None:
        self.steps, self.factor = tuple(int(s) for s in steps), float(factor)

    def __call__(self, epoch: int) -> float:
        return self.factor ** sum(epoch >= s for s in self.steps)


def build_optimizer(model: nn.Module, train: TrainConfig) -> torch.optim.Optimizer:
    if train.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    if train.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=train.lr, momentum=train.momentum, weight_decay=train.weight_decay)
    raise ValueError(f"train.optimizer = {train.optimizer!r} is not 'adam' or 'sgd'")


def build_scheduler(optimizer: torch.optim.Optimizer, train: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """Step decay, stepped once after each epoch (so epoch e runs at lr * factor^(steps <= e))."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, StepDecay(train.lr_steps, train.lr_factor))


def build_loss(train: TrainConfig) -> nn.Module:
    return JointsOHKMLoss(topk=train.ohkm_topk) if train.ohkm else JointsMSELoss(use_target_weight=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> Dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def autocast(amp: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision: "" off, "bf16" (CPU or CUDA), "fp16" (CUDA only, with a GradScaler)."""
    if not amp:
        return contextlib.nullcontext()
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("train.amp = 'fp16' needs CUDA; use 'bf16' on CPU")
    if amp not in ("bf16", "fp16"):
        raise ValueError(f"train.amp = {amp!r} is not '', 'bf16' or 'fp16'")
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def build_model(cfg: Config, num_joints: int, resuming: bool) -> nn.Module:
    """PoseResNet from the config; ImageNet backbone or a fine-tuning start unless resuming."""
    from .model import PoseResNet

    if cfg.model.num_joints != num_joints:
        raise ValueError(f"model.num_joints = {cfg.model.num_joints} but the training data has {num_joints} joints")
    model = PoseResNet(**build_model_kwargs(cfg.model))
    if resuming:
        return model
    if cfg.train.init_from:
        state = read_checkpoint(cfg.train.init_from)["state_dict"]
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise ValueError(f"train.init_from {cfg.train.init_from}: weights do not fit the model: {e}") from None
    elif cfg.model.pretrained:
        from .weights import load_imagenet_backbone  # provided by the weights module

        load_imagenet_backbone(model, cfg.model.pretrained)
    return model


def _write_config(cfg: Config, out_dir: Path) -> None:
    import yaml

    tmp = out_dir / "config.yaml.tmp"
    tmp.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    os.replace(tmp, out_dir / "config.yaml")


def _validate(model: nn.Module, cfg: Config, dist_info: DistInfo, out_dir: Path) -> Optional[Dict[str, float]]:
    """COCO AP (or PCKh) of the current model, through the evaluation runner when present."""
    try:
        from .evaluation.runner import evaluate_model
    except ImportError:
        if dist_info.is_main:
            print("validation skipped: simplepose.evaluation.runner is not available")
        return None
    model.eval()
    try:
        with torch.no_grad():
            return dict(evaluate_model(model, cfg, dist_info.device, out_dir=out_dir))
    finally:
        model.train()


def _main_metric(metrics: Dict[str, float]) -> str:
    for key in ("AP", "PCKh", "mAP"):
        if key in metrics:
            return key
    return next(iter(metrics))


def train(cfg: Config, out_dir: str | Path, resume: bool = False, device: str = "",
          step_callback: Optional[StepCallback] = None) -> Dict[str, Any]:
    """Train a model as `cfg` says, writing checkpoints and logs under `out_dir`.

    With `resume`, `<out_dir>/last.pth` (if present) restores model, optimizer, scheduler,
    grad scaler, epoch and RNG states, and training continues with the next epoch.
    `step_callback(epoch, iteration, loss)` runs after every optimizer step (tests use it).
    Returns {"epochs": epochs completed, "loss": last epoch's mean loss, "best": ..., ...}.
    """
    from tqdm import tqdm

    from .data.build import build_train_dataset
    from .data.dataset import worker_init

    out_dir = Path(out_dir)
    info = init_distributed(device)
    try:
        tc = cfg.train
        autocast(tc.amp, info.device)  # an impossible AMP setting fails before any work
        seed_everything(tc.seed + info.rank)
        last_path = out_dir / "last.pth"
        state = read_checkpoint(last_path) if resume and last_path.exists() else None
        if resume and state is None and info.is_main:
            print(f"--resume: no checkpoint at {last_path}; starting from scratch")
        skeleton, dataset = build_train_dataset(cfg.data, seed=tc.seed)
        model = build_model(cfg, skeleton.num_joints, resuming=state is not None)
        if state is not None:
            model.load_state_dict(state["state_dict"])
        if info.distributed and tc.sync_bn:
            if info.device.type == "cuda":
                model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
            elif info.is_main:  # PyTorch's SyncBatchNorm runs on GPUs only
                warnings.warn("train.sync_bn is ignored on CPU: SyncBatchNorm needs CUDA")
        model.to(info.device)
        if info.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        net = model
        if info.distributed:
            net = nn.parallel.DistributedDataParallel(
                model, device_ids=[info.device.index] if info.device.type == "cuda" else None)
        optimizer = build_optimizer(model, tc)
        scheduler = build_scheduler(optimizer, tc)
        scaler = torch.amp.GradScaler(info.device.type, enabled=tc.amp == "fp16" and info.device.type == "cuda")
        criterion = build_loss(tc)
        start_epoch, step, best = 0, 0, None
        if state is not None:
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            if state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            start_epoch, step, best = int(state["epoch"]), int(state.get("step", 0)), state.get("best")
            set_rng_state(state["rng"])

        if info.distributed:
            sampler = DistributedSampler(dataset, info.world_size, info.rank, shuffle=True, seed=tc.seed)
        else:
            generator = torch.Generator()
            sampler = RandomSampler(dataset, generator=generator)
        loader = DataLoader(
            dataset, batch_size=tc.batch_size, sampler=sampler, num_workers=cfg.data.workers,
            worker_init_fn=worker_init, pin_memory=info.device.type == "cuda", drop_last=False,
        )
        log = MetricsLog(out_dir, enabled=info.is_main)
        if info.is_main:
            out_dir.mkdir(parents=True, exist_ok=True)
            _write_config(cfg, out_dir)
        warmup_iters = int(round(tc.warmup_epochs * len(loader)))
        started = time.monotonic()
        epoch_loss = float("nan")
        completed = start_epoch
        for epoch in range(start_epoch, tc.epochs):
            dataset.set_epoch(epoch)
            if info.distributed:
                sampler.set_epoch(epoch)
            else:
                generator.manual_seed(tc.seed * 1_000_003 + epoch)  # the same order after a resume
            net.train()
            total, seen, t0 = 0.0, 0, time.perf_counter()
            bar = tqdm(loader, desc=f"epoch {epoch + 1}/{tc.epochs}", disable=not info.is_main, dynamic_ncols=True)
            for it, batch in enumerate(bar):
                if step < warmup_iters:  # linear warm-up on top of the epoch's scheduled lr
                    for g, lr in zip(optimizer.param_groups, scheduler.get_last_lr()):
                        g["lr"] = lr * (step + 1) / warmup_iters
                images = batch["image"].to(info.device, non_blocking=True)
                target = batch["target"].to(info.device, non_blocking=True)
                weight = batch["target_weight"].to(info.device, non_blocking=True)
                with autocast(tc.amp, info.device):
                    pred = net(images)
                    if pred.shape[-2:] != target.shape[-2:]:
                        raise ValueError(
                            f"the model makes {tuple(pred.shape[-2:])} heatmaps (h, w) but data.heatmap_size "
                            f"gives {tuple(target.shape[-2:])}: input sides must be multiples of 32, heatmaps 1/4")
                    loss = criterion(pred, target, weight)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                value = float(all_reduce_mean(loss.detach()))
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"non-finite loss {value} at epoch {epoch + 1}, iteration {it}; "
                        "lower train.lr or check the data")
                step += 1
                total += value
                seen += images.shape[0] * info.world_size
                rate = seen / max(time.perf_counter() - t0, 1e-9)
                lr = optimizer.param_groups[0]["lr"]
                bar.set_postfix(loss=f"{value:.3g}", lr=f"{lr:.2g}", samples_s=f"{rate:.1f}", refresh=False)
                if tc.log_every and step % tc.log_every == 0:
                    log.write(step, "train", {"epoch": epoch + 1, "loss": value, "lr": lr, "samples_per_s": rate})
                if step_callback is not None:
                    step_callback(epoch, it, value)
            bar.close()
            scheduler.step()
            epoch_loss = total / max(len(loader), 1)
            completed = epoch + 1
            seconds = time.perf_counter() - t0
            log.write(epoch + 1, "epoch", {"loss": epoch_loss, "lr": optimizer.param_groups[0]["lr"],
                                           "samples_per_s": seen / max(seconds, 1e-9), "seconds": seconds})

            improved = False
            last = epoch + 1 == tc.epochs
            if cfg.data.val_ann and tc.val_every > 0 and ((epoch + 1) % tc.val_every == 0 or last):
                metrics = _validate(model, cfg, info, out_dir / "val")
                if metrics:
                    key = _main_metric(metrics)
                    log.write(epoch + 1, "val", {k: float(v) for k, v in metrics.items()})
                    if best is None or metrics[key] > best["value"]:
                        best, improved = {"metric": key, "value": float(metrics[key]), "epoch": epoch + 1}, True
            if info.is_main:
                ckpt = dict(optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                            scaler=scaler.state_dict() if scaler.is_enabled() else None,
                            epoch=epoch + 1, step=step, rng=rng_state(), best=best)
                save_checkpoint(last_path, model, cfg, **ckpt)
                if improved:
                    save_checkpoint(out_dir / "best.pth", model, cfg, **ckpt)
            barrier()
            elapsed = torch.tensor(time.monotonic() - started)
            if tc.max_minutes > 0 and float(all_reduce_mean(elapsed)) >= tc.max_minutes * 60 and not last:
                if info.is_main:
                    print(f"train.max_minutes = {tc.max_minutes} reached after epoch {epoch + 1}; stopping")
                break
        in_sync = parameters_agree(model)
        log.write(step, "done", {"epochs": completed, "loss": epoch_loss, "ranks_in_sync": in_sync,
                                 "world_size": info.world_size})
        log.close()
        return {"epochs": completed, "loss": epoch_loss, "best": best, "out_dir": str(out_dir),
                "ranks_in_sync": in_sync}
    finally:
        cleanup()
