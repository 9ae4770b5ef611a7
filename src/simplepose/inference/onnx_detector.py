"""An ONNX person detector: rtmlib's YOLOX on mmdeploy `end2end.onnx` graphs, as a `Detector`.

The graphs of the bundles rtmlib uses (`yolox_{nano,tiny,s,m,l,x}_8xb8-300e_humanart-*.zip`,
416x416 for nano/tiny, 640x640 for the others) take `input` (B, 3, S, S) float32 and return
`dets` (B, N, 5) = x1, y1, x2, y2, score in input pixels after the graph's own NMS, and
`labels` (B, N). Pre- and post-processing follow rtmlib (`rtmlib/tools/object_detection/yolox.py`,
`YOLOX.preprocess` / `postprocess`, and `rtmlib/tools/base.py`, `BaseTool.inference`):

- the image keeps its BGR order and 0-255 values (float32, no mean/std);
- an image of exactly the input size is fed as it is (ratio 1); any other is resized with
  `cv2.INTER_LINEAR` by ratio = min(S_h / h, S_w / w) to (int(w * ratio), int(h * ratio))
  (truncated) and placed at the TOP-LEFT of an S_h x S_w canvas filled with 114;
- boxes map back by dividing by the ratio (top-left placement: no offset to remove).

Beyond rtmlib (which keeps score > 0.3, reads only the first output and neither clips nor
filters by class): the score threshold is a parameter, boxes are clipped to the image, boxes
under `min_size` pixels on either side are dropped, and where the graph has a `labels`
output only label 0 (person, in both the single-class HumanArt and the COCO-80 models) is kept.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..core.fileio import MissingPackageError
from .detector import Boxes

#: The letterbox canvas value (mmdet's YOLOX `Pad` value, which rtmlib copies).
PAD_VALUE = 114
#: The class kept where the graph labels its boxes: person is 0 in COCO-80 and in HumanArt.
PERSON_LABEL = 0


def require_onnxruntime() -> None:
    """Raise MissingPackageError (one line) where onnxruntime, a dependency of the base install,
    cannot be found; checked without importing it, before a detector is downloaded."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise _missing_onnxruntime()


def _missing_onnxruntime() -> MissingPackageError:
    return MissingPackageError("the ONNX person detector", "onnxruntime", "pip install onnxruntime")


class OnnxPersonDetector:
    """Person boxes from an mmdeploy YOLOX `end2end.onnx` (NMS inside the graph), on the CPU.

    `onnx_path`: the extracted `end2end.onnx`. Boxes scoring `score_thresh` or less, or under
    `min_size` image pixels (or half the image's side, if less) wide or high after clipping,
    are dropped. `threads`: onnxruntime
    intra-op threads (None: its default, one per core). The input size is read from the graph.
    """

    def __init__(
        self, onnx_path: str | Path, score_thresh: float = 0.3, min_size: float = 1.0, threads: int | None = None
    ) -> None:
        path = Path(onnx_path)
        if not path.is_file():
            raise FileNotFoundError(f"person detector model not found: {path}")
        try:
            import onnxruntime as ort
        except ImportError:
            raise _missing_onnxruntime() from None
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        # Idle workers would otherwise busy-wait after each frame and take the cores from the
        # pose model that runs next.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types (InvalidProtobuf, Fail, ...) for bad files
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(f"{path}: not a readable ONNX graph ({reason[:200]})") from None
        self.path = path
        self.score_thresh = float(score_thresh)
        self.min_size = float(min_size)

        inp = self.session.get_inputs()[0]
        shape = list(inp.shape)
        if len(shape) != 4 or shape[1] != 3 or not all(isinstance(d, int) and d > 0 for d in shape[2:]):
            raise ValueError(
                f"{path}: input {inp.name!r} has shape {shape}; expected (batch, 3, H, W) with a "
                "fixed H and W, as in mmdeploy's YOLOX end2end.onnx"
            )
        self.input_name = inp.name
        self.input_hw: tuple[int, int] = (shape[2], shape[3])
        # A symbolic (str) or unknown (None) batch dimension takes several frames per run.
        self.dynamic_batch = not isinstance(shape[0], int)
        outputs = self.session.get_outputs()
        self.dets_name = _dets_output(outputs, path)
        self.labels_name = next((o.name for o in outputs if o.name == "labels"), None)

    def __call__(self, image_bgr: np.ndarray, image_id: object | None = None) -> Boxes:
        """(boxes (N, 4) xyxy float64 in image pixels, scores (N,) float64) of one BGR image (H, W, 3)."""
        canvas, ratio = self.letterbox(image_bgr)
        dets, labels = self._run(canvas[None])
        return self._postprocess(dets[0], None if labels is None else labels[0], ratio, image_bgr.shape[:2])

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[Boxes]:
        """`self(image)` for each image, in one session run when the graph's batch is dynamic."""
        if not self.dynamic_batch or len(images) < 2:
            return [self(image) for image in images]
        prepared = [self.letterbox(image) for image in images]
        dets, labels = self._run(np.stack([canvas for canvas, _ in prepared]))
        return [
            self._postprocess(dets[b], None if labels is None else labels[b], ratio, image.shape[:2])
            for b, (image, (_, ratio)) in enumerate(zip(images, prepared))
        ]

    def letterbox(self, image_bgr: np.ndarray) -> tuple[np.ndarray, float]:
        """rtmlib's YOLOX input: (canvas (S_h, S_w, 3) uint8, ratio); image pixel (x, y) lands
        on canvas (x * ratio, y * ratio), up to the resize's own half-pixel convention."""
        image = np.asarray(image_bgr)
        if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(f"the person detector needs a BGR image (H, W, 3), got shape {image.shape}")
        h, w = image.shape[:2]
        in_h, in_w = self.input_hw
        if (h, w) == (in_h, in_w):
            return image.astype(np.uint8, copy=False), 1.0  # rtmlib feeds it unresized
        ratio = min(in_h / h, in_w / w)
        # Truncated sizes, as rtmlib; at least one pixel, where rtmlib would fail on a sliver.
        new_w, new_h = max(1, int(w * ratio)), max(1, int(h * ratio))
        canvas = np.full((in_h, in_w, 3), PAD_VALUE, np.uint8)
        canvas[:new_h, :new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
        return canvas, ratio

    def _run(self, canvases: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(B, S_h, S_w, 3) uint8 -> dets (B, N, 5) float, labels (B, N) or None."""
        x = np.ascontiguousarray(canvases.transpose(0, 3, 1, 2), dtype=np.float32)  # NCHW, 0-255, BGR
        names = [self.dets_name] + ([self.labels_name] if self.labels_name else [])
        out = self.session.run(names, {self.input_name: x})
        return out[0], (out[1] if self.labels_name else None)

    def _postprocess(
        self, dets: np.ndarray, labels: np.ndarray | None, ratio: float, image_hw: tuple[int, int]
    ) -> Boxes:
        """One frame's dets (N, 5) in input pixels -> kept (boxes (M, 4), scores (M,)) in image pixels."""
        dets = np.asarray(dets, np.float64).reshape(-1, 5)
        keep = dets[:, 4] > self.score_thresh  # strict, as rtmlib's `> 0.3`
        if labels is not None:
            keep &= np.asarray(labels).reshape(-1) == PERSON_LABEL
        boxes = dets[keep, :4] / ratio
        scores = dets[keep, 4]
        h, w = image_hw
        # Continuous pixel coordinates: a box may reach the far edge x = w (not w - 1).
        boxes[:, 0::2] = boxes[:, 0::2].clip(0.0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0.0, h)
        # In an image narrower than 2 * min_size (a 1xN frame) half its side is enough: a
        # person there fills a fraction of a pixel, and dropping every box would find no one.
        big = (boxes[:, 2] - boxes[:, 0] >= min(self.min_size, w / 2)) & (
            boxes[:, 3] - boxes[:, 1] >= min(self.min_size, h / 2)
        )
        return boxes[big], scores[big]


def _dets_output(outputs: Sequence, path: Path) -> str:
    """The name of the (B, N, 5) detections output: `dets` (mmdeploy's name), else the first
    output of that shape; a clear error for anything else (e.g. YOLOX without NMS, (1, 8400, 85))."""

    def fits(o) -> bool:
        return len(o.shape) == 3 and o.shape[2] == 5

    named = [o for o in outputs if o.name == "dets" and fits(o)]
    shaped = named or [o for o in outputs if fits(o)]
    if not shaped:
        found = ", ".join(f"{o.name} {list(o.shape)}" for o in outputs)
        raise ValueError(
            f"{path}: no detections output (B, N, 5) = x1, y1, x2, y2, score after NMS, as mmdeploy's "
            f"YOLOX end2end.onnx has (found: {found}); graphs without NMS are not supported"
        )
    return shaped[0].name
