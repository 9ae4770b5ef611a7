"""Training: build everything from a Config, run epochs, checkpoint, resume.

The loop is the paper's recipe with its one known bug fixed: Adam (lr 1e-3), learning rate
x0.1 at epochs 90 and 120, 140 epochs, and the scheduler stepped *after* each epoch (the
official code steps it first, one epoch early on modern PyTorch). A non-finite loss stops
training with an error. Under torchrun it runs DistributedDataParallel (see distributed.py);
only rank 0 writes files.
"""

from __future__ import annotations

import functools
import math
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from ..config import Config, build_model_kwargs, config_to_dict
from ..core.fileio import atomic_write_bytes
from ..core.hardware import cpu_features
from ..core.transforms import Normalize
from ..nets.checkpoint import save_checkpoint
from ..nets.foreign import strip_mmpose_keys
from ..nets.weights import extract_state_dict, load_imagenet_backbone, read_weights_file
from ..runtimes import check_runtime
from ..zoo import backbone_source
from .budget import TimeBudget, set_step_lr, validation_due
from .distributed import DistInfo, all_reduce_mean, barrier, cleanup, init_distributed, parameters_agree
from .optim import autocast, build_loss, build_optimizer, build_scheduler, rng_state, seed_everything, set_rng_state
from .train_log import MetricsLog

StepCallback = Callable[[int, int, float], None]


class NonFiniteLossError(FloatingPointError, ValueError):
    """The training loss became NaN or infinite.

    A FloatingPointError by nature; also a ValueError because its cause is a value the user
    chose (too high a learning rate, broken annotations), so the command line reports it as
    one line naming the epoch and step instead of a traceback.
    """


#: Feeding a GPU: reading a CUDA loss waits for the GPU to finish the step, and then the host
#: has to take the next batch and launch its ~1,000 kernels while the GPU idles; with loader
#: workers on every core that thread gets the CPU late. So on CUDA the loss is read one step
#: late (LOSS_READ_LAG: the next step is queued behind the running one) and the workers run at
#: a lower priority (LOADER_NICENESS, `os.nice`). R50 256x192 at batch 128 on an H200 with 15
#: workers (benchmarks/gpu_feed.sh): 1,943 samples/s, 1,922 with the lag alone, 2,303 with
#: the niceness alone, 2,891 with both (0.88 of the step alone). On a CPU the step itself
#: is the work and the loader must keep its share of the cores: neither applies.
LOSS_READ_LAG = {"cuda": 1}
LOADER_NICENESS = {"cuda": 10}


def build_model(cfg: Config, num_joints: int, resuming: bool) -> nn.Module:
    """PoseResNet or HRNet from the config; ImageNet backbone or a fine-tuning start unless resuming."""
    from ..nets.build import build_network

    if cfg.model.num_joints != num_joints:
        raise ValueError(f"model.num_joints = {cfg.model.num_joints} but the training data has {num_joints} joints")
    model = build_network(**build_model_kwargs(cfg.model))
    if resuming:
        return model
    if cfg.train.init_from:
        path = cfg.train.init_from
        # Our checkpoints, the official code's, or mmpose's (keys `backbone.` / `head.`), as `predict` reads them.
        state = strip_mmpose_keys(extract_state_dict(read_weights_file(path), str(path)))[0]
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise ValueError(f"train.init_from {cfg.train.init_from}: weights do not fit the model: {e}") from None
    elif cfg.model.pretrained:
        report = load_imagenet_backbone(
            model, backbone_source(cfg.model.pretrained), layers=cfg.model.pretrained_layers
        )
        if not report.depth:  # an HRNet file: say which of its modules (the classifier's) were skipped
            print(report)
    return model


def resolve_amp(amp: str, device: torch.device) -> str:
    """`train.amp` with "auto" decided for `device`: "bf16" where bf16 is native and needs no
    loss scaling (CUDA GPUs that support it, CPUs with avx512_bf16 / amx_bf16), else ""
    (fp32). Never "fp16": it needs a GradScaler and can overflow, so it is only used when asked.
    On a CPU without native bf16, autocast emulates it and training runs slower than fp32.
    """
    if amp != "auto":
        return amp
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else ""
    return "bf16" if device.type == "cpu" and cpu_features().native_bf16 else ""


def _write_config(cfg: Config, out_dir: Path) -> None:
    import yaml

    atomic_write_bytes(out_dir / "config.yaml", yaml.safe_dump(config_to_dict(cfg), sort_keys=False).encode())


def _validate(
    model: nn.Module, cfg: Config, dist_info: DistInfo, out_dir: Path, warned: set[str] | None = None
) -> dict[str, float] | None:
    """COCO AP (or PCKh) of the current model, through the evaluation runner.

    A validation image that does not decode is skipped and counts as missed, as in `eval`:
    said in one warning line the first time (`warned`: the names said so far), so a damaged
    file costs the run a little AP rather than the run itself."""
    from ..evaluation.runner import evaluate_model  # here, not at the top: only validation needs it

    said = set() if warned is None else warned

    def on_bad(name: str, problem: str) -> None:
        if name not in said:
            said.add(name)
            print(f"warning: validation skipped {name}: {problem} (it counts as missed)", file=sys.stderr)

    model.eval()
    try:
        with torch.no_grad():
            return dict(evaluate_model(model, cfg, dist_info.device, out_dir=out_dir, on_bad=on_bad))
    finally:
        model.train()


def _validation_due(cfg: Config, epoch: int) -> bool:
    """Whether training validates after `epoch` (0-based): every val_every epochs and after the last."""
    tc = cfg.train
    return bool(cfg.data.val_ann) and tc.val_every > 0 and ((epoch + 1) % tc.val_every == 0 or epoch + 1 == tc.epochs)


def _main_metric(metrics: dict[str, float]) -> str:
    for key in ("AP", "PCKh", "mAP"):
        if key in metrics:
            return key
    return next(iter(metrics))


@dataclass
class _Run:
    """Everything one training run holds (built by `_setup`)."""

    cfg: Config
    info: DistInfo
    out_dir: Path
    model: nn.Module  # the bare model (what checkpoints store)
    net: nn.Module  # the model as trained: DistributedDataParallel(model) under torchrun
    dataset: Any
    sampler: Any
    loader: DataLoader = field(init=False)  # made once the sampler is (after a resume's state)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    criterion: nn.Module
    log: MetricsLog
    start_epoch: int = 0
    step: int = 0
    best: dict[str, Any] | None = None
    budget: TimeBudget | None = None  # train.max_minutes > 0: the run follows the clock (budget.py)
    progress: float = 0.0  # of a budget run, at the last epoch's end
    budget_spent: bool = False  # the budget ran out inside the last epoch
    val_warned: set[str] = field(default_factory=set)  # unreadable validation images said so far


def _setup(cfg: Config, out_dir: Path, resume: bool, info: DistInfo) -> _Run:
    from ..data.build import build_train_dataset
    from ..data.checks import check_images_exist, check_validation_data
    from ..data.dataset import UserErrorsAsData, collate_or_error, worker_init

    tc = cfg.train
    autocast(tc.amp, info.device)  # an impossible AMP setting fails before any work
    seed_everything(tc.seed + info.rank)
    last_path = out_dir / "last.pth"
    # Our own checkpoints hold only tensors and plain data: the safe loader reads them.
    state = read_weights_file(last_path) if resume and last_path.exists() else None
    if resume and state is None and info.is_main:
        print(f"--resume: no checkpoint at {last_path}; starting from scratch")
    # On a GPU the loader's workers are what bound the speed (benchmarks/train_gpu.py): they
    # hand over uint8 crops and the step normalises them on the device (`network_input`).
    skeleton, dataset = build_train_dataset(cfg.data, seed=tc.seed, raw_images=info.device.type == "cuda")
    model = build_model(cfg, skeleton.num_joints, resuming=state is not None)
    if state is not None:
        model.load_state_dict(state["state_dict"])
    # Before any file is written and any step is taken: a wrong validation set is one line now.
    if (tc.max_minutes > 0 and cfg.data.val_ann and tc.val_every > 0) or any(
        _validation_due(cfg, e) for e in range(int(state["epoch"]) if state else 0, tc.epochs)
    ):
        check_validation_data(cfg)
    check_images_exist(dataset.records, "data.train_images")
    if info.distributed and tc.sync_bn:
        if info.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        elif info.is_main:  # PyTorch's SyncBatchNorm runs on GPUs only
            warnings.warn("train.sync_bn is ignored on CPU: SyncBatchNorm needs CUDA", stacklevel=2)
    model.to(info.device)
    if tc.channels_last:  # weights in NHWC; convolutions then keep activations NHWC too
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's Module.to overloads leave out its documented memory_format
    if info.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    net = model
    if info.distributed:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[info.device.index] if info.device.type == "cuda" else None
        )
    optimizer = build_optimizer(model, tc)
    run = _Run(
        cfg,
        info,
        out_dir,
        model,
        net,
        dataset,
        None,
        optimizer,
        build_scheduler(optimizer, tc),
        torch.amp.GradScaler(info.device.type, enabled=tc.amp == "fp16" and info.device.type == "cuda"),
        build_loss(tc),
        MetricsLog(out_dir, enabled=info.is_main, append=state is not None),
    )
    if state is not None:
        run.optimizer.load_state_dict(state["optimizer"])
        # The schedule is the config's, not the checkpoint's, so that a finished run resumed
        # with more `train.epochs` goes on along the longer schedule (a cosine restarts at its
        # value for the epoch reached) instead of at the old schedule's end.
        run.scheduler = build_scheduler(run.optimizer, tc, epochs_done=int(state["epoch"]))
        if state.get("scaler"):
            run.scaler.load_state_dict(state["scaler"])
        run.start_epoch, run.step, run.best = int(state["epoch"]), int(state.get("step", 0)), state.get("best")
        set_rng_state(state["rng"])
    if float(all_reduce_mean(torch.tensor(float(run.start_epoch)))) != run.start_epoch:
        raise RuntimeError(f"ranks resume from different epochs: put --out ({out_dir}) on storage all machines share")
    if info.distributed:  # each rank trains on its share; set_epoch reshuffles every epoch
        run.sampler = DistributedSampler(dataset, info.world_size, info.rank, shuffle=True, seed=tc.seed)
    else:
        run.sampler = RandomSampler(dataset, generator=torch.Generator())
    # A missing image in a worker comes back as a SampleError batch (not PyTorch's wrapped
    # traceback), so `_train_epoch` can raise the reader's own one-line message.
    run.loader = DataLoader(
        UserErrorsAsData(dataset),
        batch_size=tc.batch_size,
        sampler=run.sampler,
        num_workers=cfg.data.workers,
        collate_fn=collate_or_error,
        pin_memory=info.device.type == "cuda",
        worker_init_fn=functools.partial(worker_init, nice=LOADER_NICENESS.get(info.device.type, 0)),
        drop_last=False,
    )
    if tc.max_minutes > 0:
        run.budget = TimeBudget(
            tc.max_minutes * 60.0,
            tc.epochs,
            len(run.loader),
            spent_before=float(state.get("spent_s", 0.0)) if state else 0.0,
        )
        run.progress = float(state.get("progress", 0.0)) if state else 0.0
    if info.is_main:
        _write_config(cfg, out_dir)
    return run


def network_input(
    images: torch.Tensor, device: torch.device, normalize: Normalize, channels_last: bool
) -> torch.Tensor:
    """A loader batch on `device`: (N, 3, H, W) float as it is, or (N, H, W, 3) uint8 crops
    (`raw_images`) copied as bytes and normalised there -> (N, 3, H, W) float32."""
    images = images.to(device, non_blocking=True)
    if images.dtype == torch.uint8:
        images = normalize(images)
    return images.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def _train_step(run: _Run, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """One optimizer step on `batch` -> (the loss averaged over ranks, still on the device and
    unread; samples in this rank's batch)."""
    tc, info, optimizer = run.cfg.train, run.info, run.optimizer
    images = network_input(batch["image"], info.device, run.dataset.normalize, tc.channels_last)
    target = batch["target"].to(info.device, non_blocking=True)
    weight = batch["target_weight"].to(info.device, non_blocking=True)
    with autocast(tc.amp, info.device):
        pred = run.net(images)
        if pred.shape[-2:] != target.shape[-2:]:
            raise ValueError(
                f"the model makes {tuple(pred.shape[-2:])} heatmaps (h, w) but data.heatmap_size "
                f"gives {tuple(target.shape[-2:])}: set data.heatmap_size to "
                f"[{pred.shape[-1]}, {pred.shape[-2]}] (w, h), or change data.input_size"
            )
        loss = run.criterion(pred, target, weight)
    optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.step(optimizer)
    run.scaler.update()
    run.step += 1
    return all_reduce_mean(loss.detach()), images.shape[0]  # every rank sees the same value and stops together


def _read_loss(loss: torch.Tensor, epoch: int, it: int, steps_in_epoch: int, step: int) -> float:
    """The value of a step's loss (waits for the device); a NonFiniteLossError naming the step
    if it is NaN or infinite."""
    value = float(loss)
    if not math.isfinite(value):
        raise NonFiniteLossError(
            f"non-finite loss {value} at epoch {epoch + 1}, step {it + 1} of {steps_in_epoch} (step "
            f"{step} of the run); lower train.lr or check the data"
        )
    return value


def _train_epoch(run: _Run, epoch: int, step_callback: StepCallback | None) -> tuple[float, int, float]:
    """One pass over the data -> (mean loss, samples seen by all ranks, seconds)."""
    from tqdm import tqdm

    from ..data.dataset import SampleError

    tc, info = run.cfg.train, run.info
    # Progress at the epoch's start: the budget's (time or epochs, whichever is further along)
    # or the epochs'; augmentation starts at data.augment_from of it.
    progress = run.progress if run.budget else epoch / max(tc.epochs, 1)
    run.dataset.set_epoch(epoch, augment=progress >= run.cfg.data.augment_from)
    if info.distributed:
        run.sampler.set_epoch(epoch)
    else:
        run.sampler.generator.manual_seed(tc.seed * 1_000_003 + epoch)  # the same order after a resume
    warmup_iters = int(round(tc.warmup_epochs * len(run.loader)))
    run.net.train()
    total, steps, seen, t0 = 0.0, 0, 0, time.perf_counter()
    lag = LOSS_READ_LAG.get(info.device.type, 0)
    unread: list[tuple[torch.Tensor, int, int, float]] = []  # (loss, iteration, step of the run, lr)
    bar = tqdm(run.loader, desc=f"epoch {epoch + 1}/{tc.epochs}", disable=not info.is_main, dynamic_ncols=True)

    def read_oldest() -> None:
        nonlocal total, steps
        loss, it, step, lr = unread.pop(0)
        value = _read_loss(loss, epoch, it, len(run.loader), step)
        total, steps = total + value, steps + 1
        rate = seen / max(time.perf_counter() - t0, 1e-9)
        bar.set_postfix(loss=f"{value:.3g}", lr=f"{lr:.2g}", samples_s=f"{rate:.1f}", refresh=False)
        if tc.log_every and step % tc.log_every == 0:
            run.log.write(step, "train", {"epoch": epoch + 1, "loss": value, "lr": lr, "samples_per_s": rate})
        if step_callback is not None:
            step_callback(epoch, it, value)

    try:  # closed on an error too, so the bar's line ends before the error's line starts
        for it, batch in enumerate(bar):
            if isinstance(batch, SampleError):  # a missing image, say: the reader's own message
                batch.reraise()
            # One clock for all ranks, so that they stop at the same step.
            spent = float(all_reduce_mean(torch.tensor(run.budget.spent()))) if run.budget else 0.0
            if set_step_lr(run.optimizer, run.scheduler, run.budget, epoch, it, run.step, warmup_iters, spent) >= 1.0:
                run.budget_spent = True  # annealed to the schedule's end: the run is done
                break
            loss, size = _train_step(run, batch)
            seen += size * info.world_size
            unread.append((loss, it, run.step, run.optimizer.param_groups[0]["lr"]))
            if len(unread) > lag:
                read_oldest()
        while unread:
            read_oldest()
    finally:
        bar.close()
    return total / max(steps, 1), seen, time.perf_counter() - t0


def _end_epoch(run: _Run, epoch: int, validate: bool) -> None:
    """Checkpoint (rank 0) last.pth, then validate when due; a new best writes best.pth.

    last.pth is on disk before validation starts, so a validation that fails (a broken image,
    a bug, a kill) never costs the epoch. A new best rewrites last.pth too, so that a resumed
    run knows the best so far and never replaces best.pth by a worse model.
    """
    cfg = run.cfg
    rng = rng_state()
    state: dict[str, Any] = dict(
        optimizer=run.optimizer.state_dict(),
        scheduler=run.scheduler.state_dict(),
        scaler=run.scaler.state_dict() if run.scaler.is_enabled() else None,
        epoch=epoch + 1,
        step=run.step,
        rng=rng,
        best=run.best,
    )
    if run.budget is not None:  # a resumed budget run goes on with the time it has left
        state.update(spent_s=run.budget.spent(), progress=run.progress)
    if run.info.is_main:
        save_checkpoint(run.out_dir / "last.pth", run.model, cfg, **state)
    if validate:
        metrics = _validate(run.model, cfg, run.info, run.out_dir / "val", run.val_warned)
        # The checkpoint holds the random state from before validation; restore it, so the
        # run goes on exactly as one resumed from that checkpoint would.
        set_rng_state(rng)
        if metrics:
            key = _main_metric(metrics)
            run.log.write(epoch + 1, "val", {k: float(v) for k, v in metrics.items()})
            if run.best is None or metrics[key] > run.best["value"]:
                run.best = state["best"] = {"metric": key, "value": float(metrics[key]), "epoch": epoch + 1}
                if run.info.is_main:
                    save_checkpoint(run.out_dir / "best.pth", run.model, cfg, **state)
                    save_checkpoint(run.out_dir / "last.pth", run.model, cfg, **state)
    barrier()


def check_validation_runtime(cfg: Config, device: str | torch.device) -> None:
    """Validation runs `test.runtime`: where it needs a package that is missing, one line
    before epoch 1 (the train command asks before it makes its folder)."""
    if cfg.data.val_ann and cfg.train.val_every > 0:
        check_runtime(cfg.test.runtime, str(device), None, "test.runtime", cfg.test.onnx_model)


def train(
    cfg: Config, out_dir: str | Path, resume: bool = False, device: str = "", step_callback: StepCallback | None = None
) -> dict[str, Any]:
    """Train a model as `cfg` says, writing checkpoints and logs under `out_dir`.

    With `resume`, `<out_dir>/last.pth` (if present) restores model, optimizer, scheduler,
    grad scaler, epoch and RNG states, and training continues with the next epoch.
    `step_callback(epoch, iteration, loss)` runs after every optimizer step (tests use it).
    Returns {"epochs": epochs completed, "loss": last epoch's mean loss, "best": ..., ...}.
    """
    info = init_distributed(device)
    try:
        check_validation_runtime(cfg, info.device)
        if cfg.train.amp == "auto":  # decided once, here, and written into config.yaml as what ran
            cfg = replace(cfg, train=replace(cfg.train, amp=resolve_amp("auto", info.device)))
            if info.is_main:
                print(f"train.amp auto -> {cfg.train.amp or 'off (fp32)'} on {info.device.type}")
        run = _setup(cfg, Path(out_dir), resume, info)
        tc = cfg.train
        if run.budget is not None:
            run.budget.started = time.monotonic()  # the clock counts training, not the set-up
        epoch_loss, completed = float("nan"), run.start_epoch
        for epoch in range(run.start_epoch, tc.epochs):
            epoch_loss, seen, seconds = _train_epoch(run, epoch, step_callback)
            last_lr = run.optimizer.param_groups[0]["lr"]  # the epoch's last step's (budget runs set it per step)
            run.scheduler.step()  # after the epoch's optimizer steps, as PyTorch expects
            completed = epoch + 1
            record = {
                "loss": epoch_loss,
                "lr": last_lr if run.budget else run.optimizer.param_groups[0]["lr"],
                "samples_per_s": seen / max(seconds, 1e-9),
                "seconds": seconds,
            }
            validate = _validation_due(cfg, epoch)
            if run.budget is not None:
                spent = float(all_reduce_mean(torch.tensor(run.budget.spent())))
                progress = (
                    1.0 if run.budget_spent or completed == tc.epochs else run.budget.progress(completed, 0, spent)
                )
                run.budget_spent = progress >= 1.0
                validate = bool(cfg.data.val_ann) and tc.val_every > 0 and validation_due(run.progress, progress)
                run.progress = record["progress"] = progress
            run.log.write(completed, "epoch", record)
            _end_epoch(run, epoch, validate)
            if run.budget_spent and completed < tc.epochs:
                if info.is_main:
                    print(
                        f"train.max_minutes = {tc.max_minutes:g}: the schedule followed the clock and ended "
                        f"in epoch {completed} of {tc.epochs}"
                    )
                break
        in_sync = parameters_agree(run.model)
        run.log.write(
            run.step,
            "done",
            {"epochs": completed, "loss": epoch_loss, "ranks_in_sync": in_sync, "world_size": info.world_size},
        )
        run.log.close()
        return {
            "epochs": completed,
            "loss": epoch_loss,
            "best": run.best,
            "out_dir": str(out_dir),
            "ranks_in_sync": in_sync,
        }
    finally:
        cleanup()
