"""The one crop and normalisation used by training, evaluation, prediction and tracking."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .geometry import compose, crop_affine, crop_affine_udp, hflip_affine


def crop_matrix(
    center: Sequence[float] | np.ndarray,
    scale: Sequence[float] | np.ndarray,
    rot: float,
    out_size: Sequence[int],
    flip_width: float = 0.0,
    udp: bool = False,
) -> np.ndarray:
    """2x3 affine image -> crop; with `flip_width` > 0 the image is mirrored first.

    The mirror is folded into the matrix (x -> flip_width - 1 - x, and the centre moves with
    it), so a flipped crop costs one warp, like an unflipped one. `udp` selects the UDP crop
    (`geometry.crop_affine_udp`) instead of the paper's.
    """
    affine = crop_affine_udp if udp else crop_affine
    if flip_width > 0:
        mirrored_center = np.array([flip_width - 1 - center[0], center[1]], dtype=np.float64)
        return compose(affine(mirrored_center, scale, rot, out_size), hflip_affine(flip_width))
    return affine(center, scale, rot, out_size)


def warp_crop(image: np.ndarray, matrix: np.ndarray, out_size: Sequence[int]) -> np.ndarray:
    """Warp an (H, W, 3) uint8 image into an (out_h, out_w, 3) crop; outside pixels are 0.

    Bilinear, as the paper's code (cv2.warpAffine with INTER_LINEAR and a black border).
    """
    import cv2

    return cv2.warpAffine(
        image,
        np.asarray(matrix, dtype=np.float64)[:2],
        (int(out_size[0]), int(out_size[1])),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


class Normalize:
    """uint8 BGR crops (N, H, W, 3) -> float tensors (N, 3, H, W) for the network.

    `color` is the channel order the network expects: the paper's checkpoints were trained
    on BGR pixels (OpenCV's order) normalised with the *RGB* ImageNet mean and std, so the
    paper configuration is color="bgr" with the RGB statistics, applied channel by channel
    in that order.
    """

    def __init__(
        self,
        color: str = "bgr",
        mean: Sequence[float] = (0.485, 0.456, 0.406),
        std: Sequence[float] = (0.229, 0.224, 0.225),
    ) -> None:
        if color not in ("bgr", "rgb"):
            raise ValueError(f"color must be 'bgr' or 'rgb', not {color!r}")
        self.color = color
        self.mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255.0

    def __call__(self, crops_bgr: np.ndarray | torch.Tensor) -> torch.Tensor:
        """(N, H, W, 3) or (H, W, 3) uint8, an array or a tensor on any device -> (N, 3, H, W) float32
        on that device; the same arithmetic everywhere, so a batch normalised on a GPU equals the
        one a loader worker would have made."""
        x = crops_bgr if torch.is_tensor(crops_bgr) else torch.from_numpy(np.ascontiguousarray(crops_bgr))
        if x.dim() == 3:
            x = x.unsqueeze(0)
        x = x.permute(0, 3, 1, 2).float()
        if self.color == "rgb":
            x = x.flip(1)
        return (x - self.mean.to(x.device)) / self.std.to(x.device)


def crop_people(
    image: np.ndarray,
    centers: np.ndarray,
    scales: np.ndarray,
    out_size: Sequence[int],
    udp: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Crops (N, out_h, out_w, 3) of one image for N crop boxes, and their matrices (N, 2, 3)."""
    n = len(centers)
    crops = np.zeros((n, int(out_size[1]), int(out_size[0]), 3), dtype=np.uint8)
    mats = np.zeros((n, 2, 3))
    for i in range(n):
        mats[i] = crop_matrix(centers[i], scales[i], 0.0, out_size, udp=udp)
        crops[i] = warp_crop(image, mats[i], out_size)
    return crops, mats
