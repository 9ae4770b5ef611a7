"""Accuracy of every fast runtime against eager fp32: how far its keypoints move, in image
pixels, and how much COCO AP changes on the synthetic val set (GT boxes, flip test)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..config import Config
from ..core.poses import Poses
from ..core.skeleton import Skeleton
from ..core.words import count
from ..evaluation.runner import evaluate_model, evaluate_predictor
from ..inference.predictor import TopDownPredictor
from ..runtimes import BuiltRuntime
from .report import Section


def keypoints_of(predictor: TopDownPredictor, images: list[np.ndarray], boxes: list[np.ndarray]) -> np.ndarray:
    """(P, K, 2) keypoints in image pixels of every person, images in order."""
    poses = predictor.predict_batch(images, boxes)
    return np.concatenate([p.keypoints[:, :, :2] for p in poses])


#: The accuracy table's row of eager fp32 on noisy input: the floor the runtimes are judged by.
NOISE_ROW = "eager, input +-1 grey"


def grey_noise(images: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """Copies of (H, W, 3) uint8 `images` with +-1 grey level of noise (uniform in {-1, 0, 1}
    per pixel and channel, clipped): a change no one can see, and no decoder should care about."""
    rng = np.random.default_rng(seed)
    return [np.clip(im.astype(np.int16) + rng.integers(-1, 2, im.shape), 0, 255).astype(np.uint8) for im in images]


class NoisyInput:
    """`predictor` whose images get +-1 grey level of noise (`grey_noise`, a new draw per
    batch) before it sees them: evaluates the floor's AP with the evaluator's own code."""

    def __init__(self, predictor: TopDownPredictor):
        self.predictor, self.draws = predictor, 0

    @property
    def skeleton(self) -> Skeleton:
        return self.predictor.skeleton

    @property
    def batch_size(self) -> int:
        return self.predictor.batch_size

    def predict_batch(
        self,
        images: list[np.ndarray],
        boxes_list: Sequence[np.ndarray],
        scores_list: Sequence[np.ndarray | None] | None = None,
    ) -> list[Poses]:
        self.draws += 1
        return self.predictor.predict_batch(grey_noise(images, seed=self.draws), boxes_list, scores_list)

    def __getattr__(self, name: str):
        return getattr(self.predictor, name)


def accuracy(
    model: torch.nn.Module,
    cfg: Config,
    images: list[np.ndarray],
    boxes: list[np.ndarray],
    built: dict[str, BuiltRuntime],
    model_note: str,
) -> Section:
    """Per built runtime: max / mean keypoint displacement (px) from eager fp32 on `images`,
    and COCO AP on the config's val set with AP's change from eager fp32 (in AP points, x100).
    Also eager fp32's own displacement and AP change when the images get +-1 grey level of noise
    (`NOISE_ROW`): where a model's heatmaps have near-tied peaks, any change moves some joints a
    cell or more, and on a small val set a few such joints move AP by tenths of a point."""
    rows: list[list] = []
    eager = TopDownPredictor.from_config(model, cfg, runtime="eager")
    reference = keypoints_of(eager, images, boxes)
    base_ap = float(evaluate_model(model, cfg, "cpu", runtime="eager")["AP"])
    rows.append(["eager", "fp32", 0.0, 0.0, base_ap, 0.0])
    noisy = np.linalg.norm(keypoints_of(eager, grey_noise(images), boxes) - reference, axis=2)
    noisy_ap = float(evaluate_predictor(NoisyInput(eager), cfg)["AP"])
    rows.append([NOISE_ROW, "fp32", float(noisy.max()), float(noisy.mean()), noisy_ap, 100.0 * (noisy_ap - base_ap)])
    for name, runtime in built.items():
        if name == "eager":
            continue
        predictor = TopDownPredictor.from_config(model, cfg, runtime=runtime)
        moved = np.linalg.norm(keypoints_of(predictor, images, boxes) - reference, axis=2)
        ap = float(evaluate_model(model, cfg, "cpu", runtime=runtime)["AP"])
        label = name if name != "auto" else f"auto = {runtime.name}"
        rows.append([label, runtime.precision, float(moved.max()), float(moved.mean()), ap, 100.0 * (ap - base_ap)])
    notes = [
        f"model: {model_note}",
        f"displacement over {count(len(reference), 'person')} x {count(reference.shape[1], 'joint')} of "
        f"{count(len(images), 'val image')}; "
        "AP over the whole val set with GT boxes (flip test as the config says)",
        f"'{NOISE_ROW}': eager fp32 itself on the same images with +-1 grey level of noise, the floor for the rest",
    ]
    return Section(
        "Accuracy against eager fp32",
        ["runtime", "precision", "max px", "mean px", "AP", "AP change (points)"],
        rows,
        notes,
    )


def summary(section: Section) -> dict[str, object]:
    """Worst mean displacement and worst |AP change| among the non-int8 runtimes (the ones
    `auto` may pick), (name, mean px, max px, AP change) of each int8 one, and (mean px, max
    px, AP change) of eager fp32 on noisy input, for the acceptance lines."""
    fp = [r for r in section.rows[1:] if r[1] != "int8" and r[0] != NOISE_ROW]
    floor = next((r for r in section.rows if r[0] == NOISE_ROW), None)
    return {
        "mean_px": max((r[3] for r in fp), default=0.0),
        "ap_points": max((abs(r[5]) for r in fp), default=0.0),
        "int8": [(r[0], r[3], r[2], r[5]) for r in section.rows[1:] if r[1] == "int8"],
        "noise": (floor[3], floor[2], floor[5]) if floor else None,
    }
