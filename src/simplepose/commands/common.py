"""Options shared by the commands that run a model (eval, predict, track), spelled once.

Every such command resolves its config the same way (`config.resolve_config`): the
checkpoint's stored config, replaced by `--config FILE` when given, then `--set` overrides.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any, Callable

from ..zoo.table import DEFAULT_MODEL  # noqa: F401  (predict and track take it from here)
from .paths import CHECKPOINT, YAML


def leaves_no_empty_folder(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command's `run` that, when it fails (an error, Ctrl-C), removes the output folders it
    made and left empty: a failed command leaves no folder (what it wrote stays)."""

    @functools.wraps(run)
    def guarded(args: argparse.Namespace) -> int:
        from ..core.fileio import made_dirs_mark, remove_empty_made_dirs

        mark = made_dirs_mark()
        try:
            return run(args)
        except BaseException:
            remove_empty_made_dirs(mark)
            raise

    return guarded


def add_model_source(p: argparse.ArgumentParser, required: bool = True, default_model: str = "") -> None:
    """--checkpoint FILE | --model NAME, and --offline: where the weights come from."""
    group = p.add_mutually_exclusive_group(required=required and not default_model)
    group.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=CHECKPOINT,
        help="model checkpoint file: simplepose, official or mmpose format (default: none)",
    )
    default = f" (default: {default_model})" if default_model else " (default: none)"
    group.add_argument(
        "--model",
        metavar="NAME",
        default=None,
        help=f"a model of the zoo by name, downloaded once and verified (`simplepose models` lists them){default}",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="open no connection: zoo models must be in the cache already (also: SIMPLEPOSE_OFFLINE=1; "
        "default: online)",
    )
    p.set_defaults(default_model=default_model)


def checkpoint_source(args: argparse.Namespace) -> str:
    """The checkpoint file behind --checkpoint / --model (fetched from the zoo), or "" for none."""
    if args.checkpoint:
        return args.checkpoint
    name = args.model or getattr(args, "default_model", "")
    if not name:
        return ""
    from ..zoo import model_file

    return str(model_file(name, offline=True if args.offline else None))


def add_model_options(
    p: argparse.ArgumentParser, config_flag: bool = True, checkpoint_required: bool = True, default_model: str = ""
) -> None:
    """--checkpoint | --model, --offline, --config, --set, --device, --precision, --runtime, --no-flip, --trusted."""
    add_model_source(p, checkpoint_required, default_model)
    if config_flag:
        p.add_argument(
            "--config",
            type=YAML,
            help="YAML config file replacing the checkpoint's own, e.g. for official checkpoints "
            "(default: the checkpoint's stored config)",
        )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, e.g. --set test.flip_test=false (repeatable; default: none)",
    )
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument(
        "--precision", choices=("bf16", "fp16"), default=None, help="reduced-precision forward pass (default: fp32)"
    )
    p.add_argument(
        "--runtime",
        metavar="NAME",
        help="inference runtime: auto, eager, fast, compile, onnx, onnx-int8, openvino, openvino-int8 "
        "(sets test.runtime; default: the config's test.runtime, auto)",
    )
    p.add_argument("--no-flip", action="store_true", help="turn the flip test off")
    p.add_argument(
        "--trusted",
        action="store_true",
        help="allow pickled objects in the checkpoint (they can run code: only for files you trust)",
    )


def load_model_and_config(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """(model, config, device) from the options of `add_model_options`."""
    from ..config import resolve_config
    from ..nets.weights import load_checkpoint

    device = check_model_options(args)
    checkpoint = checkpoint_source(args)
    loaded = load_checkpoint(checkpoint, trusted=args.trusted)
    cfg = resolve_config(loaded.config, args.config, all_overrides(args), source=checkpoint)
    return loaded.model, cfg, device


def all_overrides(args: argparse.Namespace) -> list[str]:
    """--set values, with --no-flip and --runtime as the overrides they stand for."""
    return (
        list(args.overrides)
        + (["test.flip_test=false"] if args.no_flip else [])
        + ([f"test.runtime={args.runtime}"] if args.runtime else [])
    )


def check_model_options(args: argparse.Namespace, detector: str = "") -> str:
    """Check every name and setting of `add_model_options` (and the zoo `detector` name, if
    any) before any download, model load or output, and return the device to run on.

    The device and precision the machine runs, the `--set` keys (with the nearest ones for a
    typo), the runtime (from --runtime, --set or the --config file) and its optional package,
    the detector's package, the zoo names (a typo is named with the nearest names, before the
    other model or the detector starts downloading), and offline, every zoo file the cache
    lacks. Each is one line.
    """
    from ..inference.person_boxes import require_detector
    from ..runtimes import check_inference_settings
    from ..zoo import get_row

    device = check_inference_settings(
        args.device,
        args.precision,
        _runtime_of_config_file(args) + all_overrides(args),
        ("--device", "--precision", "--runtime" if args.runtime else "test.runtime"),
    )
    require_detector(detector)
    for name in zoo_names(args, detector):
        get_row(name)
    check_cached_offline(args, detector)
    return device


def _runtime_of_config_file(args: argparse.Namespace) -> list[str]:
    """The --config file's `test.runtime` as an override (checked with the others), or none."""
    if not getattr(args, "config", None):
        return []
    from ..config import load_config

    return [f"test.runtime={load_config(args.config).test.runtime}"]


def zoo_names(args: argparse.Namespace, detector: str = "") -> list[str]:
    """The zoo names a command will fetch: --model (or its default) and a detector given by name."""
    from ..inference.person_boxes import zoo_detector_name

    names = [] if args.checkpoint else [args.model or getattr(args, "default_model", "")]
    return [n for n in names + [zoo_detector_name(detector)] if n]


def build_predictor(args: argparse.Namespace, expected_crops: int = 0):
    """(TopDownPredictor, config) from the options of `add_model_options`; `expected_crops`:
    the people the job is expected to hold (0 = unknown, a long job; see `runtimes.auto`)."""
    from ..inference.predictor import TopDownPredictor

    model, cfg, device = load_model_and_config(args)
    return TopDownPredictor.from_config(
        model, cfg, device=device, precision=args.precision, expected_crops=expected_crops
    ), cfg


def model_label(args: argparse.Namespace) -> str:
    """What --checkpoint / --model (or the command's default model) names, for the summary line."""
    return str(args.checkpoint) if args.checkpoint else (args.model or getattr(args, "default_model", "") or "?")


def describe_setup(args: argparse.Namespace, predictor: Any) -> str:
    """One line: which model, person boxes and runtime a command runs with."""
    boxes = f"boxes {args.boxes}" if getattr(args, "boxes", None) else f"detector {getattr(args, 'detector', None)}"
    return f"model {model_label(args)}; {boxes}; {describe_runtime(predictor)}"


def describe_runtime(predictor: Any) -> str:
    """ "runtime NAME (PRECISION) on DEVICE", plus what `auto` based its choice on."""
    rt = predictor.runtime
    import re

    # auto's reason: "auto: ..." or "timed (batch 2: ...; batch 16: ...)" or "not timed ... (...)".
    found = re.search(r"auto: [^;]*|(?:not )?timed[^(]*\([^)]*\)", rt.detail)
    why = found.group(0) if found else ""
    return f"runtime {rt.name} ({rt.precision}) on {predictor.device}" + (f" [{why}]" if why else "")


def check_cached_offline(args: argparse.Namespace, detector: str = "") -> None:
    """Offline, list every zoo file the command needs and the cache lacks, in one line, up front.

    Without this, an offline run with an empty cache would name only the first missing file.
    """
    from ..zoo import ZooError, get_row, is_cached, is_offline
    from ..zoo.files import download_path

    if not is_offline(True if args.offline else None):
        return
    rows = [get_row(n) for n in zoo_names(args, detector)]
    missing = [r for r in rows if not is_cached(r)]
    if missing:
        files = "; ".join(f"{r.name}: {r.urls[0] if r.urls else r.manual} -> {download_path(r)}" for r in missing)
        raise ZooError(
            f"offline and not in the cache: {files}. Place the files there, or run "
            f"`simplepose models download {' '.join(r.name for r in missing)}` where there is a network"
        )
