"""MPII evaluation: the pose repositories' MPII JSON -> predictions with the annotated
person centre and scale (the same crop as training: `data.mpii.mpii_box`) -> PCKh.

Head boxes come from the official `gt_valid.mat` beside the JSON (`annot/valid.json` ->
`annot/gt_valid.mat`, read with scipy), or, when the JSON entries carry a `head_box`
[x1, y1, x2, y2] field (0-based pixels), from there.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..config import Config
from ..core.fileio import atomic_write_json, join_root, read_image, read_json
from ..core.geometry import xywh_to_xyxy
from ..core.version import VERSION_KEY, package_version
from ..data.mpii import mpii_box
from ..inference.predictor import TopDownPredictor
from ..training.distributed import from_main, gather_objects, rank_and_world
from .pckh import load_gt_mat, pckh_table


def evaluate_mpii(
    predictor: TopDownPredictor, cfg: Config, out_dir: str | Path | None = None, progress: bool = False
) -> dict[str, float]:
    ann = Path(join_root(cfg.data.root, cfg.data.val_ann))
    entries: list[dict] = read_json(ann, "MPII annotation file")
    images_root = join_root(cfg.data.root, cfg.data.val_images)
    k = predictor.skeleton.num_joints
    # The ground truth first: a missing or mismatched head box file is said before any prediction.
    if all("head_box" in e for e in entries):
        gt = np.array([e["joints"] for e in entries], dtype=np.float64) - 1.0
        visible = np.array([e["joints_vis"] for e in entries]) > 0
        heads = np.array([e["head_box"] for e in entries], dtype=np.float64)
    else:
        gt, visible, heads = load_gt_mat(ann.with_name(f"gt_{ann.stem}.mat"))
        if len(gt) != len(entries):
            raise ValueError(f"{ann}: {len(entries)} entries but gt_{ann.stem}.mat has {len(gt)}")
    preds = np.zeros((len(entries), k, 2))
    # Under torch.distributed each rank predicts every world-th person; rank 0 scores them all.
    rank, world = rank_and_world()
    items: Iterable[int] = range(rank, len(entries), world)
    if progress and rank == 0:
        from tqdm import tqdm

        items = tqdm(items, desc="eval", unit="person")
    mine = {}
    for i in items:
        e = entries[i]
        poses = predictor(
            read_image(join_root(images_root, e["image"])), xywh_to_xyxy(mpii_box(e["center"], e["scale"]))
        )
        mine[i] = poses.keypoints[0, :, :2]
    for part in gather_objects(mine):
        for i, p in part.items():
            preds[i] = p
    if rank != 0:
        return from_main({})
    table = pckh_table(preds, gt, visible, heads, predictor.skeleton)
    if out_dir is not None:
        atomic_write_json(Path(out_dir) / "results.json", {"preds": preds.tolist()})
        atomic_write_json(Path(out_dir) / "metrics.json", {**table, VERSION_KEY: package_version()})
    return from_main(table)
