"""Frames from the inputs a user gives: image files, folders of images, videos.

One `FrameSource` per input, so `predict`, `track` and the demo read pictures the same way
(the same suffixes, the same decoding as training: `fileio.read_image`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Sequence, Union

import numpy as np

from .fileio import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_image

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "FrameSource", "open_frames", "open_inputs"]


@dataclass
class FrameSource:
    """A video, a folder of frames, or one image.

    Attributes:
        path: the file or folder.
        names: one name per frame (file names for a folder; `stem/000000.jpg` for a video;
            the file's name for an image).
        fps: frames per second (the video's own, else the default given to `open_frames`).
        kind: "video", "folder" or "image".
    """

    path: Path
    names: List[str]
    fps: float
    kind: str

    @property
    def is_video(self) -> bool:
        return self.kind == "video"

    def frames(self) -> Iterator[np.ndarray]:
        """(H, W, 3) uint8 BGR frames in order."""
        if self.kind == "video":
            import cv2

            cap = cv2.VideoCapture(str(self.path))
            try:
                while True:
                    ok, frame = cap.read()
                    if not ok:
                        break
                    yield frame
            finally:
                cap.release()
            return
        for name in self.names:
            yield read_image(self.path / name if self.kind == "folder" else self.path)


def open_frames(path: Union[str, Path], fps: float = 25.0) -> FrameSource:
    """A video file, a folder of images or one image as a FrameSource; clear errors otherwise."""
    path = Path(path)
    if path.is_dir():
        names = sorted(p.name for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not names:
            raise FileNotFoundError(f"no frames ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
        return FrameSource(path, names, fps, "folder")
    if not path.is_file():
        raise FileNotFoundError(f"input not found: {path}")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return FrameSource(path, [path.name], fps, "image")
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: not an image or video suffix ({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})")
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    video_fps = cap.get(cv2.CAP_PROP_FPS) or fps
    cap.release()
    return FrameSource(path, [f"{path.stem}/{t:06d}.jpg" for t in range(max(count, 0))], video_fps, "video")


def open_inputs(inputs: Sequence[Union[str, Path]]) -> List[FrameSource]:
    """Each input as a FrameSource; a folder becomes one image source per picture in it."""
    out: List[FrameSource] = []
    for item in inputs:
        src = open_frames(item)
        if src.kind == "folder":
            out.extend(FrameSource(src.path / n, [n], src.fps, "image") for n in src.names)
        else:
            out.append(src)
    return out
