"""`simplepose train CONFIG [--set k=v ...] [--out DIR] [--resume]`: train a pose model.

Under torchrun (`torchrun --nproc_per_node=N -m simplepose train ...`) every process runs
this command; they form one DistributedDataParallel job and only rank 0 writes files.

Ctrl-C or SIGTERM stops training with one line saying which epoch <out>/last.pth holds (it is
written atomically at each epoch's end, so it is always whole) and that --resume continues
from it; exit 130 (SIGINT) or 143 (SIGTERM). Two trainings into one folder at once are refused
(lock .train.lock); --resume continues one, as before.
"""

from __future__ import annotations

import argparse

from ..core.words import count
from .common import leaves_no_empty_folder
from .paths import OUT_DIR, YAML


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config (ours or the official code's)")
    p.add_argument(
        "config",
        type=YAML,
        help="YAML config file (configs/coco/res50_256x192.yaml, or an official experiments/*.yaml)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.lr=5e-4 (repeatable; default: none)",
    )
    p.add_argument("--out", default="", type=OUT_DIR, metavar="DIR", help="output folder (default: runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pth")
    p.add_argument("--device", default="", help="cpu, cuda or cuda:N (default: CUDA when available)")
    p.set_defaults(run=run)


@leaves_no_empty_folder
def run(args: argparse.Namespace) -> int:
    import os
    from contextlib import nullcontext
    from pathlib import Path

    import torch

    from ..config import load_config
    from ..core.fileio import OutputClaim, prepare_output_dir
    from ..core.hardware import check_device, check_precision
    from ..data.checks import check_data_found
    from ..training.engine import check_validation_runtime, resolve_amp, train
    from ..training.optim import autocast

    cfg = load_config(args.config, args.overrides)
    # What this machine runs and where the data is, before the output folder is made.
    device = torch.device(check_device(args.device))
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {args.device}: train runs on cpu or cuda")
    amp = resolve_amp(cfg.train.amp, device)
    autocast(amp, device)  # an AMP setting the device lacks: fp16 on a CPU
    check_precision(amp or None, str(device), "train.amp")  # bf16 on a GPU older than Ampere
    check_validation_runtime(cfg, device)
    check_data_found(cfg, "train")
    out = args.out or str(Path("runs") / Path(args.config).stem)
    if int(os.environ.get("RANK", "0")) == 0:
        # Before any work, on --resume too: a folder that cannot be written is one line now, and
        # the temporary file of a checkpoint write that a kill interrupted is removed.
        prepare_output_dir(out)
    last = Path(out) / "last.pth"
    before = last.stat().st_mtime_ns if last.exists() else None
    # Rank 0 writes: two trainings at once into one folder would overwrite each other's checkpoints.
    claim = OutputClaim(out, "train", ()) if int(os.environ.get("RANK", "0")) == 0 else nullcontext()
    try:
        with claim:
            result = train(cfg, out, resume=args.resume, device=args.device)
    except KeyboardInterrupt as e:
        raise _interrupted(e, last, before, cfg.train.epochs, args.resume) from None
    if int(os.environ.get("RANK", "0")) == 0:  # one summary line per job, not per process
        best = result["best"]
        best_text = f", best {best['metric']} {best['value']:.4f} at epoch {best['epoch']}" if best else ""
        print(
            f"trained {count(result['epochs'], 'epoch')}, last loss {result['loss']:.6f}{best_text}; outputs in {out}"
        )
    return 0


def _interrupted(exc: KeyboardInterrupt, last, before, epochs: int, resumed: bool) -> KeyboardInterrupt:
    """The interruption again, saying what last.pth holds and how to go on."""
    from ..core.interrupts import Interrupted
    from ..nets.weights import read_weights_file

    written = last.exists() and (resumed or before is None or last.stat().st_mtime_ns != before)
    if not written:
        return Interrupted.after(
            exc, f"before the first epoch ended: no checkpoint written ({last}), nothing to resume"
        )
    try:
        epoch = int(read_weights_file(last)["epoch"])
    except (ValueError, OSError, KeyError, TypeError):
        return Interrupted.after(exc, f"{last} is the last checkpoint: continue with --resume")
    return Interrupted.after(
        exc, f"{last} holds epoch {epoch} of {epochs}: continue with the same command and --resume"
    )
