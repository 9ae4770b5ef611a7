"""A simulated person detector: what a real one returns for the synthetic images.

Boxes are the people's visible boxes with jittered edges, scored higher for large and
well-visible people; small, heavily hidden people are missed more often (about 10% in
all), and a few false positives and duplicate boxes appear, with low scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def detect(
    rng: np.random.Generator,
    boxes: Sequence[Sequence[float]],
    visible_fraction: Sequence[float],
    width: int,
    height: int,
    miss_rate: float = 0.1,
    false_positives: float = 0.3,
    missed: Sequence[bool] = (),
) -> list[dict]:
    """Detections [{"bbox": [x, y, w, h], "score": s}] for one image.

    Args:
        boxes: the people's visible boxes (x, y, w, h), (N, 4).
        visible_fraction: per person, the fraction of the 17 joints that are visible (N,).
        miss_rate: mean probability of missing a person.
        false_positives: expected number of spurious boxes per image.
        missed: optional (N,) forced misses (videos keep a miss going for a few frames).
    """
    out: list[dict[str, Any]] = []
    for i, (box, vis) in enumerate(zip(boxes, visible_fraction)):
        x, y, w, h = (float(b) for b in box)
        size = np.sqrt(max(w * h, 1.0))
        # Harder (smaller, more hidden) people are missed more. Hardness averages about 0.27
        # over the default scenes, so the mean miss probability comes out near miss_rate.
        hardness = 0.5 * (1.0 - min(1.0, size / 80.0)) + 0.5 * (1.0 - vis)
        p_miss = min(0.9, miss_rate * (0.25 + 2.8 * hardness))
        if (missed and missed[i]) or rng.random() < p_miss:
            continue
        j = rng.normal(0, 0.06, 4) * np.array([w, h, w, h])
        x0, y0 = x + j[0], y + j[1]
        x1, y1 = x + w + j[2], y + h + j[3]
        x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(width - 1.0, x1), min(height - 1.0, y1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        score = float(np.clip(0.55 + 0.4 * (1 - hardness) + rng.normal(0, 0.08), 0.05, 0.999))
        out.append({"bbox": [x0, y0, x1 - x0, y1 - y0], "score": score})
        if rng.random() < 0.04:  # a duplicate that escaped non-maximum suppression
            d = rng.normal(0, 0.12, 4) * np.array([w, h, w, h])
            bx = [max(0.0, x0 + d[0]), max(0.0, y0 + d[1]), max(2.0, x1 - x0 + d[2]), max(2.0, y1 - y0 + d[3])]
            out.append({"bbox": bx, "score": float(score * rng.uniform(0.3, 0.7))})
    for _ in range(rng.poisson(false_positives)):
        w = rng.uniform(0.05, 0.4) * width
        h = w * rng.uniform(1.0, 3.0)
        x0, y0 = rng.uniform(0, width - w), rng.uniform(0, max(1.0, height - h))
        h = min(h, height - 1.0 - y0)
        if h <= 0:  # an image one or two pixels high leaves no room below y0: no box (no negative height)
            continue
        out.append({"bbox": [x0, y0, w, h], "score": float(rng.uniform(0.05, 0.6))})
    for d in out:
        d["bbox"] = [round(float(v), 2) for v in d["bbox"]]
        d["score"] = round(d["score"], 4)
    return out
