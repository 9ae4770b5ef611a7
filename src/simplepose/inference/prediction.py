"""Poses on a user's pictures and videos: frames -> boxes -> predictor -> rescoring + OKS-NMS ->
COCO results with file names, drawn pictures and videos. What `simplepose predict` runs.

Person boxes come from a `BoxLookup`: a detector run on every frame (the whole image, or a
torchvision detector), or a boxes file whose images are matched to the inputs by file name
(a COCO keypoints file's `images` list; for a detections file without names, an id rule the
user chooses). An input that matches no image of the boxes file gets no people and is
reported, never another image's boxes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..config import TestConfig
from ..core.fileio import FileFormatError, output_path, read_json
from ..core.frames import FrameSource
from ..core.interrupts import deferred
from ..core.words import count
from ..formats.check import Skips
from .detector import BoxTable, DetectionsFile, GTBoxes
from .postprocess import poses_to_results, postprocess_image
from .predictor import TopDownPredictor

Boxes = tuple[np.ndarray, np.ndarray]


@dataclass
class BoxLookup:
    """Boxes for a frame given its file name.

    Either `detector(frame) -> (boxes (N, 4) xyxy, scores (N,))` runs on every frame, or
    `table` holds boxes by image id and `image_id(name)` finds a file's id (None: unknown).
    """

    detector: Callable[[np.ndarray], Boxes] | None = None
    table: BoxTable | None = None
    image_id: Callable[[str], int | None] | None = None

    def __call__(self, frame: np.ndarray, name: str) -> tuple[int | None, Boxes]:
        """(the image id of the boxes file or None, boxes): no boxes when the name is unknown."""
        if self.detector is not None:
            return None, self.detector(frame)
        assert self.image_id is not None and self.table is not None  # no detector: a table and its ids
        iid = self.image_id(name)
        if iid is None:
            return None, (np.zeros((0, 4)), np.zeros(0))
        return iid, self.table(frame, iid)

    @property
    def skips(self) -> Skips:
        """Boxes of the boxes file left out (zero size, outside their image), by reason."""
        return self.table.skips if self.table is not None else Skips()


def _ids_by_name(images: object, source: str) -> dict[str, int]:
    """{file name (no folders): image id} of a COCO `images` list."""
    if not isinstance(images, list):
        raise FileFormatError(f"{source}: field 'images' must be a list")
    out: dict[str, int] = {}
    for i, im in enumerate(images):
        if not isinstance(im, dict) or "file_name" not in im or "id" not in im:
            raise FileFormatError(f"{source}: images[{i}]: needs fields 'id' and 'file_name'")
        out[Path(str(im["file_name"])).name] = int(im["id"])
    return out


def _stem_id(name: str) -> int | None:
    stem = Path(name).stem
    return int(stem) if stem.isdigit() else None


def boxes_from_file(
    path: str | Path, score_thresh: float, id_from: str | None = None, strict: bool = False
) -> BoxLookup:
    """A BoxLookup over a boxes file: a COCO keypoints file (its GT boxes) or a detections list.

    A keypoints file matches inputs by the file names of its own `images`. A detections list
    has no names, so `id_from` says how: "stem" (000000000785.jpg -> id 785) or the path of a
    COCO file whose `images` list names the ids (e.g. the annotation file the detections
    were made for).
    """
    data = read_json(path, "boxes file")
    if isinstance(data, dict):
        from ..data.coco import load_coco_keypoints

        coco = load_coco_keypoints(path, for_training=False)
        return BoxLookup(table=GTBoxes(coco), image_id=_ids_by_name(data.get("images"), str(path)).get)
    table = DetectionsFile(path, score_thresh, strict=strict)
    if id_from == "stem":
        return BoxLookup(table=table, image_id=_stem_id)
    if id_from:
        named = read_json(id_from, "--id-from file")
        images = named.get("images") if isinstance(named, dict) else None
        return BoxLookup(table=table, image_id=_ids_by_name(images, str(id_from)).get)
    raise ValueError(
        f"{path} is a detections list without file names: say how its image ids match the "
        "inputs with --id-from stem (000000000785.jpg is id 785) or --id-from ANNOTATIONS.json"
    )


@dataclass
class InputPoses:
    """What one input gave: its results (COCO format plus `file_name`), frames, files written.

    Results of a run numbered by frame (a detector; no boxes file's ids) carry the frame's
    number within this input, 1-based: `PredictReport.results` makes them the run's running
    number, so shares of one run predicted apart (torchrun ranks) merge into the numbers one
    process gives.
    """

    index: int  # the input's place among the run's inputs
    results: list[dict] = field(default_factory=list)
    frames: int = 0
    unmatched: list[str] = field(default_factory=list)  # frames the boxes file knows nothing of
    no_boxes: list[str] = field(default_factory=list)  # frames that got no box otherwise
    written: list[Path] = field(default_factory=list)
    done: bool = False  # read to its end (an unreadable input counts: it was dealt with)


@dataclass
class PredictReport:
    """What `predict_sources` did, input by input; `combine` merges the reports of several shares."""

    inputs: list[InputPoses] = field(default_factory=list)
    numbered: bool = True  # image ids are running frame numbers (else the boxes file's ids)
    interrupted: KeyboardInterrupt | None = None  # the Ctrl-C / SIGTERM that stopped the run

    @classmethod
    def combine(cls, reports: Sequence[PredictReport]) -> PredictReport:
        """One report of several shares of a run (inputs in their order; the first interruption)."""
        inputs = sorted((i for r in reports for i in r.inputs), key=lambda i: i.index)
        stops = [r.interrupted for r in reports if r.interrupted is not None]
        return cls(inputs, all(r.numbered for r in reports), stops[0] if stops else None)

    @property
    def results(self) -> list[dict]:
        """Every result in input order; numbered runs get their running image number here."""
        out, before = [], 0
        for item in self.inputs:
            for r in item.results:
                out.append({**r, "image_id": r["image_id"] + before} if self.numbered else r)
            before += item.frames
        return out

    @property
    def frames(self) -> int:
        return sum(i.frames for i in self.inputs)

    @property
    def inputs_done(self) -> int:
        return sum(i.done for i in self.inputs)

    @property
    def written(self) -> list[Path]:
        return [p for i in self.inputs for p in i.written]

    @property
    def unmatched(self) -> list[str]:
        return [n for i in self.inputs for n in i.unmatched]

    @property
    def no_boxes(self) -> list[str]:
        return [n for i in self.inputs for n in i.no_boxes]

    def no_boxes_summary(self, boxes_file: str | Path | None, shown: int = 5) -> str:
        """How many inputs (and video frames) got no person box, and the first few names."""
        parts = []
        for names, why in (
            (self.unmatched, f"matched no image of {boxes_file}"),
            (self.no_boxes, "had no person box" + (f" in {boxes_file}" if boxes_file else "")),
        ):
            if names:
                listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
                parts.append(f"{count(len(names), 'input or frame', 'inputs or frames')} {why}: {listed}")
        return "; ".join(parts)


def _unique_names(sources: Sequence[FrameSource]) -> list[str]:
    """One output name per source; repeated names get _2, _3 ... so no drawing overwrites another."""
    seen: dict[str, int] = {}
    out = []
    for src in sources:
        name = src.path.name
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{src.path.stem}_{seen[name]}{src.path.suffix}")
    return out


def predict_sources(
    predictor: TopDownPredictor,
    sources: Sequence[FrameSource],
    boxes: BoxLookup,
    out_dir: str | Path,
    test: TestConfig,
    kpt_thresh: float = 0.3,
    progress: bool = True,
    on_bad: Callable[[str, str], None] | None = None,
    only: Collection[int] | None = None,
) -> PredictReport:
    """Poses on every frame of `sources`; drawings written under `out_dir` (results are returned).

    Images are drawn to `out_dir/<name>`, videos to `out_dir/<stem>_poses.mp4`. Results carry
    the boxes file's image id when there is one, else a running number, and the input's
    `file_name` (`NAME.mp4#FRAME` for video frames).
    `only`: the indices of the sources this call predicts (a torchrun rank's share; default
    all); names and numbers stay those of the whole run once the shares' reports are combined.
    An unreadable input (a picture that does not decode, a video that does not open or is cut
    short) raises, or with `on_bad(name, problem)` is reported there and skipped. A Ctrl-C or
    SIGTERM stops the run between frames: the report then holds the results of exactly the
    frames drawn, and `interrupted` the exception (the caller writes them and raises it).
    """
    from tqdm import tqdm

    report = PredictReport(numbered=boxes.detector is not None)
    wanted = set(range(len(sources)) if only is None else only)
    todo = [(i, name) for i, name in enumerate(_unique_names(sources)) if i in wanted]
    try:
        for i, name in tqdm(todo, desc="predict", unit="file", disable=not progress):
            item = InputPoses(i)
            report.inputs.append(item)
            _predict_source(predictor, sources[i], name, boxes, out_dir, test, kpt_thresh, on_bad, item)
            item.done = True  # a video read to its end, or a photo skipped as unreadable
    except KeyboardInterrupt as e:
        report.interrupted = e
    return report


def _predict_source(
    predictor: TopDownPredictor,
    src: FrameSource,
    name: str,
    boxes: BoxLookup,
    out_dir: str | Path,
    test: TestConfig,
    kpt_thresh: float,
    on_bad: Callable[[str, str], None] | None,
    item: InputPoses,
) -> None:
    """One input's frames into `item` (image ids: the boxes file's, or the frame's number in the input)."""
    from ..core.visualize import VideoWriter, draw_poses, write_image

    writer = VideoWriter(output_path(out_dir, f"{Path(name).stem}_poses.mp4"), src.fps) if src.is_video else None
    try:
        for t, frame in enumerate(src.frames(on_bad)):
            if frame is None:
                continue  # unreadable: reported by on_bad
            frame_name = f"{src.path.name}#{t}" if src.is_video else src.path.name
            iid, (b, s) = boxes(frame, str(t) if src.is_video else src.path.name)
            poses = postprocess_image(predictor, predictor(frame, b, s), test)
            results = poses_to_results(item.frames + 1 if iid is None else iid, poses)
            drawn = draw_poses(frame, poses, predictor.skeleton, kpt_thresh)
            # Drawn and counted as one step: an interruption leaves results of exactly the frames
            # drawn, and a photo drawn is an input done.
            with deferred():
                if writer is not None:
                    writer.write(drawn)
                else:
                    write_image(output_path(out_dir, name), drawn)
                    item.written.append(output_path(out_dir, name))
                    item.done = True
                if iid is None and boxes.detector is None:
                    item.unmatched.append(frame_name)
                elif len(b) == 0:
                    item.no_boxes.append(frame_name)
                for r in results:
                    r["file_name"] = frame_name
                    item.results.append(r)
                item.frames += 1
    finally:
        if writer is not None:
            writer.close()
            if writer.path.exists():
                item.written.append(writer.path)
