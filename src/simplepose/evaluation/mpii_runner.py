"""MPII evaluation: the pose repositories' MPII JSON -> predictions with the annotated
person centre and scale (as the paper's code crops them) -> PCKh.

Head boxes come from the official `gt_valid.mat` beside the JSON (`annot/valid.json` ->
`annot/gt_valid.mat`, read with scipy), or, when the JSON entries carry a `head_box`
[x1, y1, x2, y2] field (0-based pixels), from there.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np

from ..fileio import read_json
from ..config import Config
from ..predictor import TopDownPredictor
from .coco import write_json
from .pckh import load_gt_mat, pckh_table

#: The MPII files give a person's scale as its height in units of 200 pixels (their format).
MPII_SCALE_UNIT = 200.0


def mpii_boxes(entry: dict) -> np.ndarray:
    """The crop box (xyxy, 0-based) of one MPII entry, before the predictor's 1.25 padding.

    As the paper's reader: centre moved down by 15 x scale, 1-based -> 0-based, a square
    of scale x 200 pixels (the predictor then widens it to the input aspect ratio and pads it).
    """
    c = np.asarray(entry["center"], dtype=np.float64).copy()
    s = float(entry["scale"])
    if c[0] != -1:
        c[1] += 15 * s
    c -= 1.0
    half = s * MPII_SCALE_UNIT / 2
    return np.array([c[0] - half, c[1] - half, c[0] + half, c[1] + half])


def evaluate_mpii(predictor: TopDownPredictor, cfg: Config, out_dir: Optional[Union[str, Path]] = None,
                  progress: bool = False) -> Dict[str, float]:
    from .runner import _join, read_image

    ann = Path(_join(cfg.data.root, cfg.data.val_ann))
    entries: List[dict] = read_json(ann, "MPII annotation file")
    images_root = _join(cfg.data.root, cfg.data.val_images)
    k = predictor.skeleton.num_joints
    preds = np.zeros((len(entries), k, 2))
    items = range(len(entries))
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc="eval", unit="person")
    for i in items:
        e = entries[i]
        poses = predictor(read_image(_join(images_root, e["image"])), mpii_boxes(e)[None])
        preds[i] = poses.keypoints[0, :, :2]
    if all("head_box" in e for e in entries):
        gt = np.array([e["joints"] for e in entries], dtype=np.float64) - 1.0
        visible = np.array([e["joints_vis"] for e in entries]) > 0
        heads = np.array([e["head_box"] for e in entries], dtype=np.float64)
    else:
        gt, visible, heads = load_gt_mat(ann.with_name(f"gt_{ann.stem}.mat"))
        if len(gt) != len(entries):
            raise ValueError(f"{ann}: {len(entries)} entries but gt_{ann.stem}.mat has {len(gt)}")
    table = pckh_table(preds, gt, visible, heads, predictor.skeleton)
    if out_dir is not None:
        write_json({"preds": preds.tolist()}, Path(out_dir) / "results.json")
        write_json(table, Path(out_dir) / "metrics.json")
    return table
