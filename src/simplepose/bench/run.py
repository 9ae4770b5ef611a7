"""`run_bench`: every section of `simplepose bench` in order, printed and written."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..core.fileio import atomic_write_bytes, atomic_write_json
from ..core.hardware import cpu_features
from ..core.version import VERSION_KEY, package_version
from ..runtimes import onnx_available
from ..runtimes.openvino_paths import openvino_version
from .report import Section, format_report, format_section
from .settings import BenchSettings


@dataclass(frozen=True)
class Plan:
    """Sizes that follow from `quick`."""

    batches: tuple[int, ...]
    rounds: int
    seconds: float
    images: int  # generated images (half val) when no data_dir
    e2e_images: int
    accuracy_images: int
    loader_workers: tuple[int, ...]
    loader_batches: int
    train_batch: int  # 0: the demo config's batch size
    flips: tuple[bool, ...]  # flip test settings of the end-to-end table


FULL = Plan((1, 16), 5, 0.6, 120, 40, 100, (0, 1, 2), 12, 0, (True, False))  # 5 rotated rounds: see interleaved_rates
QUICK = Plan((1, 4), 1, 0.05, 8, 4, 4, (0,), 2, 2, (True,))


def _log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def run_bench(s: BenchSettings) -> str:
    """Run every section, print and write the report; returns its text."""
    from ..core.transforms import Normalize
    from ..runtimes import RuntimeSpec
    from .accuracy import accuracy, summary
    from .inference import build_all, model_speed, predict_speed
    from .inputs import accuracy_config, accuracy_model, demo_config, ensure_synthetic, load_val_images, model_spec
    from .training import loading_speed, training_speed

    plan = QUICK if s.quick else FULL
    if s.threads:
        torch.set_num_threads(s.threads)
    out = Path(s.out_dir)
    start = time.perf_counter()
    names = [n for n in s.runtimes if n != "compile" or (s.compile and not s.quick)]
    run_notes = [] if "compile" in names else ["compile: skipped (--quick or --no-compile)"]
    if "compile" in names and "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        # Warm-ups measured cold, as on a fresh machine: inductor's on-disk cache would
        # otherwise make a second run's compile look several times cheaper.
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="simplepose-bench-inductor-")
        run_notes.append(
            "compile: build s = warm-up from an empty inductor cache (the first compiled "
            "model of the run also pays inductor's start-up)"
        )
    demo_cfg = demo_config(s.demo_config)
    _log(f"data: {s.data_dir or 'generating a small synthetic set'}")
    root = ensure_synthetic(s.data_dir, out, plan.images, s.seed)
    calibration = str(root / "images" / "train")
    sections: list[Section] = []

    def add(section: Section) -> None:
        section.notes += run_notes if section.title.startswith(("Network", "Predictor", "Accuracy")) else []
        sections.append(section)
        print(format_section(section), flush=True)

    for key in s.models:
        spec = model_spec(key, demo_cfg, s.seed)
        _log(f"network alone: {spec.name} ...")
        add(model_speed(spec, names, plan.batches, calibration, plan.rounds, plan.seconds))

    model, acc_cfg, note = accuracy_model(s.checkpoint, demo_cfg)
    acc_cfg = accuracy_config(acc_cfg, root)
    _log("predictor end to end ...")
    # Each runtime is built once for this model and shared by the end-to-end and accuracy tables.
    width, height = acc_cfg.data.input_size
    runtime_spec = RuntimeSpec(
        (width, height),
        calibration=calibration,
        normalize=Normalize(acc_cfg.data.color, acc_cfg.data.mean, acc_cfg.data.std),
        batch_size=acc_cfg.test.batch_size * (2 if acc_cfg.test.flip_test else 1),
    )  # as the predictor builds auto
    built, not_built = build_all(model, names, runtime_spec)
    images, boxes = load_val_images(root, plan.e2e_images)
    add(predict_speed(model, acc_cfg, images, boxes, built, plan.rounds, plan.seconds, plan.flips))
    sections[-1].notes += not_built

    train_cfg = accuracy_config(demo_cfg, root)
    _log("training steps ...")
    add(
        training_speed(
            train_cfg,
            spec_name(demo_cfg),
            s.compile and not s.quick,
            plan.rounds,
            plan.seconds,
            plan.train_batch or train_cfg.train.batch_size,
        )
    )
    _log("data loading ...")
    add(loading_speed(train_cfg, plan.loader_workers, plan.loader_batches))

    _log("accuracy ...")
    images, boxes = load_val_images(root, plan.accuracy_images)
    acc = accuracy(model, acc_cfg, images, boxes, built, note)
    add(acc)
    sections[-1].notes += not_built

    header = report_header(s, time.perf_counter() - start, summary(acc), sections)
    text = format_report(header, sections)
    atomic_write_bytes(out / "bench.txt", text.encode())
    atomic_write_json(
        out / "bench.json",
        {
            VERSION_KEY: package_version(),
            "settings": asdict(s),
            "header": header,
            "sections": [x.to_dict() for x in sections],
        },
        indent=1,
    )
    print("\n".join(header))
    print(f"wrote {out / 'bench.txt'} and {out / 'bench.json'}")
    return text


def load_average() -> str:
    """The 1, 5 and 15 minute load averages ("-" where the OS has none)."""
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "-"


def spec_name(cfg) -> str:
    w, h = cfg.data.input_size
    return f"demo R{cfg.model.depth} w{cfg.model.width} {h}x{w}"


def report_header(s: BenchSettings, seconds: float, acc: dict[str, Any], sections: list[Section]) -> list[str]:
    """The lines above the tables: machine, versions, settings, and the acceptance checks."""
    ort = "not installed"
    if onnx_available():
        import onnxruntime

        ort = onnxruntime.__version__
    lines = [
        f"## simplepose bench{' --quick' if s.quick else ''}",
        "",
        f"- CPU: {cpu_features().summary()}",
        f"- torch {torch.__version__}, onnxruntime {ort}, openvino {openvino_version() or 'not installed'}, "
        f"Python {platform.python_version()}",
        f"- run took {seconds / 60:.1f} min; ratios are to eager fp32 measured in the same interleaved rounds",
        f"- load average at the end {load_average()} on {os.cpu_count()} cores (other processes slow torch's "
        "threads far more than ONNX Runtime's: run alone)",
    ]
    lines += acceptance(sections, acc)
    return lines


#: The fp32 runtimes `auto` chooses among on a CPU.
RIVALS = ("onnx", "openvino", "fast")


def acceptance(sections: list[Section], acc: dict[str, Any]) -> list[str]:
    """auto's speed against the best of its fp32 candidates (ONNX Runtime, OpenVINO, fast), per
    network table and batch, and the int8 runtimes' displacement (they stay opt-in)."""
    lines: list[str] = []
    for sec in sections:
        if not sec.title.startswith("Network"):
            continue
        rows = {str(r[1]).split(" = ")[0]: r for r in sec.rows}
        auto, rivals = rows.get("auto"), [rows[n] for n in RIVALS if n in rows and rows[n][2] == "fp32"]
        if auto is None or not rivals:
            continue
        choice = str(auto[1]).split(" = ")[-1]
        chosen = rows.get(choice)  # the runtime auto is, measured as a candidate
        for i in range(4, len(sec.columns), 2):
            best = max(r[i] for r in rivals)
            line = (
                f"- {sec.title.split(': ')[1].split(',')[0]}, {sec.columns[i]}: auto {auto[i]:.3g} vs best of "
                f"{'/'.join(RIVALS)} fp32 {best:.3g} ({auto[i] / best:.2f}x), auto = {choice}"
            )
            if chosen is not None and chosen is not auto:
                # Two instances of one runtime differ by the machine's noise; the choice is judged
                # by the candidate's own figure.
                line += f"; {chosen[1]} as a candidate {chosen[i]:.3g} ({chosen[i] / best:.2f}x: auto's choice)"
            lines.append(line)
    lines.append(
        f"- worst mean keypoint displacement of a non-int8 runtime: {acc['mean_px']:.3g} px; "
        f"worst |AP change|: {acc['ap_points']:.3g} points"
    )
    lines += [
        f"- {name}: mean keypoint displacement {mean:.3g} px, max {top:.3g} px, AP change {ap:.3g} points "
        "(int8 stays opt-in)"
        for name, mean, top, ap in acc.get("int8", [])
    ]
    if acc.get("noise"):
        lines.append(
            "- for scale, eager fp32 on the same images with +-1 grey level of noise: mean {:.3g} px, "
            "max {:.3g} px, AP change {:.3g} points".format(*acc["noise"])
        )
    return lines
