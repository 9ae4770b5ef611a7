"""The evaluation pipeline: images -> person boxes -> TopDownPredictor -> rescoring and
OKS-NMS -> COCO results -> AP/AR (or MPII PCKh). The training engine calls `evaluate_model`
every few epochs; `simplepose eval CONFIG --checkpoint CKPT` calls `run_evaluation`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Callable, Union

import numpy as np
import torch

from ..config import Config
from ..core.fileio import atomic_write_json, join_root, read_image
from ..core.version import VERSION_KEY, package_version
from ..inference.detector import BoxTable, DetectionsFile, GTBoxes
from ..inference.postprocess import poses_to_results, postprocess_image
from ..inference.predictor import BatchPredictor, TopDownPredictor
from ..training.distributed import from_main, gather_objects, rank_and_world
from .cocoeval import evaluate_coco_keypoints
from .mpii_runner import evaluate_mpii

PathLike = Union[str, Path]


def coco_boxes(cfg: Config, coco, detections: str | None = None) -> BoxTable:
    """Person boxes for evaluation.

    `detections` (from the command line: "gt" or a file path, taken as given) wins over the
    config; otherwise GT boxes when `test.use_gt_boxes` or no `test.detections` file is set
    (that path is relative to `data.root`), else that file.
    """
    if detections is not None:
        return GTBoxes(coco) if detections == "gt" else DetectionsFile(detections, cfg.test.det_score_thresh)
    if cfg.test.use_gt_boxes or not cfg.test.detections:
        return GTBoxes(coco)
    return DetectionsFile(join_root(cfg.data.root, cfg.test.detections), cfg.test.det_score_thresh)


def _chunks(image_ids: Sequence[int], boxes: BoxTable, max_crops: int) -> Iterator[list[int]]:
    """Groups of images with about `max_crops` people in all, so crops of several images
    share forward passes."""
    group: list[int] = []
    count = 0
    for i in image_ids:
        group.append(i)
        count += len(boxes(None, i)[0])
        if count >= max_crops:
            yield group
            group, count = [], 0
    if group:
        yield group


def predict_coco(
    predictor: BatchPredictor,
    coco,
    boxes: BoxTable,
    image_ids: Sequence[int],
    cfg: Config,
    progress: bool = False,
    on_bad: Callable[[str, str], None] | None = None,
) -> list[dict]:
    """COCO results (rescored, OKS-NMSed) for `image_ids` of a CocoKeypoints file.

    An image that cannot be read raises, or with `on_bad(path, problem)` is reported there and
    gets no results (so it counts as missed). A Ctrl-C or SIGTERM raises `Interrupted` saying
    how far the run came.
    """
    from ..core.interrupts import Interrupted

    results: list[dict] = []
    chunks: Iterable[list[int]] = list(_chunks(image_ids, boxes, predictor.batch_size))
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc="eval", unit="batch")
    done = 0
    try:
        for group in chunks:
            wanted = [(i, *_inside(boxes, i, coco.images[i])) for i in group]
            wanted = [w for w in wanted if len(w[1])]
            read = [(w, _read(coco.images[w[0]].path, on_bad)) for w in wanted]
            wanted = [w for w, image in read if image is not None]
            images = [image for _, image in read if image is not None]
            poses_list = predictor.predict_batch(images, [b for _, b, _ in wanted], [s for _, _, s in wanted])
            for (image_id, _, _), poses in zip(wanted, poses_list):
                results.extend(poses_to_results(image_id, postprocess_image(predictor, poses, cfg.test)))
            done += len(group)
    except KeyboardInterrupt as e:
        raise Interrupted.after(
            e, f"after {done} of {len(image_ids)} images; nothing written (the metrics need every image)"
        ) from None
    return results


def _read(path: str, on_bad: Callable[[str, str], None] | None) -> np.ndarray | None:
    """The image, or None after `on_bad(path, problem)` when it cannot be read (raises without on_bad)."""
    try:
        return read_image(path)
    except FileNotFoundError:
        if on_bad is None:
            raise
        on_bad(path, "does not decode as an image" if Path(path).is_file() else "not found")
        return None


def _inside(boxes: BoxTable, image_id: int, image) -> tuple[np.ndarray, np.ndarray]:
    """The image's boxes that overlap it (sizes from the annotation file; 0 = unknown, keep all)."""
    b, s = boxes(None, image_id)
    return boxes.inside(b, s, image.width, image.height) if image.width > 0 and image.height > 0 else (b, s)


def evaluate_model(
    model: torch.nn.Module,
    cfg: Config,
    device: str | torch.device,
    out_dir: PathLike | None = None,
    detections: str | None = None,
    progress: bool = False,
    on_bad: Callable[[str, str], None] | None = None,
    **predictor_overrides,
) -> dict[str, float]:
    """Evaluate `model` on the config's validation set; the metrics dict on every rank.

    COCO-format sets: {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}
    (fractions). MPII: the PCKh table (see `evaluation.pckh`). Boxes: ground truth or
    `cfg.test.detections` (`detections` overrides it; "gt" forces GT boxes). Under
    torch.distributed each rank predicts its share of the images; rank 0 scores the
    gathered results and broadcasts the metrics. With `out_dir`, rank 0 writes
    results.json and metrics.json there.
    """
    was_training = model.training
    _evaluator(cfg)  # an unknown dataset fails before `auto` exports and times anything
    predictor = TopDownPredictor.from_config(model, cfg, device=str(device), **predictor_overrides)
    try:
        return evaluate_predictor(predictor, cfg, out_dir, detections, progress, on_bad)
    finally:
        model.train(was_training)


def evaluate_predictor(
    predictor: BatchPredictor,
    cfg: Config,
    out_dir: PathLike | None = None,
    detections: str | None = None,
    progress: bool = False,
    on_bad: Callable[[str, str], None] | None = None,
) -> dict[str, float]:
    """`evaluate_model` with a predictor already built (anything with its `predict_batch`,
    `crop_boxes`, `batch_size` and `skeleton`, `BatchPredictor`; for MPII a `TopDownPredictor`,
    which PCKh calls on one image at a time); the model's train/eval mode is the caller's.
    `on_bad(path, problem)`: an unreadable image is reported there and skipped (COCO-format
    sets; without it, and for MPII, it is an error)."""
    return _evaluator(cfg)(predictor, cfg, out_dir, detections, progress, on_bad)


def _evaluator(cfg: Config) -> Callable[..., dict[str, float]]:
    """The config's dataset's evaluator (`EVALUATORS`), or one clear error naming the field."""
    if cfg.data.dataset not in EVALUATORS:
        raise ValueError(f"data.dataset = {cfg.data.dataset!r} has no evaluator; known: {sorted(EVALUATORS)}")
    return EVALUATORS[cfg.data.dataset]


def _evaluate_coco(
    predictor: BatchPredictor,
    cfg: Config,
    out_dir: PathLike | None,
    detections: str | None,
    progress: bool,
    on_bad: Callable[[str, str], None] | None = None,
) -> dict[str, float]:
    from ..data.coco import load_coco_keypoints

    ann = join_root(cfg.data.root, cfg.data.val_ann)
    if not ann:
        raise ValueError("config: data.val_ann is empty; set the validation annotation file")
    coco = load_coco_keypoints(ann, join_root(cfg.data.root, cfg.data.val_images), for_training=False)
    boxes = coco_boxes(cfg, coco, detections)
    rank, world = rank_and_world()
    image_ids = sorted(coco.images)[rank::world]
    results = predict_coco(predictor, coco, boxes, image_ids, cfg, progress and rank == 0, on_bad)
    if boxes.skips and rank == 0:  # the numbers are still meaningful; say what they leave out
        print(f"warning: evaluation skipped {boxes.skips.summary()}", file=sys.stderr)
    metrics: dict[str, float] = {}
    # In image order, as one process writes them (a stable sort keeps each image's own order).
    results = sorted((r for part in gather_objects(results) for r in part), key=lambda r: r["image_id"])
    if rank == 0:
        metrics = evaluate_coco_keypoints(coco.data, results, predictor.skeleton.sigmas)
        if out_dir is not None:
            atomic_write_json(Path(out_dir) / "results.json", results)
            atomic_write_json(Path(out_dir) / "metrics.json", {**metrics, VERSION_KEY: package_version()})
    return from_main(metrics)


def _evaluate_mpii(
    predictor: TopDownPredictor,
    cfg: Config,
    out_dir: PathLike | None,
    detections: str | None,
    progress: bool,
    on_bad: Callable[[str, str], None] | None = None,
) -> dict[str, float]:
    # PCKh scores every annotated person: an unreadable image stays an error (on_bad unused).
    if detections not in (None, "gt"):
        raise ValueError("MPII is evaluated with the annotated person centres and scales; it takes no detections file")
    return evaluate_mpii(predictor, cfg, out_dir, progress)


#: `data.dataset` -> `(predictor, cfg, out_dir, detections, progress, on_bad) -> metrics`. A new dataset
#: is one entry here (and one in `data.build.READERS`); see the README.
EVALUATORS: dict[str, Callable[..., dict[str, float]]] = {
    "coco": _evaluate_coco,
    "posetrack": _evaluate_coco,
    "mpii": _evaluate_mpii,
}


def format_metrics(metrics: dict[str, float]) -> str:
    """The COCO table for COCO-format metrics, the PCKh table for MPII's."""
    from .cocoeval import format_table
    from .pckh import format_pckh

    return format_table(metrics) if "AP" in metrics else format_pckh(metrics)
