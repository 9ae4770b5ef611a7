"""MPII PCKh, as the paper's code (`lib/dataset/mpii.py` evaluate) computes it.

A joint is correct when its distance to the ground truth is at most `threshold` x head size,
head size = 0.6 x the diagonal of the annotated head box. Per-joint rates are averaged over
left and right; "Mean" weights every joint by its number of visible instances and leaves
out pelvis and thorax. The official code's "Mean@0.1" is really read at threshold 0.11
(index 11 of np.arange(0, 0.51, 0.01)); we report the true PCKh@0.1 as "Mean@0.1" and the
official figure, for comparison only, as "Mean@0.11_compat".

The MPII JSON annotations carry no head boxes: real MPII evaluation needs the official
`gt_valid.mat` (its `headboxes_src`, `pos_gt_src`, `jnt_missing`); `load_gt_mat` reads it
when scipy is installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.fileio import MissingPackageError
from ..core.skeleton import MPII, Skeleton

#: Head size = HEAD_SIZE_FACTOR x the head box diagonal: the normaliser of PCKh (MPII) and of
#: PoseTrack's joint matching (the official MPII code names it SC_BIAS; poseval writes 0.6 inline).
HEAD_SIZE_FACTOR = 0.6
THRESHOLDS = np.arange(0, 0.5 + 0.01, 0.01)  # the official range; [10] is 0.1, [11] is 0.11
GROUPS = (
    ("Head", ("head_top",)),
    ("Shoulder", ("left_shoulder", "right_shoulder")),
    ("Elbow", ("left_elbow", "right_elbow")),
    ("Wrist", ("left_wrist", "right_wrist")),
    ("Hip", ("left_hip", "right_hip")),
    ("Knee", ("left_knee", "right_knee")),
    ("Ankle", ("left_ankle", "right_ankle")),
)
LEFT_OUT_OF_MEAN = ("pelvis", "thorax")


def pckh_rates(
    pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, head_boxes: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint PCKh in percent for each threshold, and the visible counts.

    Args:
        pred, gt: (N, K, 2) in the same pixel coordinates; visible: (N, K) bool;
        head_boxes: (N, 4) x1, y1, x2, y2; thresholds: (T,).
    Returns:
        rates (T, K) in percent (nan for a joint never visible), counts (K,).
    """
    vis = np.asarray(visible, dtype=bool)
    hb = np.asarray(head_boxes, dtype=np.float64)
    head = np.linalg.norm(hb[:, 2:] - hb[:, :2], axis=1) * HEAD_SIZE_FACTOR
    err = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=2) / head[:, None]
    counts = vis.sum(axis=0)
    hits = (err[None] <= np.asarray(thresholds)[:, None, None]) & vis[None]
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = 100.0 * hits.sum(axis=1) / counts
    return rates, counts


def pckh_table(
    pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, head_boxes: np.ndarray, skeleton: Skeleton = MPII
) -> dict[str, float]:
    """{"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean"} at 0.5, the true
    "Mean@0.1", and the official code's "Mean@0.11_compat", all in percent."""
    thr = np.array([0.5, THRESHOLDS[10], THRESHOLDS[11]])
    rates, counts = pckh_rates(pred, gt, visible, head_boxes, thr)
    idx = {n: i for i, n in enumerate(skeleton.joints)}
    out = {name: float(np.mean([rates[0, idx[j]] for j in joints])) for name, joints in GROUPS}
    in_mean = np.array([n not in LEFT_OUT_OF_MEAN for n in skeleton.joints])
    w = np.where(in_mean, counts, 0).astype(np.float64)
    w /= w.sum()
    for key, t in (("Mean", 0), ("Mean@0.1", 1), ("Mean@0.11_compat", 2)):
        out[key] = float(np.nansum(rates[t] * w))
    return out


def load_gt_mat(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The official `gt_valid.mat` -> (gt (N, 16, 2) 0-based pixels, visible (N, 16), head boxes (N, 4)).

    Needs scipy (`pip install scipy`). Its joints are 1-based (MATLAB), hence the - 1.
    """
    try:
        from scipy.io import loadmat
    except ImportError:
        raise MissingPackageError("reading the official gt_valid.mat", "scipy", "pip install scipy") from None
    if not Path(path).is_file():
        raise FileNotFoundError(f"MPII ground truth not found: {path} (the official annot/gt_valid.mat)")
    d = loadmat(str(path))
    gt = np.transpose(d["pos_gt_src"], [2, 0, 1]) - 1.0
    visible = (1 - np.transpose(d["jnt_missing"], [1, 0])).astype(bool)
    hb = d["headboxes_src"]  # (2, 2, N): [[x1, y1], [x2, y2]]
    boxes = np.concatenate([hb[0].T, hb[1].T], axis=1)
    return gt, visible, boxes


def format_pckh(table: dict[str, float]) -> str:
    names = [n for n, _ in GROUPS] + ["Mean", "Mean@0.1"]
    head = "| " + " | ".join(names) + " |"
    row = "| " + " | ".join(f"{table[n]:.2f}" for n in names) + " |"
    return f"{head}\n{row}\n(official code's 'Mean@0.1', really at 0.11: {table['Mean@0.11_compat']:.2f})"
