"""HeatmapCodec: keypoints <-> Gaussian heatmaps, exactly as the paper's code does it.

Pixel convention: heatmap pixel (i, j) holds the sample at heatmap coordinate x = i, y = j;
an input-crop coordinate x maps to heatmap coordinate x / stride (stride = input / heatmap
size, 4 for the paper's models). Decoded coordinates go back to the image through the
inverse crop affine built for the *heatmap* size (`geometry.crop_affine`), as the paper's
`transform_preds` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .geometry import crop_affine, crop_affine_udp, warp_points

#: Decoders: name -> (refinement, coordinate mapping).
#: "paper": quarter-pixel step, paper crop affine (the default); "dark": Taylor refinement
#: of the log of the blurred heatmap (Zhang et al. 2020); "udp": quarter step with the
#: unbiased (size - 1) mapping (Huang et al. 2020); "udp-dark": both refinements combined;
#: "mmpose": the quarter step as mmpose takes it, each axis on its own (`quarter_offset`), for
#: the models of mmpose's zoo (it differs from "paper" only at peaks next to the border).
DECODERS = {
    "paper": ("quarter", "paper"),
    "mmpose": ("quarter-axis", "paper"),
    "dark": ("taylor", "paper"),
    "udp": ("quarter", "udp"),
    "udp-dark": ("taylor", "udp"),
}
ENCODINGS = ("paper", "udp")


class HeatmapCodec:
    """Encode keypoints as heatmap targets and decode heatmaps to keypoints.

    Args:
        input_size: network input (w, h), e.g. (192, 256).
        heatmap_size: heatmap (w, h), e.g. (48, 64).
        sigma: Gaussian standard deviation in heatmap pixels (2 at 64x48, 3 at 96x72).
        encoding: "paper" (peak on the nearest heatmap pixel, stride in / hm) or "udp"
            (peak at the exact sub-pixel position, stride (in - 1) / (hm - 1)).
        decoder: one of `DECODERS` ("paper" by default).
        blur_kernel: DARK's Gaussian blur kernel (odd); 0 = 6 * sigma - 1 (11 for sigma 2).
    """

    def __init__(
        self,
        input_size: Sequence[int],
        heatmap_size: Sequence[int],
        sigma: float = 2.0,
        encoding: str = "paper",
        decoder: str = "paper",
        blur_kernel: int = 0,
    ) -> None:
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, not {encoding!r}")
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {sorted(DECODERS)}, not {decoder!r}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = float(sigma)
        self.encoding = encoding
        self.decoder = decoder
        self.blur_kernel = int(blur_kernel) or (int(6 * self.sigma - 1) | 1)
        if min(self.input_size + self.heatmap_size) < 1:
            raise ValueError(f"input size {self.input_size} and heatmap size {self.heatmap_size} must be positive")
        if (encoding == "udp" or self.udp) and min(self.input_size + self.heatmap_size) < 2:
            # UDP maps sizes as (size - 1): a side of one pixel would divide by zero.
            raise ValueError(
                f"UDP (encoding {encoding!r}, decoder {decoder!r}) needs input and heatmap sides of 2 or more, "
                f"not input {self.input_size} and heatmaps {self.heatmap_size} (w, h)"
            )
        insize = np.array(self.input_size, dtype=np.float64)
        hmsize = np.array(self.heatmap_size, dtype=np.float64)
        # Input pixels per heatmap pixel.
        self.stride = (insize - 1.0) / (hmsize - 1.0) if encoding == "udp" else insize / hmsize

    @property
    def udp(self) -> bool:
        """Whether decoded coordinates map back with the UDP (size - 1) crop."""
        return DECODERS[self.decoder][1] == "udp"

    # ------------------------------------------------------------------ encode
    def encode(self, keypoints: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian targets for one person.

        Args:
            keypoints: (K, 2) joint positions in input-crop pixels.
            visible: (K,) visibility; any value > 0 supervises the joint.
        Returns:
            heatmaps (K, h, w) float32 with peak 1 at the joint rounded to the nearest
            heatmap pixel (the official `int(x / stride + 0.5)`), and weights (K,) float32:
            0 for an unlabelled joint or one whose 6*sigma+1 window lies wholly off the map.
        """
        w, h = self.heatmap_size
        k = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
        num = k.shape[0]
        heatmaps = np.zeros((num, h, w), dtype=np.float32)
        weights = (np.asarray(visible).reshape(-1) > 0).astype(np.float32)

        tmp = self.sigma * 3
        size = int(2 * tmp + 1)
        g0 = size // 2
        # int() of the official code truncates toward zero; np.trunc keeps that exactly.
        exact = k / self.stride
        mu = np.trunc(exact + 0.5).astype(np.int64)
        ul = np.trunc(mu - tmp).astype(np.int64)
        br = np.trunc(mu + tmp + 1).astype(np.int64)
        # The official bounds test: br is one past the window, so a window ending at pixel -1
        # (wholly off the map) keeps weight 1 with an all-zero target; kept for exactness.
        off = (ul[:, 0] >= w) | (ul[:, 1] >= h) | (br[:, 0] < 0) | (br[:, 1] < 0)
        weights[off] = 0.0

        # All joints at once (no per-joint Python loop in the data hot path): each joint's
        # size x size window of Gaussian values, scattered into its map where it lies inside.
        xs = np.arange(size, dtype=np.float32)
        js = np.flatnonzero(weights > 0)
        if self.encoding == "udp":
            # UDP: the Gaussian is centred on the exact joint, not on the rounded pixel.
            gc = g0 + exact[js] - mu[js]  # (J, 2) window-relative centres
            dx2 = (xs[None, None, :] - gc[:, 0, None, None]) ** 2
            dy2 = (xs[None, :, None] - gc[:, 1, None, None]) ** 2
            g = np.exp(-(dx2 + dy2) / (2 * self.sigma**2))
        else:
            g = np.exp(-((xs[None, :] - g0) ** 2 + (xs[:, None] - g0) ** 2) / (2 * self.sigma**2))
            g = np.broadcast_to(g, (len(js), size, size))
        ar = np.arange(size)
        hx, hy = ul[js, 0, None] + ar, ul[js, 1, None] + ar  # (J, size): map columns / rows of the windows
        # Inside the map and before `br` (the official slice end, which trunc() can pull one
        # pixel short of the window for negative coordinates).
        inside = ((hy >= 0) & (hy < np.minimum(br[js, 1, None], h)))[:, :, None] & (
            (hx >= 0) & (hx < np.minimum(br[js, 0, None], w))
        )[:, None, :]
        flat = (js[:, None, None] * h + hy[:, :, None]) * w + hx[:, None, :]
        heatmaps.reshape(-1)[flat[inside]] = g[inside]
        return heatmaps, weights

    # ------------------------------------------------------------------ decode
    def decode(
        self,
        heatmaps: np.ndarray,
        centers: np.ndarray | None = None,
        scales: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps -> keypoints, the paper's `get_final_preds`.

        Args:
            heatmaps: (N, K, h, w).
            centers, scales: (N, 2) crop centres and sizes in image pixels; when given the
                keypoints are returned in image pixels, otherwise in heatmap pixels.
        Returns:
            keypoints (N, K, 2) float64 and scores (N, K) float32 (the heatmap peak value,
            before any refinement, as the paper's code reports it).
        """
        heatmaps = np.asarray(heatmaps, dtype=np.float32)
        coords, maxvals = argmax_peaks(heatmaps)
        if DECODERS[self.decoder][0] == "taylor":
            from .refine import taylor_offset

            coords = coords + taylor_offset(heatmaps, coords, self.blur_kernel)
        else:
            coords = coords + quarter_offset(heatmaps, coords, per_axis=DECODERS[self.decoder][0] == "quarter-axis")
        if centers is not None:
            if scales is None:
                raise ValueError("decode: centers given without scales (both or neither)")
            coords = self.to_image(coords, centers, scales)
        return coords, maxvals

    def to_image(self, coords: np.ndarray, centers: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Heatmap coordinates (N, K, 2) -> image pixels through each crop's inverse affine.

        The affine is built for the heatmap size, with the paper's crop or, for the UDP
        decoders, the UDP crop (`geometry.crop_affine_udp`).
        """
        out = np.empty_like(coords, dtype=np.float64)
        affine = crop_affine_udp if self.udp else crop_affine
        for n in range(coords.shape[0]):
            inv = affine(centers[n], scales[n], 0.0, self.heatmap_size, inverse=True)
            out[n] = warp_points(coords[n], inv)
        return out


def argmax_peaks(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint argmax: (N, K, h, w) -> integer coords (N, K, 2) float64, peaks (N, K) float32.

    As the paper's `get_max_preds`, a joint whose peak is not positive gets coordinates (0, 0).
    """
    hm = np.asarray(heatmaps)
    n, k, h, w = hm.shape
    flat = hm.reshape(n, k, h * w)
    idx = flat.argmax(axis=2)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0].astype(np.float32)
    coords = np.stack([idx % w, idx // w], axis=-1).astype(np.float64)
    coords *= (maxvals > 0.0)[..., None]
    return coords, maxvals


def quarter_offset(heatmaps: np.ndarray, coords: np.ndarray, per_axis: bool = False) -> np.ndarray:
    """The quarter-pixel step toward the higher neighbour, (N, K, 2).

    The paper steps both axes only where 1 < px < w - 1 and 1 < py < h - 1 (the official
    bounds, which also skip the second row and column). With `per_axis` (mmpose's
    `refine_keypoints`) each axis is tested on its own: x steps where 1 < px < w - 1 and
    py > 0, y where 1 < py < h - 1 and px > 0, so a peak on a border row still moves in x.
    """
    hm = np.asarray(heatmaps)
    n, k, h, w = hm.shape
    px = np.floor(coords[..., 0] + 0.5).astype(np.int64)
    py = np.floor(coords[..., 1] + 0.5).astype(np.int64)
    in_x, in_y = (px > 1) & (px < w - 1), (py > 1) & (py < h - 1)
    if per_axis:
        use_x, use_y = in_x & (py > 0), in_y & (px > 0)
    else:
        use_x = use_y = in_x & in_y
    pxc, pyc = np.clip(px, 1, w - 2), np.clip(py, 1, h - 2)
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    dx = hm[ni, ki, py, pxc + 1] - hm[ni, ki, py, pxc - 1]
    dy = hm[ni, ki, pyc + 1, px] - hm[ni, ki, pyc - 1, px]
    step = np.stack([np.sign(dx) * use_x, np.sign(dy) * use_y], axis=-1).astype(np.float64) * 0.25
    return step


def flip_heatmaps_back(heatmaps: np.ndarray, flip_index: Sequence[int] | np.ndarray, shift: bool = True) -> np.ndarray:
    """Heatmaps of a mirrored crop -> heatmaps in the unmirrored crop's frame, (N, K, h, w).

    Mirrors the width axis and reorders channels so channel j holds joint j again (the
    paper's `flip_back`); with `shift` every column moves one pixel right, column 0 keeping
    its own value, as the paper's validation code does (the mirrored input x -> W - 1 - x
    lands 0.75 heatmap pixels off the mirrored heatmap; the paper rounds that to 1). UDP's
    crop needs no shift.
    """
    out = np.asarray(heatmaps)[:, np.asarray(flip_index), :, ::-1].copy()
    if shift:
        out[..., 1:] = out[..., :-1].copy()
    return out
