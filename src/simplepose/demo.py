"""The demo: from nothing to a trained, evaluated pose tracker on synthetic people.

Steps (each reuses the library code the CLI commands run):
  1. generate the synthetic data set (skipped when `data_dir` already holds the same one);
  2. train the demo config for a bounded time (`train.max_minutes`);
  3. COCO AP on the synthetic val with ground-truth boxes and with the simulated detections;
  4. track the synthetic videos and score them (PoseTrack mAP, MOTA);
  5. the same scoring, tracking and pictures with the model shipped with the package
     (`release.SHIPPED_MODEL`, trained much longer on far more synthetic people);
  6. write the report: metrics.json with both models side by side (`demo_run`,
     `shipped_model`), loss and AP curves, pictures of predictions, tracked videos.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config, load_config
from .core.fileio import OutputClaim, atomic_write_bytes, atomic_write_json, prepare_output_dir
from .core.version import VERSION_KEY, package_version
from .core.words import count, plural
from .evaluation.cocoeval import METRIC_KEYS

#: The demo's recipe, shipped inside the package so that `simplepose demo` runs from any folder
#: and after a wheel install (the repository's configs/synthetic/res18_96x64.yaml links to it).
DEMO_CONFIG = Path(__file__).resolve().parent / "configs" / "demo_res18_96x64.yaml"


@dataclass(frozen=True)
class DemoSettings:
    """What the demo runs on; defaults are `make demo`'s."""

    out_dir: str = "runs/demo"
    data_dir: str = "data/synthetic"
    config: str = str(DEMO_CONFIG)
    images: int = 2500
    videos: int = 3
    frames: int = 60
    seed: int = 0
    overrides: Sequence[str] = ()
    device: str = "cpu"


def _log(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def ensure_data(s: DemoSettings) -> dict[str, Any]:
    """Generate the synthetic set unless `data_dir` already holds one made with these settings
    by this generator (`synthetic.version.generator_key`)."""
    from .synthetic import generate_dataset, generate_videos
    from .synthetic.version import generator_key

    meta_path = Path(s.data_dir) / "meta.json"
    want = {"seed": s.seed, "images": s.images, "videos": s.videos, "frames": s.frames, "generator": generator_key()}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("demo") == want:
            _log(f"data: reusing {s.data_dir} (same seed and sizes)")
            return meta
    t0 = time.perf_counter()
    images = generate_dataset(s.data_dir, s.images, seed=s.seed)
    generate_videos(s.data_dir, s.videos, s.frames, seed=s.seed)
    meta = json.loads(meta_path.read_text())
    meta["demo"] = want
    atomic_write_json(meta_path, meta, indent=1)
    _log(
        f"data: {count(s.images, 'image')} ({images['images_per_second']} images/s) and "
        f"{count(s.videos, 'video')} x {count(s.frames, 'frame')} in {time.perf_counter() - t0:.0f} s -> {s.data_dir}"
    )
    return meta


def evaluate_coco_both(model, cfg: Config, out: Path, device: str) -> dict[str, dict[str, float]]:
    """COCO metrics with ground-truth boxes and with the config's detections file."""
    from .core.fileio import join_root
    from .evaluation.runner import evaluate_model

    gt = evaluate_model(model, cfg, device, out_dir=out / "eval_gt_boxes", detections="gt")
    det_file = join_root(cfg.data.root, cfg.test.detections)
    det = evaluate_model(model, cfg, device, out_dir=out / "eval_detections", detections=det_file)
    return {"coco_gt_boxes": {k: gt[k] for k in METRIC_KEYS}, "coco_detections": {k: det[k] for k in METRIC_KEYS}}


def track_synthetic_videos(model, cfg: Config, data_dir: Path, out: Path, device: str) -> dict[str, Any]:
    """Track every synthetic video, draw the first one, and score all of them."""
    from .core.frames import open_frames
    from .evaluation.posetrack import evaluate_dirs
    from .formats.posetrack import read_posetrack
    from .inference.detector import DetectionsFile
    from .inference.predictor import TopDownPredictor
    from .tracking.pipeline import track_video

    predictor = TopDownPredictor.from_config(model, cfg, device=device)
    gt_dir = data_dir / "posetrack" / "annotations" / "val"
    pred_dir = out / "tracking"
    frames, seconds, videos = 0, 0.0, []
    for i, gt_path in enumerate(sorted(gt_dir.glob("*.json"))):
        gt = read_posetrack(gt_path)
        source = open_frames(data_dir / Path(gt.frames[0].file_name).parent)
        detector = DetectionsFile(data_dir / "posetrack" / "detections" / gt_path.name)
        done = track_video(
            source,
            predictor,
            cfg.track,
            detector,
            pred_dir,
            gt.name,
            gt,
            layout="model",
            draw_video=(i == 0),
            progress=False,
        )
        if done.run.interrupted is not None:  # track_video stops at Ctrl-C / SIGTERM: so does the demo
            from .core.interrupts import Interrupted

            raise Interrupted.after(done.run.interrupted, f"while tracking video {i + 1} ({gt.name})")
        frames += len(done.run.poses)
        seconds += done.run.seconds
        if done.video_path is not None:
            videos.append(str(done.video_path))
    metrics = evaluate_dirs(gt_dir, pred_dir)
    return {
        "mAP": metrics["mAP"],
        "MOTA": metrics["MOTA"],
        "MOTP": metrics["MOTP"],
        "precision": metrics["precision"],
        "recall": metrics["recall"],
        "frames_per_second": frames / seconds if seconds > 0 else None,
        "videos": videos,
    }


def draw_predictions(model, cfg: Config, out: Path, device: str, count: int = 6) -> list[str]:
    """Pictures of predictions on the first val images, with ground-truth boxes."""
    import numpy as np

    from .core.fileio import join_root, read_image
    from .core.geometry import xywh_to_xyxy
    from .core.visualize import draw_poses, write_image
    from .data.coco import load_coco_keypoints
    from .inference.predictor import TopDownPredictor

    predictor = TopDownPredictor.from_config(model, cfg, device=device)
    coco = load_coco_keypoints(
        join_root(cfg.data.root, cfg.data.val_ann), join_root(cfg.data.root, cfg.data.val_images), for_training=False
    )
    by_image = coco.records_by_image()
    paths = []
    for image_id in sorted(by_image)[:count]:
        records = by_image[image_id]
        image = read_image(coco.images[image_id].path)
        boxes = xywh_to_xyxy(np.stack([r.box for r in records]))
        poses = predictor(image, boxes, np.ones(len(records)))
        path = out / "pictures" / f"{image_id:06d}.jpg"
        write_image(path, draw_poses(image, poses, predictor.skeleton, show_ids=False))
        paths.append(str(path))
    return paths


def plot_curves(train_dir: Path, out: Path, reference: tuple[str, float] | None = None) -> list[str]:
    """loss.png (mean loss per epoch) and ap.png (validation AP) from the run's metrics.jsonl;
    `reference` (label, AP) draws another model's level on ap.png (the shipped model's)."""
    from .training.train_log import read_metrics

    rows = read_metrics(train_dir / "metrics.jsonl")
    written = []
    for name, tag, key, label in (
        ("loss.png", "epoch", "loss", "training loss"),
        ("ap.png", "val", "AP", "val AP (GT boxes)"),
    ):
        pts = [(r["step"], r[key]) for r in rows if r.get("tag") == tag and r.get(key) is not None]
        if not pts:
            continue
        fig = curve_figure(pts, label, reference if tag == "val" else None)
        png = io.BytesIO()  # rendered in memory, then written atomically like every report file
        fig.savefig(png, format="png")
        atomic_write_bytes(out / name, png.getvalue())
        written.append(str(out / name))
    return written


def curve_figure(pts: Sequence[tuple[int, float]], label: str, reference: tuple[str, float] | None = None):
    """A matplotlib Figure of (epoch, value) points: whole-epoch ticks, and room around a
    one- or two-epoch run instead of a zoom onto its point; `reference` a dashed level."""
    from matplotlib.figure import Figure  # not pyplot: no display backend, nothing global to close
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(5, 3.2), dpi=100)
    ax = fig.subplots()
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label="demo run")
    if reference is not None:
        ax.axhline(reference[1], color="tab:green", linestyle="--", label=reference[0])
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # whole epochs, even for one
    first, last = min(p[0] for p in pts), max(p[0] for p in pts)
    if last - first < 2:
        ax.set_xlim(first - 0.5, last + 0.5)
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def score_model(model, cfg: Config, data_dir: Path, out: Path, device: str) -> dict[str, Any]:
    """COCO AP (GT and detector boxes), tracking and pictures of one model, written under `out`."""
    metrics: dict[str, Any] = evaluate_coco_both(model, cfg, out, device)
    metrics["posetrack"] = track_synthetic_videos(model, cfg, data_dir, out, device)
    metrics["pictures"] = draw_predictions(model, cfg, out, device)
    return metrics


def score_shipped_model(s: DemoSettings, out: Path) -> dict[str, Any] | None:
    """The shipped model scored on the demo's data (None, said, when the file is absent)."""
    from .config import resolve_config
    from .nets.weights import load_checkpoint
    from .training.release import SHIPPED_MODEL, release_info

    if not SHIPPED_MODEL.is_file():
        _log(f"no shipped model at {SHIPPED_MODEL}: only the demo run is reported")
        return None
    loaded = load_checkpoint(SHIPPED_MODEL)  # the safe loader, like every checkpoint
    # Its config's val paths are relative to the demo's data folder.
    cfg = resolve_config(loaded.config, None, [f"data.root={s.data_dir}"], source=str(SHIPPED_MODEL))
    _log(f"scoring the shipped model {SHIPPED_MODEL.name} on the same val and videos ...")
    metrics = score_model(loaded.model, cfg, Path(s.data_dir), out, s.device)
    metrics["training"] = release_info(SHIPPED_MODEL)
    return metrics


def run_demo(s: DemoSettings = DemoSettings()) -> dict[str, Any]:
    """Run every step; returns (and writes to `out_dir/metrics.json`) the figures."""
    from .runtimes import check_runtime

    start = time.perf_counter()
    # The config first: a missing or bad one is reported before minutes of data generation
    # and before the output folder is made.
    cfg = load_config(s.config, [f"data.root={s.data_dir}", *s.overrides])
    check_runtime(cfg.test.runtime, s.device, None, "test.runtime", cfg.test.onnx_model)  # e.g. openvino, not installed
    out = prepare_output_dir(s.out_dir)
    with OutputClaim(out, "demo", ()):  # two demos into one folder would mix their reports
        return _run_demo_into(s, cfg, out, start)


def _run_demo_into(s: DemoSettings, cfg: Config, out: Path, start: float) -> dict[str, Any]:
    """`run_demo`'s work, once the config is read and `out` is claimed."""
    from .nets.weights import load_checkpoint
    from .training.engine import train

    timings: dict[str, float] = {}
    t = time.perf_counter()
    ensure_data(s)
    timings["data_s"] = time.perf_counter() - t

    t = time.perf_counter()
    limit = (
        f"at most {cfg.train.max_minutes:g} minutes" if cfg.train.max_minutes > 0 else count(cfg.train.epochs, "epoch")
    )
    _log(f"training {Path(s.config).name} for {limit} ...")
    result = train(cfg, out / "train", device=s.device)
    timings["train_s"] = time.perf_counter() - t
    # The last checkpoint: the schedule has annealed by its end (budget.py), whatever the speed.
    model = load_checkpoint(out / "train" / "last.pth").model

    t = time.perf_counter()
    demo_run = score_model(model, cfg, Path(s.data_dir), out, s.device)
    demo_run["train"] = dict(
        training_speed(out / "train"),
        epochs=result["epochs"],
        final_loss=result["loss"],
        planned_epochs=cfg.train.epochs,
        budget_minutes=cfg.train.max_minutes,
    )
    timings["score_s"] = time.perf_counter() - t
    t = time.perf_counter()
    shipped = score_shipped_model(s, out / "shipped_model")
    timings["shipped_model_s"] = time.perf_counter() - t
    reference = ("shipped model", shipped["coco_gt_boxes"]["AP"]) if shipped else None
    demo_run["curves"] = plot_curves(out / "train", out, reference)
    timings["total_s"] = time.perf_counter() - start
    metrics = {VERSION_KEY: package_version(), "demo_run": demo_run, "shipped_model": shipped, "timings": timings}
    atomic_write_json(out / "metrics.json", _nan_to_none(metrics), indent=1)
    print_summary(metrics, out)
    return metrics


def training_speed(train_dir: Path) -> dict[str, float]:
    """Samples per second and minutes of training, from the run's epoch records."""
    from .training.train_log import read_metrics

    epochs = [r for r in read_metrics(train_dir / "metrics.jsonl") if r.get("tag") == "epoch"]
    seconds = sum(float(r.get("seconds", 0.0)) for r in epochs)
    samples = sum(float(r.get("samples_per_s", 0.0)) * float(r.get("seconds", 0.0)) for r in epochs)
    return {"samples_per_s": samples / seconds if seconds else float("nan"), "train_minutes": seconds / 60.0}


def _nan_to_none(obj: Any) -> Any:
    """NaN -> None (JSON null), recursively: MOTP and precision are NaN when nothing matched,
    and a bare NaN is not JSON."""
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    return None if isinstance(obj, float) and obj != obj else obj


def print_summary(m: dict[str, Any], out: Path) -> None:
    print()
    t = m["demo_run"]["train"]
    print(f"simplepose demo finished in {m['timings']['total_s'] / 60:.1f} min")
    rate = t.get("samples_per_s", float("nan"))
    planned, budget = t.get("planned_epochs"), t.get("budget_minutes")
    print(
        f"  this machine trained at {rate:.0f} samples/s: {t['epochs']} of {count(planned, 'epoch')} "
        f"in {t.get('train_minutes', 0.0):.1f} min"
    )
    if budget and t["epochs"] == planned:
        print(f"    all epochs fitted in the {budget:g}-minute budget; the learning rate followed the epochs")
    elif budget:
        print(
            f"    the {budget:g}-minute budget ended first and the learning rate followed the clock to its end: "
            f"fewer samples than the {planned} planned {plural(planned, 'epoch')} hold, "
            "so a lower AP than a faster machine reaches"
        )
    for label, r in (("demo run (trained just now)", m["demo_run"]), ("shipped model", m["shipped_model"])):
        if r is None:
            continue
        g, d, p = r["coco_gt_boxes"], r["coco_detections"], r["posetrack"]
        extra = ""
        if "training" in r:
            t = r["training"]
            extra = f" - trained {count(t.get('epochs', '?'), 'epoch')}, {t.get('train_minutes', 0):.0f} min"
            parent = t.get("started_from")
            if parent:
                extra += (
                    f", starting from {parent['file']} ({count(parent.get('epochs', '?'), 'epoch')}, "
                    f"{parent.get('train_minutes', 0):.0f} min)"
                )
        print(f"  {label}{extra}")
        print(f"    COCO AP, synthetic val, GT boxes:       {g['AP']:.3f}  (AP50 {g['AP50']:.3f}, AR {g['AR']:.3f})")
        print(f"    COCO AP, synthetic val, detector boxes: {d['AP']:.3f}  (AP50 {d['AP50']:.3f}, AR {d['AR']:.3f})")
        fps = p["frames_per_second"]
        print(
            f"    PoseTrack on synthetic videos:          mAP {p['mAP']:.1f}  MOTA {p['MOTA']:.1f}"
            + (f"  ({fps:.1f} frames/s)" if fps else "")
        )
    print(f"  report: {out}/ (metrics.json, loss.png, ap.png, pictures/, tracking/, shipped_model/)")
