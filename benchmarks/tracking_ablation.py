"""The paper's tracking ablation on synthetic videos: mAP and MOTA per row, and frames per second.

    python benchmarks/tracking_ablation.py --checkpoint CKPT --data DIR [--videos N] [--compat]
    python benchmarks/tracking_ablation.py --fake --data DIR      # GT poses + noise, no model

DIR is the output of `simplepose synth --out DIR --videos V --frames F`:
DIR/posetrack/annotations/val/<name>.json (GT), DIR/posetrack/detections/<name>.json
(detector boxes, image_id = frame id) and the frames under DIR (the GT's `file_name`s).

Rows (as in the paper's table): detector boxes only + box IoU; + flow-propagated boxes
(box IoU); + pose OKS; + flow OKS; + multi-frame flow OKS (the default tracker). Poses are
estimated once per (frame, set of boxes): rows 2-5 see the same boxes, so later rows reuse
the estimates and only the first run of each box set is timed.

`--fake` replaces the model by an estimator that returns each box's best-overlapping GT
pose with Gaussian noise (and nothing usable on a box that covers nobody): a check of the
tracking logic and of the script itself without a trained model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import cv2
import numpy as np

from simplepose.config import TrackConfig, load_config
from simplepose.core.poses import Poses
from simplepose.evaluation.posetrack import evaluate_posetrack
from simplepose.formats.posetrack import PoseTrackVideo, read_posetrack
from simplepose.tracking.pipeline import TrackingRun, run_to_posetrack
from simplepose.tracking.similarity import box_iou
from simplepose.tracking.tracker import PoseTracker

ROWS = (
    ("no propagation, box IoU", dict(propagate=False, similarity="box_iou")),
    ("propagation, box IoU", dict(propagate=True, similarity="box_iou")),
    ("propagation, pose OKS", dict(propagate=True, similarity="pose_oks")),
    ("propagation, flow OKS", dict(propagate=True, similarity="flow_oks")),
    ("propagation, multi-frame flow OKS", dict(propagate=True, similarity="multi_flow_oks")),
)


class GTEstimator:
    """Fake estimator: the GT pose (noise sigma px) of the person a box overlaps best (IoU > 0.3).

    The noise depends on (frame, person) only, so every row sees the same poses whatever the
    order of its boxes.
    """

    def __init__(self, video: PoseTrackVideo, noise: float = 2.0, seed: int = 0) -> None:
        self.video, self.noise, self.seed, self.t = video, noise, seed, 0
        self.skeleton = video.skeleton

    def __call__(self, frame: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> Poses:
        people = self.video.frames[self.t].people
        k = self.skeleton.num_joints
        kpts = np.zeros((len(boxes), k, 3))
        gt_boxes = np.array([p.box if p.box is not None else np.zeros(4) for p in people]).reshape(-1, 4)
        ious = box_iou(boxes, gt_boxes) if len(people) else np.zeros((len(boxes), 0))
        for i, box in enumerate(boxes):
            if ious.shape[1] and ious[i].max() > 0.3:
                who = int(ious[i].argmax())
                p = people[who]
                rng = np.random.default_rng([self.seed, self.t, who])
                kpts[i, :, :2] = p.keypoints[:, :2] + rng.normal(0, self.noise, (k, 2))
                kpts[i, :, 2] = np.where(p.keypoints[:, 2] > 0, 0.9, 0.1)
            else:
                kpts[i, :, :2] = (box[:2] + box[2:]) / 2
                kpts[i, :, 2] = 0.05
        return Poses(kpts, np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64))


class CachedEstimator:
    """Memoises an estimator on (video, frame, boxes) and times the uncached calls."""

    def __init__(self, estimate) -> None:
        self.estimate, self.cache, self.seconds, self.key = estimate, {}, 0.0, ("", 0)

    def __call__(self, frame: np.ndarray, boxes: np.ndarray, scores: np.ndarray) -> Poses:
        key = self.key + (np.round(boxes, 3).tobytes(), np.round(scores, 6).tobytes())
        if key not in self.cache:
            tic = time.perf_counter()
            self.cache[key] = self.estimate(frame, boxes, scores)
            self.seconds += time.perf_counter() - tic
        return self.cache[key]


def load_videos(
    data: Path, limit: int
) -> list[tuple[PoseTrackVideo, dict[int, tuple[np.ndarray, np.ndarray]], list[np.ndarray]]]:
    from simplepose.formats.detections import load_detections

    gt_files = sorted((data / "posetrack" / "annotations" / "val").glob("*.json"))[: limit or None]
    if not gt_files:
        raise SystemExit(f"no GT files under {data}/posetrack/annotations/val (run `simplepose synth` first)")
    out = []
    for path in gt_files:
        gt = read_posetrack(path)
        dets = load_detections(data / "posetrack" / "detections" / path.name)
        dets = {k: (np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1), s) for k, (b, s) in dets.items()}
        frames = []
        for f in gt.frames:
            img = cv2.imread(str(data / f.file_name), cv2.IMREAD_COLOR)
            if img is None:
                raise SystemExit(f"cannot read frame {data / f.file_name}")
            frames.append(img)
        out.append((gt, dets, frames))
    return out


def run_row(videos, settings: TrackConfig, estimators, skeleton) -> tuple[list[PoseTrackVideo], float, int]:
    """Track every video with `settings`; returns predictions, tracking seconds, frames."""
    preds, seconds, count = [], 0.0, 0
    for (gt, dets, frames), est in zip(videos, estimators):
        tracker = PoseTracker(skeleton, est, settings)
        run = TrackingRun()
        for t, frame in enumerate(frames):
            est.key = (gt.name, t)
            if hasattr(est.estimate, "t"):
                est.estimate.t = t
            boxes, scores = dets.get(gt.frames[t].image_id, (np.zeros((0, 4)), np.zeros(0)))
            tic = time.perf_counter()
            run.poses.append(tracker.step(frame, boxes, scores))
            seconds += time.perf_counter() - tic
        count += len(frames)
        preds.append(run_to_posetrack(gt.name, run, skeleton, settings.keypoint_thresh, gt, layout="model"))
    return preds, seconds, count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--checkpoint")
    ap.add_argument("--fake", action="store_true", help="GT poses + noise instead of a model")
    ap.add_argument("--videos", type=int, default=0, help="use the first N videos (0 = all)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compat", action="store_true", help="also print the official tool's numbers")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="track.KEY=VALUE")
    ap.add_argument("--out", type=Path, help="write the table as JSON here")
    args = ap.parse_args()
    if not args.fake and not args.checkpoint:
        raise SystemExit("give --checkpoint CKPT or --fake")
    videos = load_videos(args.data, args.videos)
    if args.fake:
        bases = [GTEstimator(gt) for gt, _, _ in videos]
        skeleton = videos[0][0].skeleton
    else:
        from simplepose.inference.predictor import TopDownPredictor
        from simplepose.nets.weights import load_checkpoint

        loaded = load_checkpoint(args.checkpoint)
        predictor = TopDownPredictor.from_config(loaded.model, loaded.config or load_config(None), device=args.device)
        bases = [predictor] * len(videos)
        skeleton = predictor.skeleton
    estimators = [CachedEstimator(b) for b in bases]
    base = load_config(None, args.overrides).track
    frames = sum(len(f) for _, _, f in videos)
    print(
        f"{len(videos)} videos, {frames} frames, {'fake GT estimator' if args.fake else args.checkpoint}, "
        f"flow {base.flow}/{base.dis_preset} at max side {base.flow_max_side}"
    )
    # IDsw: identity switches summed over the joint types (CLEAR-MOT counts them per joint).
    header = f"{'row':36s} {'mAP':>6s} {'MOTA':>6s} {'MOTP':>6s} {'IDsw':>6s}" + (
        "  poseval mAP  MOTA" if args.compat else ""
    )
    print(header)
    print("-" * len(header))
    # The default tracker (last row) runs first, so that its poses are estimated (and timed)
    # by its own run; rows 2-4 see the same boxes and reuse them.
    results = {}
    for index in [len(ROWS) - 1] + list(range(len(ROWS) - 1)):
        name, change = ROWS[index]
        settings = dataclasses.replace(base, **change)
        est_before = sum(e.seconds for e in estimators)
        preds, seconds, count = run_row(videos, settings, estimators, skeleton)
        est_new = sum(e.seconds for e in estimators) - est_before
        results[index] = (preds, seconds, count, est_new)
    table = []
    for index, (name, _) in enumerate(ROWS):
        preds, seconds, count, est_new = results[index]
        pairs = [(gt, p) for (gt, _, _), p in zip(videos, preds)]
        m = evaluate_posetrack(pairs)
        sw = sum(j["switches"] for j in m["joints"].values())
        row = {
            "row": name,
            "mAP": m["mAP"],
            "MOTA": m["MOTA"],
            "MOTP": m["MOTP"],
            "id_switches": sw,
            "seconds": seconds,
            "estimation_seconds_uncached": est_new,
            "frames": count,
        }
        line = f"{name:36s} {m['mAP']:6.1f} {m['MOTA']:6.1f} {m['MOTP']:6.1f} {sw:6d}"
        if args.compat:
            try:
                c = evaluate_posetrack(pairs, compat=True)
                line += f"  {c['mAP']:11.1f} {c['MOTA']:5.1f}"
            except ValueError:
                line += "  (the official tool needs PoseTrack's joints)"
        print(line)
        table.append(row)
    # Speed of the default tracker, which ran first and so estimated every pose itself (later
    # rows reuse its estimates wherever their boxes coincide, so their times are not comparable).
    r = table[-1]
    track_only = r["seconds"] - r["estimation_seconds_uncached"]
    print()
    print(
        f"{r['row']}: {r['frames'] / r['seconds']:.1f} frames/s end to end ({args.device}); "
        f"without pose estimation (flow, boxes, matching): {r['frames'] / max(track_only, 1e-9):.1f} frames/s"
    )
    if args.out:
        args.out.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
