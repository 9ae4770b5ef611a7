"""COCO keypoint AP/AR, computed exactly as pycocotools' COCOeval (iouType "keypoints").

Same protocol, vectorised with numpy: maxDets 20, area ranges all / medium (32^2..96^2) /
large (> 96^2), OKS thresholds .50:.05:.95, 101-point interpolated precision, crowd and
`num_keypoints == 0` people ignored (crowds may match many detections), detection areas as
`COCO.loadRes` computes them (the keypoints' extent, or the `bbox` area when the results
carry boxes), stable score sorting so that ties break as pycocotools breaks them. The ten
numbers equal pycocotools' (tests compare them); pycocotools itself is only a test dependency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import numpy as np

from ..core.fileio import read_json
from ..core.oks import joint_similarity, masked_mean
from ..core.skeleton import COCO, skeleton_from_category
from ..formats.check import person_category
from ..formats.coco import check_ground_truth, check_results

METRIC_KEYS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
AREA_RANGES = ((0.0, 1e5**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2))  # all, medium, large
MAX_DETS = 20

PathOrData = Union[str, Path, dict, list]


def _load(src: PathOrData, what: str):
    return read_json(src, f"{what} file") if isinstance(src, (str, Path)) else src


def _result_areas(results: list[dict]) -> np.ndarray:
    """Detection areas as `COCO.loadRes` sets them (its bbox branch wins when boxes exist)."""
    if results and results[0].get("bbox"):
        return np.array([float(r["bbox"][2]) * float(r["bbox"][3]) for r in results])
    if not results:
        return np.zeros(0)
    kp = np.array([r["keypoints"] for r in results], dtype=np.float64)
    x, y = kp[:, 0::3], kp[:, 1::3]
    return (x.max(axis=1) - x.min(axis=1)) * (y.max(axis=1) - y.min(axis=1))


def compute_oks(
    dt_kpts: np.ndarray, gt_kpts: np.ndarray, gt_boxes: np.ndarray, gt_areas: np.ndarray, sigmas: np.ndarray
) -> np.ndarray:
    """OKS of each (detection, ground truth) pair, as pycocotools' computeOks.

    Args:
        dt_kpts: (P, K, 3) detected keypoints of each pair; gt_kpts: (P, K, 3) ground truth.
        gt_boxes: (P, 4) xywh; gt_areas: (P,); sigmas: (K,).
    Returns:
        (P,) OKS. A ground truth without labelled joints measures the detection's distance
        to its box enlarged by its own size on each side, over all K joints.
    """
    xd, yd = dt_kpts[..., 0], dt_kpts[..., 1]
    xg, yg, vg = gt_kpts[..., 0], gt_kpts[..., 1], gt_kpts[..., 2]
    vis = vg > 0
    x0 = (gt_boxes[:, 0] - gt_boxes[:, 2])[:, None]
    x1 = (gt_boxes[:, 0] + gt_boxes[:, 2] * 2)[:, None]
    y0 = (gt_boxes[:, 1] - gt_boxes[:, 3])[:, None]
    y1 = (gt_boxes[:, 1] + gt_boxes[:, 3] * 2)[:, None]
    z = np.zeros_like(xd)
    box_dx = np.maximum(z, x0 - xd) + np.maximum(z, xd - x1)
    box_dy = np.maximum(z, y0 - yd) + np.maximum(z, yd - y1)
    labelled = vis.any(axis=1, keepdims=True)  # (P, 1)
    dx = np.where(labelled, xd - xg, box_dx)
    dy = np.where(labelled, yd - yg, box_dy)
    # COCO's rule: the ground truth's area; its labelled joints, or all K when it has none.
    return masked_mean(joint_similarity(dx, dy, gt_areas, sigmas), vis | ~labelled)


class _Category:
    """Per-image detections and ground truth of one category, prepared for matching."""

    def __init__(
        self,
        img_ids: Sequence[int],
        gts: dict[int, list[dict]],
        dts: dict[int, list[tuple[dict, float]]],
        sigmas: np.ndarray,
    ) -> None:
        self.images = [i for i in img_ids if gts.get(i) or dts.get(i)]
        k = len(sigmas)
        g_all: list[dict] = []
        d_all: list[tuple[dict, float]] = []
        g_off, d_off = [0], [0]
        for i in self.images:
            g, d = gts.get(i, []), dts.get(i, [])
            g_all.extend(g)
            # Best score first, ties in file order (a stable sort), at most MAX_DETS.
            order = np.argsort([-r["score"] for r, _ in d], kind="mergesort")[:MAX_DETS]
            d_all.extend(d[j] for j in order)
            g_off.append(len(g_all))
            d_off.append(len(d_all))
        self.g_off, self.d_off = g_off, d_off
        for a in g_all:
            if len(a.get("keypoints") or ()) != 3 * k or len(a.get("bbox") or ()) != 4 or "area" not in a:
                raise ValueError(
                    f"ground-truth annotation id {a.get('id', '?')}: fields 'keypoints' "
                    f"({3 * k} numbers), 'bbox' (4 numbers) and 'area' are required"
                )
        self.gk = np.array([a["keypoints"] for a in g_all], dtype=np.float64).reshape(-1, k, 3)
        self.gbox = np.array([a["bbox"] for a in g_all], dtype=np.float64).reshape(-1, 4)
        self.garea = np.array([a["area"] for a in g_all], dtype=np.float64)
        self.gcrowd = np.array([bool(a.get("iscrowd", 0)) for a in g_all], dtype=bool)
        labelled = (self.gk[:, :, 2] > 0).sum(axis=1)
        nkp = np.array([a.get("num_keypoints", n) for a, n in zip(g_all, labelled)])
        self.gign = (nkp == 0) | self.gcrowd  # pycocotools' `ignore`: crowd or no joints
        self.gid = np.array([int(a.get("id", 0)) for a in g_all], dtype=np.int64)
        self.dk = np.array([r["keypoints"] for r, _ in d_all], dtype=np.float64).reshape(-1, k, 3)
        self.dscore = np.array([float(r["score"]) for r, _ in d_all])
        self.darea = np.array([area for _, area in d_all], dtype=np.float64)
        self.sigmas = sigmas

    def match(self) -> tuple[np.ndarray, np.ndarray]:
        """Greedy matching for every area range and threshold at once.

        Returns:
            matched (A, T, Ndt): matched to a ground truth whose id is not 0 (pycocotools
            records matches by id, so a ground truth with id 0 never counts as matched);
            ign (A, T, Ndt): ignored (matched to an ignored ground truth, or unmatched and
            outside the area range).
        """
        A, T, nd = len(AREA_RANGES), len(IOU_THRS), len(self.dscore)
        matched = np.zeros((A, T, nd), dtype=bool)
        ign = np.zeros((A, T, nd), dtype=bool)
        lo = np.array([r[0] for r in AREA_RANGES])[:, None]
        hi = np.array([r[1] for r in AREA_RANGES])[:, None]
        g_ign_a = self.gign[None] | (self.garea[None] < lo) | (self.garea[None] > hi)  # (A, Ngt)
        counts = [
            (self.d_off[n + 1] - self.d_off[n], self.g_off[n + 1] - self.g_off[n]) for n in range(len(self.images))
        ]
        # Bucket images by padded gt count so that one crowded image does not pad them all.
        buckets: dict[int, list[int]] = defaultdict(list)
        for n, (d, g) in enumerate(counts):
            if d and g:
                buckets[1 << int(np.ceil(np.log2(g)))].append(n)
        for gp, members in buckets.items():
            self._match_bucket(np.array(members), gp, g_ign_a, matched, ign)
        out_of_area = (self.darea[None] < lo) | (self.darea[None] > hi)  # (A, Ndt)
        ign |= ~matched & out_of_area[:, None, :]
        return matched, ign

    def _match_bucket(
        self, members: np.ndarray, gp: int, g_ign_a: np.ndarray, matched: np.ndarray, ign: np.ndarray
    ) -> None:
        A, T = g_ign_a.shape[0], len(IOU_THRS)
        d_off, g_off = np.array(self.d_off)[members], np.array(self.g_off)[members]
        nd = np.array(self.d_off)[members + 1] - d_off
        ng = np.array(self.g_off)[members + 1] - g_off
        dp, b = int(nd.max()), len(members)
        # Padded index tables: (B, dp) detections, (B, gp) ground truths; -1 = padding.
        di = np.where(np.arange(dp)[None] < nd[:, None], d_off[:, None] + np.arange(dp)[None], -1)
        gi = np.where(np.arange(gp)[None] < ng[:, None], g_off[:, None] + np.arange(gp)[None], -1)
        pairs = (di[:, :, None] >= 0) & (gi[:, None, :] >= 0)
        bi, ri, ci = np.nonzero(pairs)
        dsel, gsel = di[bi, ri], gi[bi, ci]
        ious = np.full((b, dp, gp), -1.0)
        ious[bi, ri, ci] = compute_oks(self.dk[dsel], self.gk[gsel], self.gbox[gsel], self.garea[gsel], self.sigmas)
        gsafe = np.maximum(gi, 0)
        gig = g_ign_a[:, gsafe].transpose(1, 0, 2)[:, :, None, :]  # (B, A, 1, gp)
        crowd = self.gcrowd[gsafe][:, None, None, :]
        gid = self.gid[gsafe]
        taken = np.zeros((b, A, T, gp), dtype=bool)
        thr = np.minimum(IOU_THRS, 1 - 1e-10)[None, None, :, None]
        for r in range(dp):
            iou = ious[:, r][:, None, None, :]  # (B, 1, 1, gp)
            cand = (~taken | crowd) & (iou >= thr)
            plain = cand & ~gig
            use = np.where(plain.any(-1, keepdims=True), plain, cand & gig)
            found = use.any(-1) & (r < nd)[:, None, None]  # (B, A, T)
            # The best OKS wins, the last of equals (pycocotools' `<` test moves on ties).
            val = np.where(use, np.broadcast_to(iou, use.shape), -np.inf)
            m = gp - 1 - np.argmax(val[..., ::-1], axis=-1)  # (B, A, T)
            bb, aa, tt = np.nonzero(found)
            taken[bb, aa, tt, m[bb, aa, tt]] = True
            d_glob = di[bb, r]
            mg = m[bb, aa, tt]
            matched[aa, tt, d_glob] = gid[bb, mg] != 0
            ign[aa, tt, d_glob] = gig[bb, aa, 0, mg]

    def accumulate(self, matched: np.ndarray, ign: np.ndarray, g_ign_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """precision (T, R, A) and recall (T, A), -1 where an area range has no ground truth."""
        A, T, R = len(AREA_RANGES), len(IOU_THRS), len(REC_THRS)
        precision, recall = -np.ones((T, R, A)), -np.ones((T, A))
        order = np.argsort(-self.dscore, kind="mergesort")
        for a in range(A):
            npig = int(np.count_nonzero(~g_ign_a[a]))
            if npig == 0:
                continue
            tps = matched[a][:, order] & ~ign[a][:, order]
            fps = ~matched[a][:, order] & ~ign[a][:, order]
            tp = np.cumsum(tps, axis=1).astype(np.float64)
            fp = np.cumsum(fps, axis=1).astype(np.float64)
            nd = tp.shape[1]
            rc = tp / npig
            pr = tp / (fp + tp + np.spacing(1))
            recall[:, a] = rc[:, -1] if nd else 0.0
            if nd:
                pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
            for t in range(T):
                inds = np.searchsorted(rc[t], REC_THRS, side="left")
                q = np.zeros(R)
                ok = inds < nd
                q[ok] = pr[t, inds[ok]]
                precision[t, :, a] = q
        return precision, recall


def evaluate_coco_keypoints(
    gt: PathOrData, results: PathOrData, sigmas: Sequence[float] | None = None, gt_source: str = "ground truth"
) -> dict[str, float]:
    """AP/AR of keypoint `results` (COCO results format) against a COCO keypoints file.

    Args:
        gt: the ground-truth file (path or parsed dict). Every image in it is evaluated.
        results: [{image_id, category_id, keypoints [x, y, score] * K, score}, ...] (path or list).
        sigmas: per-joint OKS sigmas; None = COCO's (what pycocotools always uses).
        gt_source: the ground truth's name in error messages when `gt` is already parsed.
    Both are checked first (`check_ground_truth`, `check_results`): what would make the
    numbers meaningless is one error naming the file, the record and the field.
    Returns:
        {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"} as fractions,
        -1 where undefined (as pycocotools).
    """
    gt_data, res = _load(gt, "ground-truth"), _load(results, "results")
    gt_name = str(gt) if isinstance(gt, (str, Path)) else gt_source
    res_name = str(results) if isinstance(results, (str, Path)) else "results"
    sig = np.asarray(sigmas if sigmas is not None else COCO.sigmas, dtype=np.float64)
    img_ids, cat_ids = check_ground_truth(gt_data, len(sig), gt_name)
    check_results(res, len(sig), set(img_ids), cat_ids, res_name)
    known = set(img_ids)
    areas = _result_areas(res)
    K, A, T, R = len(cat_ids), len(AREA_RANGES), len(IOU_THRS), len(REC_THRS)
    precision, recall = -np.ones((T, R, K, A, 1)), -np.ones((T, K, A, 1))
    for k, cat in enumerate(cat_ids):
        gts: dict[int, list[dict]] = defaultdict(list)
        for a in gt_data["annotations"]:
            if a.get("category_id") == cat and a["image_id"] in known:
                gts[a["image_id"]].append(a)
        dts: dict[int, list[tuple[dict, float]]] = defaultdict(list)
        for r, area in zip(res, areas):
            if r.get("category_id") == cat:
                dts[r["image_id"]].append((r, area))
        c = _Category(img_ids, gts, dts, sig)
        if not c.images:
            continue
        matched, ign = c.match()
        lo = np.array([r[0] for r in AREA_RANGES])[:, None]
        hi = np.array([r[1] for r in AREA_RANGES])[:, None]
        g_ign_a = c.gign[None] | (c.garea[None] < lo) | (c.garea[None] > hi)
        p, rc = c.accumulate(matched, ign, g_ign_a)
        precision[:, :, k, :, 0], recall[:, k, :, 0] = p, rc
    return _summarize(precision, recall)


def _summarize(precision: np.ndarray, recall: np.ndarray) -> dict[str, float]:
    def mean(s: np.ndarray) -> float:
        s = s[s > -1]
        return float(np.mean(s)) if len(s) else -1.0

    out = {}
    for prefix, arr in (("AP", precision), ("AR", recall)):
        sel = (
            (lambda t, a, arr=arr: arr[t][:, :, :, a, 0])
            if prefix == "AP"
            else (lambda t, a, arr=arr: arr[t][:, :, a, 0])
        )
        full = slice(None)
        out[prefix] = mean(sel(full, [0]))
        out[prefix + "50"] = mean(sel([0], [0]))
        out[prefix + "75"] = mean(sel([5], [0]))
        out[prefix + "m"] = mean(sel(full, [1]))
        out[prefix + "l"] = mean(sel(full, [2]))
    return {k: out[k] for k in METRIC_KEYS}


def score_results_file(gt_path: str | Path, results_path: str | Path) -> dict[str, float]:
    """AP/AR of a results file against a ground-truth file, with the OKS sigmas of the ground
    truth's own skeleton (COCO's for COCO files, CrowdPose's for CrowdPose, ...)."""
    gt = _load(str(gt_path), "ground-truth")
    sigmas = skeleton_from_category(person_category(gt, str(gt_path))).sigmas
    return evaluate_coco_keypoints(gt, results_path, sigmas, gt_source=str(gt_path))


def format_table(metrics: dict[str, float]) -> str:
    """The ten numbers in pycocotools' summary layout."""
    rows = [
        ("Average Precision", "0.50:0.95", "   all", "AP"),
        ("Average Precision", "0.50     ", "   all", "AP50"),
        ("Average Precision", "0.75     ", "   all", "AP75"),
        ("Average Precision", "0.50:0.95", "medium", "APm"),
        ("Average Precision", "0.50:0.95", " large", "APl"),
        ("Average Recall   ", "0.50:0.95", "   all", "AR"),
        ("Average Recall   ", "0.50     ", "   all", "AR50"),
        ("Average Recall   ", "0.75     ", "   all", "AR75"),
        ("Average Recall   ", "0.50:0.95", "medium", "ARm"),
        ("Average Recall   ", "0.50:0.95", " large", "ARl"),
    ]
    short = {"Average Precision": "(AP)", "Average Recall   ": "(AR)"}
    return "\n".join(
        f" {name} {short[name]} @[ IoU={iou} | area={area} | maxDets= 20 ] = {metrics[key]:.3f}"
        for name, iou, area, key in rows
    )
