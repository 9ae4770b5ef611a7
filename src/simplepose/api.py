"""`PoseEstimator`: the notebook user's door, from a picture or a video to skeletons.

    import simplepose
    est = simplepose.PoseEstimator(model="coco-res50-256x192", detector="yolox-m")
    poses = est("photo.jpg")                  # Poses: keypoints (N, K, 3), boxes, scores
    cv2.imwrite("drawn.jpg", est.draw("photo.jpg", poses))
    for frame, poses in est.track("clip.mp4"):   # poses.track_ids set
        ...

It only composes what the commands run: the zoo (`zoo.model_file`), a person detector
(`detector.open_detector`), `TopDownPredictor` with the paper's rescoring and OKS-NMS
(`inference.postprocess.postprocess_image`, as `predict` does) and `PoseTracker` (as `track`
does); it has no crop, decode or drawing code of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .core.poses import Poses
from .inference.predictor import ImageLike, as_image
from .zoo.table import DEFAULT_DETECTOR, DEFAULT_MODEL


class PoseEstimator:
    """People and their joints in pictures and videos, with a model and a detector by name.

    Args:
        model: a pose model of the zoo (`simplepose models` lists them).
        detector: a zoo detector name, an .onnx / torchvision .pth file, or "none" (one box
            covering the whole image; in `track`, every frame, the tracker's flow-propagated
            boxes joining it, as `simplepose track --detector none`).
        checkpoint: a local checkpoint file instead of `model` (simplepose, official, mmpose).
        device: "cpu", "cuda", ... (default: cuda when available).
        runtime: how the network runs, see `TopDownPredictor` ("auto" by default).
        precision: "bf16" / "fp16" for a reduced-precision forward pass (default: fp32), as the
            commands' --precision.
        det_thresh: detector boxes scoring this or less are dropped (rtmlib's 0.3, as `predict`);
            `track` also keeps only boxes at or above `track.det_score_thresh` (0.5), as
            `simplepose track` does.
        offline: open no connection (None: `$SIMPLEPOSE_OFFLINE`); files must be cached.
        overrides: `--set`-style config overrides, e.g. ["test.flip_test=false"].
        trusted: allow pickled objects in the checkpoint (they can run code), as --trusted.

    Raises:
        ValueError: one line, before anything downloads or loads, for a device or runtime this
            machine cannot run (naming what is here) and for an unknown model, detector or
            config key (naming the nearest ones).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        detector: str = DEFAULT_DETECTOR,
        checkpoint: str | None = None,
        device: str | None = None,
        runtime: str | None = None,
        det_thresh: float = 0.3,
        offline: bool | None = None,
        overrides: tuple[str, ...] = (),
        precision: str | None = None,
        trusted: bool = False,
    ) -> None:
        from .config import resolve_config
        from .inference.person_boxes import open_detector, require_detector, zoo_detector_name
        from .inference.predictor import TopDownPredictor
        from .nets.weights import load_checkpoint
        from .runtimes import check_inference_settings
        from .zoo import get_row, model_file

        # Every name and setting first (ValueError, one line): a typo is named before a
        # download starts or a model loads, a device this machine lacks says what is here, and
        # an optional package the run needs says which extra installs it.
        extra = list(overrides) + ([f"test.runtime={runtime}"] if runtime else [])
        self.device = check_inference_settings(device, precision, extra, ("device", "precision", "runtime"))
        require_detector(detector)
        if not checkpoint:
            get_row(model)
        if zoo_detector_name(detector):
            get_row(detector)
        path = checkpoint or str(model_file(model, offline))
        loaded = load_checkpoint(path, trusted=trusted)
        self.config = resolve_config(loaded.config, None, extra, source=path)
        self.predictor = TopDownPredictor.from_config(
            loaded.model, self.config, device=self.device, precision=precision
        )
        self.detector = open_detector(detector, det_thresh, device=self.device, offline=offline)
        self.model_name = checkpoint or model
        self.detector_name = detector

    def __call__(self, image: ImageLike) -> Poses:
        """The people of one image, rescored and OKS-NMSed.

        Args:
            image: an image file's path or an (H, W, 3) uint8 BGR array.

        Returns:
            Poses: keypoints (N, K, 3) as (x, y, score) in image pixels, boxes (N, 4) xyxy, scores (N,).
        """
        from .inference.postprocess import postprocess_image

        frame = as_image(image)
        boxes, scores = self.detector(frame)
        return postprocess_image(self.predictor, self.predictor(frame, boxes, scores), self.config.test)

    def track(self, video: str | Path, strict: bool = False) -> Iterator[tuple[np.ndarray, Poses]]:
        """The people of each frame of a video, with track ids from the paper's flow tracker.

        The config's `track` settings apply. A frame that cannot be read (or a video cut short)
        gives a `UserWarning` naming it and is left out, as `simplepose track` does.

        Args:
            video: a video file or a folder of frames.
            strict: raise on the first frame that cannot be read instead of warning.

        Yields:
            (frame, poses): the (H, W, 3) uint8 BGR frame and its `Poses`, `track_ids` set.
        """
        import warnings

        from .core.fileio import Unreadable
        from .core.frames import open_frames
        from .tracking.pipeline import tracked_frames
        from .tracking.tracker import PoseTracker

        source = open_frames(video)
        tracker = PoseTracker(self.predictor.skeleton, self.predictor, self.config.track)
        unreadable = Unreadable(strict, say=lambda line: warnings.warn(line, stacklevel=3))
        for frame, poses, _ in tracked_frames(source.frames(unreadable), [], tracker, self.detector):
            if frame is not None:
                yield frame, poses

    def draw(self, image: ImageLike, poses: Poses, kpt_thresh: float = 0.3) -> np.ndarray:
        """A copy of the image with skeletons, joints, boxes, scores and track ids drawn.

        Args:
            image: an image file's path or an (H, W, 3) uint8 BGR array.
            poses: what `__call__` or `track` gave for it.
            kpt_thresh: joints scoring below this are not drawn.

        Returns:
            The drawn (H, W, 3) uint8 BGR copy.
        """
        from .core.visualize import draw_poses

        return draw_poses(as_image(image), poses, self.predictor.skeleton, kpt_thresh)

    def __repr__(self) -> str:
        """The model, detector, runtime and device in one line."""
        rt = self.predictor.runtime
        return (
            f"PoseEstimator(model={self.model_name!r}, detector={self.detector_name!r}, "
            f"runtime={rt.name} {rt.precision}, device={self.device})"
        )
