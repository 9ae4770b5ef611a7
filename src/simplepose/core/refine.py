"""DARK's sub-pixel refinement (Zhang et al. 2020, "Distribution-Aware Coordinate
Representation for Human Pose Estimation").

The heatmap is modulated (Gaussian blur, rescaled to its old peak), its log taken, and the
peak moved by one Newton step of the second-order Taylor expansion of that log around the
argmax: offset = -H^-1 g, with central differences as in the authors' code.
"""

from __future__ import annotations

import numpy as np


def modulate(heatmaps: np.ndarray, kernel: int) -> np.ndarray:
    """Blur each (h, w) map with a `kernel` x `kernel` Gaussian (zero border), keep its peak.

    (N, K, h, w) -> (N, K, h, w) float64. The blur's sigma follows from the kernel size, as
    OpenCV's GaussianBlur does with sigma 0 (the authors' choice).
    """
    import cv2

    hm = np.asarray(heatmaps, dtype=np.float64)
    n, k, h, w = hm.shape
    border = (kernel - 1) // 2
    # One blur over all maps: pad each map with zeros, stack them side by side along width.
    padded = np.zeros((n * k, h + 2 * border, w + 2 * border))
    padded[:, border : border + h, border : border + w] = hm.reshape(n * k, h, w)
    out = np.empty_like(padded)
    for i in range(n * k):
        out[i] = cv2.GaussianBlur(padded[i], (kernel, kernel), 0)
    out = out[:, border : border + h, border : border + w].reshape(n, k, h, w)
    old_max = hm.reshape(n, k, -1).max(axis=2)
    new_max = out.reshape(n, k, -1).max(axis=2)
    ratio = np.divide(old_max, new_max, out=np.zeros_like(old_max), where=new_max > 0)
    return out * ratio[..., None, None]


def taylor_offset(heatmaps: np.ndarray, coords: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK offsets (N, K, 2) to add to integer argmax `coords` (N, K, 2).

    Applied where 1 < px < w - 2 and 1 < py < h - 2 (the second derivatives need two
    neighbours on each side) and the Hessian is invertible; elsewhere 0.
    """
    logm = np.log(np.maximum(modulate(heatmaps, kernel), 1e-10))
    n, k, h, w = logm.shape
    px = coords[..., 0].astype(np.int64)
    py = coords[..., 1].astype(np.int64)
    inside = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2)
    px, py = np.clip(px, 2, w - 3), np.clip(py, 2, h - 3)
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")

    def at(dy: int, dx: int) -> np.ndarray:
        return logm[ni, ki, py + dy, px + dx]

    c = at(0, 0)
    dx = 0.5 * (at(0, 1) - at(0, -1))
    dy = 0.5 * (at(1, 0) - at(-1, 0))
    dxx = 0.25 * (at(0, 2) - 2 * c + at(0, -2))
    dxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    dyy = 0.25 * (at(2, 0) - 2 * c + at(-2, 0))
    det = dxx * dyy - dxy**2
    ok = inside & (det != 0)
    safe = np.where(ok, det, 1.0)
    # -H^-1 g with H = [[dxx, dxy], [dxy, dyy]]
    ox = -(dyy * dx - dxy * dy) / safe
    oy = -(-dxy * dx + dxx * dy) / safe
    return np.stack([ox, oy], axis=-1) * ok[..., None]
