"""Point-in-polygon for PoseTrack ignore regions."""

from __future__ import annotations

import numpy as np


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) bool: which points lie strictly inside `polygon` (even-odd rule).

    Args:
        points: (N, 2) x, y.
        polygon: (M, 2) vertices in order; closed implicitly. Fewer than 3 vertices: empty.
    The official tool asks shapely's `Polygon.contains`, which is false on the boundary; a
    point on an edge may fall either way here, which only matters for exact edge hits.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    inside = np.zeros(len(points), dtype=bool)
    if len(poly) < 3 or len(points) == 0:
        return inside
    x, y = points[:, 0:1], points[:, 1:2]  # (N, 1) against (M,) edges
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    crosses = (y1 > y) != (y2 > y)  # the edge spans the horizontal line through the point
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    hits = crosses & (x < x_at)
    return (hits.sum(axis=1) % 2) == 1
