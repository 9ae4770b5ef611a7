"""PoseTrack evaluation: per-joint AP (mAP) and CLEAR-MOT MOTA/MOTP/precision/recall.

Our own implementation of the official protocol (poseval, as used for PoseTrack 2017/2018):

* A predicted joint matches a ground-truth joint when their distance divided by the head
  size (0.6 x the diagonal of the GT head box) is at most 0.5.
* AP: in each frame, predicted people are assigned to GT people by PCKh (the fraction of the
  GT person's annotated joints matched), not by score: each prediction keeps its best GT,
  each GT the best of the predictions that kept it. A prediction's joints are true positives
  where they match the joints of its GT person; every other predicted joint is a false
  positive. AP per joint type from the precision/recall curve (VOC area), over all frames of
  all videos; Total is the mean over joint types.
* MOTA per joint type by CLEAR-MOT (`clear_mot.py`), where only pairs that match count;
  MOTA = 1 - (misses + switches + false positives) / objects, MOTP = 1 - mean normalised
  distance of matched pairs, precision and recall of the matched joints. In percent.
* Points inside an ignore region (GT or predicted) are removed; people left without points
  are removed.

Two modes:

* default (corrected): evaluates the labelled frames (`is_labeled`); a frame without
  predictions counts every annotated GT joint as a miss; every frame of a sequence counts;
  MOTP uses the matched distances only; a GT joint counts when its visibility is > 0;
  joints are matched by name between the GT file and
  the prediction file, so a COCO-joint model is scored on the joints both have (and on no
  joint the GT never annotates, such as PoseTrack's ears).
* `compat=True` (poseval): exactly what the official tool computes with current
  py-motmetrics: the 15 PoseTrack joints; frames kept where the GT has people; the last of
  these frames of each sequence skipped in MOTA; a frame where GT or predictions are empty
  counts one dummy object and one dummy hypothesis per joint type instead of the real ones;
  MOTP computed from every distance py-motmetrics records (all finite pairs, plus the
  distances of its transfer events), which is why its MOTP is wrong. GT files are read in
  directory order, as the official tool does (the order of tied scores moves AP slightly).
  Checked against poseval (master) with py-motmetrics 1.4.0 on random sequences with id
  switches, misses, empty frames and ignore regions: all totals and per-joint values equal
  to 1e-13.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.skeleton import common_joints
from ..formats.posetrack import POSEVAL_JOINTS, PoseTrackFrame, PoseTrackVideo, read_posetrack
from .clear_mot import MotAccumulator
from .pckh import HEAD_SIZE_FACTOR  # head size = 0.6 x head box diagonal, as in PCKh
from .polygon import points_in_polygon
from .posetrack_report import group_means, nanmean

DIST_THRESH = 0.5  # PCKh@0.5


@dataclass
class FrameData:
    """One evaluated frame, restricted to the evaluated joints (J of them).

    gt_ids (G,), gt_xy (G, J, 2), gt_has (G, J), head (G,); pr_ids (P,), pr_xy (P, J, 2),
    pr_has (P, J), pr_score (P, J). `pr_people` counts the predicted people the official tool
    sees (it keeps people without points outside ignore regions).
    """

    gt_ids: np.ndarray
    gt_xy: np.ndarray
    gt_has: np.ndarray
    head: np.ndarray
    pr_ids: np.ndarray
    pr_xy: np.ndarray
    pr_has: np.ndarray
    pr_score: np.ndarray
    pr_people: int


def _people_arrays(people, index: list[int | None], with_scores: bool, by_visibility: bool = False):
    n, j = len(people), len(index)
    ids = np.array([p.track_id for p in people], dtype=np.int64)
    xy = np.zeros((n, j, 2))
    has = np.zeros((n, j), dtype=bool)
    score = np.zeros((n, j))
    for a, p in enumerate(people):
        for b, k in enumerate(index):
            if k is None:
                continue
            xy[a, b] = p.keypoints[k, :2]
            has[a, b] = p.labelled[k] if by_visibility else p.annotated[k]
            if with_scores:
                score[a, b] = p.scores[k] if p.scores is not None else -9999.0  # poseval's fallback
    return ids, xy, has, score


def _frame_data(gt: PoseTrackFrame, pr: PoseTrackFrame, gt_index, pr_index, where: str, compat: bool) -> FrameData:
    # GT joints: visibility > 0 (COCO's rule; the same joints as poseval's on PoseTrack files,
    # and right on COCO-style files that keep coordinates of unlabelled joints); compat: poseval's.
    gt_ids, gt_xy, gt_has, _ = _people_arrays(gt.people, gt_index, False, by_visibility=not compat)
    pr_ids, pr_xy, pr_has, pr_score = _people_arrays(pr.people, pr_index, True)
    if len(set(pr_ids.tolist())) != len(pr_ids):
        raise ValueError(f"{where}: track_id not unique in the frame ({pr_ids.tolist()})")
    head = np.zeros(len(gt.people))
    for a, p in enumerate(gt.people):
        if p.head_box is None:
            raise ValueError(f"{where}: GT person with track_id {p.track_id} has no 'bbox_head'")
        head[a] = HEAD_SIZE_FACTOR * np.hypot(p.head_box[2] - p.head_box[0], p.head_box[3] - p.head_box[1])
    keep_gt = np.ones(len(gt_ids), dtype=bool)
    keep_pr = pr_has.any(axis=1) | (compat and not gt.ignore_regions)
    if gt.ignore_regions:
        for has, xy in ((gt_has, gt_xy), (pr_has, pr_xy)):
            inside = np.zeros(has.shape, dtype=bool)
            for poly in gt.ignore_regions:
                inside |= points_in_polygon(xy.reshape(-1, 2), poly).reshape(has.shape)
            has &= ~inside
        keep_gt = gt_has.any(axis=1)
        keep_pr = pr_has.any(axis=1)
    return FrameData(
        gt_ids[keep_gt],
        gt_xy[keep_gt],
        gt_has[keep_gt],
        head[keep_gt],
        pr_ids[keep_pr],
        pr_xy[keep_pr],
        pr_has[keep_pr],
        pr_score[keep_pr],
        int(keep_pr.sum()),
    )


def joint_distances(f: FrameData) -> np.ndarray:
    """(P, G, J) joint distances / GT head size; inf where either side lacks the joint."""
    d = np.linalg.norm(f.pr_xy[:, None] - f.gt_xy[None], axis=3) / f.head[None, :, None]
    return np.where(f.pr_has[:, None] & f.gt_has[None], d, np.inf)


def assign_people(match: np.ndarray, gt_has: np.ndarray) -> np.ndarray:
    """poseval's person assignment by PCKh: (P,) index of the GT person of each prediction, or -1.

    Args:
        match: (P, G, J) bool, joint matches within the threshold.
        gt_has: (G, J) bool, annotated GT joints.
    """
    p, g = match.shape[:2]
    out = np.full(p, -1)
    if p == 0 or g == 0:
        return out
    n_gt = gt_has.sum(axis=1)
    pck = match.sum(axis=2) / np.where(n_gt > 0, n_gt, 1)[None]
    # Each prediction keeps only its best GT (first on ties) ...
    best_gt = pck.argmax(axis=1)
    pck = np.where(np.arange(g)[None] == best_gt[:, None], pck, 0.0)
    # ... then each GT takes the best prediction that kept it.
    best_pr = pck.argmax(axis=0)
    for gi in range(g):
        if pck[best_pr[gi], gi] > 0:
            out[best_pr[gi]] = gi
    return out


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope at the recall steps (VOC / poseval)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[i] - mrec[i - 1]) * mpre[i]))


def _ap(scores: np.ndarray, labels: np.ndarray, n_gt: int) -> float:
    if len(scores) == 0:
        return 0.0 if n_gt > 0 else float("nan")
    order = np.argsort(scores)[::-1]  # the official tool's order, ties included
    tp = np.cumsum(labels[order])
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp / n_gt
    precision = tp / np.arange(1, len(order) + 1)
    return 100.0 * voc_ap(recall, precision) if n_gt > 0 else float("nan")


def _select_joints(gt: PoseTrackVideo, pr: PoseTrackVideo, compat: bool, where: str) -> list[str]:
    if compat:
        for video, side in ((gt, "ground truth"), (pr, "prediction")):
            missing = [n for n in POSEVAL_JOINTS if n not in video.skeleton.joints]
            if missing:
                raise ValueError(f"{where}: the official tool needs all 15 PoseTrack joints; {side} lacks {missing}")
        return list(POSEVAL_JOINTS)
    return [gt.skeleton.joints[i] for i, _ in common_joints(gt.skeleton, pr.skeleton)]


def _frames(gt: PoseTrackVideo, pr: PoseTrackVideo, joints: list[str], compat: bool, where: str) -> list[FrameData]:
    if len(gt.frames) != len(pr.frames):
        raise ValueError(f"{where}: {len(pr.frames)} prediction frames but {len(gt.frames)} GT frames")
    gt_pos = {n: i for i, n in enumerate(gt.skeleton.joints)}
    pr_pos = {n: i for i, n in enumerate(pr.skeleton.joints)}
    gt_index = [gt_pos.get(n) for n in joints]
    pr_index = [pr_pos.get(n) for n in joints]
    out = []
    for i, (g, p) in enumerate(zip(gt.frames, pr.frames)):
        # The official tool keeps frames with GT people; the labelled flag says which frames
        # were annotated at all (an annotated frame may show nobody).
        if (len(g.people) > 0) if compat else g.is_labeled:
            out.append(_frame_data(g, p, gt_index, pr_index, f"{where}: frame [{i}] (image {g.image_id})", compat))
    return out


def evaluate_posetrack(
    videos: Sequence[tuple[PoseTrackVideo, PoseTrackVideo]], compat: bool = False, names: Sequence[str] = ()
) -> dict:
    """Evaluate (ground truth, prediction) video pairs.

    Returns a dict with the totals "mAP", "MOTA", "MOTP", "precision", "recall" (percent),
    "joints" ({name: {AP, MOTA, MOTP, precision, recall}}; NaN where a joint has no GT),
    "groups" (the official table's columns for AP and MOTA), "mode", "num_videos", "num_frames".
    """
    names = list(names) or [gt.name for gt, _ in videos]
    joints: list[str] | None = None
    for (gt, pr), name in zip(videos, names):
        sel = _select_joints(gt, pr, compat, name)
        joints = sel if joints is None else [n for n in joints if n in sel]
    joints = joints or []
    nj = len(joints)
    scores: list[list[np.ndarray]] = [[] for _ in range(nj)]
    labels: list[list[np.ndarray]] = [[] for _ in range(nj)]
    n_gt = np.zeros(nj, dtype=np.int64)
    total = [MotAccumulator() for _ in range(nj)]
    num_frames = 0
    for (gt, pr), name in zip(videos, names):
        frames = _frames(gt, pr, joints, compat, name)
        num_frames += len(frames)
        accs = [MotAccumulator() for _ in range(nj)]
        for t, f in enumerate(frames):
            dist = joint_distances(f)
            match = dist <= DIST_THRESH
            owner = assign_people(match, f.gt_has)
            n_gt += f.gt_has.sum(axis=0)
            for p in range(len(f.pr_ids)):
                lab = match[p, owner[p]] if owner[p] >= 0 else np.zeros(nj, dtype=bool)
                for j in np.flatnonzero(f.pr_has[p]).tolist():
                    scores[j].append(f.pr_score[p, j])
                    labels[j].append(lab[j])
            if compat and t == len(frames) - 1:
                continue  # poseval drops the last frame of each sequence from MOTA
            dummy = compat and (len(f.pr_ids) == 0 or len(f.gt_ids) == 0)
            for j in range(nj):
                if dummy:
                    accs[j].update([0], [0], np.full((1, 1), np.nan))
                    continue
                gi, pi = f.gt_has[:, j], f.pr_has[:, j]
                d = dist[:, :, j].T[gi][:, pi]
                accs[j].update(f.gt_ids[gi].tolist(), f.pr_ids[pi].tolist(), np.where(d <= DIST_THRESH, d, np.nan))
        for j in range(nj):
            _add(total[j], accs[j])
    per_joint = {}
    for j, name in enumerate(joints):
        m = _mot_metrics(total[j], compat)
        m["AP"] = _ap(np.asarray(scores[j], dtype=np.float64), np.asarray(labels[j], dtype=np.float64), int(n_gt[j]))
        per_joint[name] = m
    out: dict[str, Any] = {
        "mode": "poseval" if compat else "default",
        "num_videos": len(videos),
        "num_frames": num_frames,
    }
    for key, metric in (
        ("mAP", "AP"),
        ("MOTA", "MOTA"),
        ("MOTP", "MOTP"),
        ("precision", "precision"),
        ("recall", "recall"),
    ):
        out[key] = nanmean([per_joint[n][metric] for n in joints])
    out["joints"] = per_joint
    out["groups"] = {metric: group_means(joints, [per_joint[n][metric] for n in joints]) for metric in ("AP", "MOTA")}
    return out


def _add(total: MotAccumulator, acc: MotAccumulator) -> None:
    for name in (
        "objects",
        "matches",
        "switches",
        "misses",
        "false_positives",
        "match_distance",
        "raw_distance",
        "extra_distance",
    ):
        setattr(total, name, getattr(total, name) + getattr(acc, name))


def _mot_metrics(a: MotAccumulator, compat: bool) -> dict[str, float]:
    nan = float("nan")
    det = a.detections
    mota = 100.0 * (1.0 - (a.misses + a.switches + a.false_positives) / a.objects) if a.objects else nan
    # poseval divides py-motmetrics' whole distance column by the detections; see module doc.
    dist = a.raw_distance + a.match_distance + a.extra_distance if compat else a.match_distance
    motp = 100.0 * (1.0 - dist / det) if det else (0.0 if compat else nan)
    prec = 100.0 * det / (det + a.false_positives) if det + a.false_positives else nan
    rec = 100.0 * det / a.objects if a.objects else nan
    return {
        "MOTA": mota,
        "MOTP": motp,
        "precision": prec,
        "recall": rec,
        "switches": a.switches,
        "misses": a.misses,
        "false_positives": a.false_positives,
        "objects": a.objects,
    }


def evaluate_dirs(gt_dir: str | Path, pred_dir: str | Path, compat: bool = False) -> dict:
    """Evaluate every GT file `gt_dir/*.json` against the file of the same name in `pred_dir`."""
    # The official tool reads the files in directory order (glob), and the order of tied
    # scores moves AP slightly; compat mode reads them in that same order.
    found = glob.glob(os.path.join(str(gt_dir), "*.json"))
    gt_files = [Path(p) for p in (found if compat else sorted(found))]
    if not gt_files:
        raise FileNotFoundError(f"no PoseTrack GT files (*.json) in {gt_dir}")
    pairs = []
    for path in gt_files:
        pred = Path(pred_dir) / path.name
        if not pred.exists():
            raise FileNotFoundError(f"prediction file {pred} (for GT {path}) does not exist")
        pairs.append((read_posetrack(path), read_posetrack(pred)))
    return evaluate_posetrack(pairs, compat, [p.name for p in gt_files])
