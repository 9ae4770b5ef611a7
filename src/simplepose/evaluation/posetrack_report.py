"""The official PoseTrack table: joint groups (Head, Shou, ..., Ankl) and Total, printed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.words import count

# The official table's columns; a joint falls in the first group whose key its name holds.
GROUPS = (
    ("Head", ("nose", "head", "eye", "ear", "neck")),
    ("Shou", ("shoulder",)),
    ("Elb", ("elbow",)),
    ("Wri", ("wrist",)),
    ("Hip", ("hip",)),
    ("Knee", ("knee",)),
    ("Ankl", ("ankle",)),
)


def nanmean(values: Sequence[float]) -> float:
    """Mean of the values that are not NaN (NaN when none is)."""
    v = np.asarray(values, dtype=np.float64)
    return float(v[~np.isnan(v)].mean()) if np.any(~np.isnan(v)) else float("nan")


def group_means(joints: Sequence[str], values: Sequence[float]) -> dict[str, float]:
    """The official table's columns (Head, Shou, ..., Ankl) as means of their joints, and Total."""
    out = {}
    for group, _keys in GROUPS:
        out[group] = nanmean([v for n, v in zip(joints, values) if _group(n) == group])
    out["Total"] = nanmean(values)
    return out


def _group(name: str) -> str | None:
    for group, keys in GROUPS:
        if any(k in name for k in keys):
            return group
    return None


def format_tables(metrics: dict) -> str:
    """The per-joint-group AP and MOTA tables and the MOT totals, as the official tool prints them."""
    cols = [g for g, _ in GROUPS] + ["Total"]
    head = "| " + " | ".join(f"{c:>5}" for c in cols) + " |"
    rule = "|" + "|".join("-" * 7 for _ in cols) + "|"

    def row(values: dict[str, float]) -> str:
        return "| " + " | ".join(f"{values[c]:5.1f}" for c in cols) + " |"

    lines = [
        f"PoseTrack evaluation ({metrics['mode']}): {count(metrics['num_videos'], 'video')}, "
        f"{count(metrics['num_frames'], 'frame')}",
        "Average Precision (AP):",
        head,
        rule,
        row(metrics["groups"]["AP"]),
        "",
        "MOTA:",
        head,
        rule,
        row(metrics["groups"]["MOTA"]),
        "",
        f"mAP {metrics['mAP']:.1f}  MOTA {metrics['MOTA']:.1f}  MOTP {metrics['MOTP']:.1f}  "
        f"precision {metrics['precision']:.1f}  recall {metrics['recall']:.1f}",
    ]
    return "\n".join(lines)
