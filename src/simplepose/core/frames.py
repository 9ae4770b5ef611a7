"""Frames from the inputs a user gives: image files, folders of images, videos.

One `FrameSource` per input, so `predict`, `track` and the demo read pictures the same way
(the same suffixes, the same decoding as training: `fileio.read_image`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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
        videos: for a folder, the videos in it, which are not frames (a command says so).
        upright: pictures turned as their EXIF orientation says, as a viewer shows them (a
            user's photos; `fileio.read_image`); False keeps the stored pixel order, the frame
            of a boxes file's coordinates.
    """

    path: Path
    names: list[str]
    fps: float
    kind: str
    videos: list[str] = field(default_factory=list)
    upright: bool = True

    @property
    def is_video(self) -> bool:
        return self.kind == "video"

    def frames(self, on_bad: Callable[[str, str], None] | None = None) -> Iterator[np.ndarray | None]:
        """(H, W, 3) uint8 BGR frames in order.

        An unreadable picture, or a video that does not open or ends before the frames its
        header lists, raises FileNotFoundError / ValueError; with `on_bad`, `on_bad(name,
        problem)` is called instead and a picture's place is kept by a None, so the frames
        that follow keep their index.
        """
        if self.kind == "video":
            yield from self._video_frames(on_bad)
            return
        for name in self.names:
            path = self.path / name if self.kind == "folder" else self.path
            try:
                yield read_image(path, upright=self.upright)
            except OSError:  # FileNotFoundError included: read_image raises it for both
                if on_bad is None:
                    raise
                on_bad(str(path), "does not decode as an image" if path.is_file() else "not found")
                yield None

    def check(self, on_bad: Callable[[str, str], None]) -> None:
        """Read ahead, for --strict: every picture decodes, a video opens; `on_bad(name, problem)`
        for each that does not. (A video's damage further in is found when it is read.)"""
        if self.kind != "video":
            for _ in self.frames(on_bad):
                pass
            return
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        try:
            if not (cap.isOpened() and cap.read()[0]):
                on_bad(str(self.path), "does not open as a video")
        finally:
            cap.release()

    def _video_frames(self, on_bad: Callable[[str, str], None] | None) -> Iterator[np.ndarray]:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        read = 0
        try:
            if not cap.isOpened():
                if on_bad is None:
                    raise ValueError(f"cannot open video {self.path}")
                on_bad(str(self.path), "does not open as a video")
                return
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                read += 1
                yield frame
        finally:
            cap.release()
        if read < len(self.names):  # the frames after the damage are lost; those read stand
            problem = f"ended after {read} of the {len(self.names)} frames its header lists (truncated or damaged)"
            if on_bad is None:
                raise ValueError(f"video {self.path}: {problem}")
            on_bad(str(self.path), problem)


def open_frames(path: str | Path, fps: float = 25.0, upright: bool = True) -> FrameSource:
    """A video file, a folder of images or one image as a FrameSource; clear errors otherwise.
    `upright`: pictures turned by their EXIF orientation (see `FrameSource`)."""
    path = Path(path)
    if path.is_dir():
        names, videos = _members(path)
        if not names:
            raise FileNotFoundError(f"no frames ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
        return FrameSource(path, names, fps, "folder", videos, upright)
    if not path.is_file():
        raise FileNotFoundError(f"input not found: {path}")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return FrameSource(path, [path.name], fps, "image", upright=upright)
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: not an image or video suffix ({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})")
    return _open_video(path, fps)


def _open_video(path: Path, fps: float, must_open: bool = True) -> FrameSource:
    """A video's FrameSource (its frame count and rate from its header); one that does not open
    is an error, or with `must_open=False` a source of no frames that reports it when read."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        if must_open:
            raise ValueError(f"cannot open video {path}")
        return FrameSource(path, [], fps, "video")
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    video_fps = cap.get(cv2.CAP_PROP_FPS) or fps
    cap.release()
    return FrameSource(path, [f"{path.stem}/{t:06d}.jpg" for t in range(max(count, 0))], video_fps, "video")


def _members(folder: Path) -> tuple[list[str], list[str]]:
    """(picture names, video names) of a folder, each sorted."""
    names = sorted(p.name for p in folder.iterdir())
    return (
        [n for n in names if Path(n).suffix.lower() in IMAGE_SUFFIXES],
        [n for n in names if Path(n).suffix.lower() in VIDEO_SUFFIXES],
    )


def open_inputs(inputs: Sequence[str | Path], fps: float = 25.0, upright: bool = True) -> list[FrameSource]:
    """Each input as a FrameSource; a folder becomes one source per picture and per video in it
    (a video in it that does not open is reported when read, as an unreadable picture is)."""
    out: list[FrameSource] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():  # its pictures, then its videos (a folder of videos alone is fine here)
            names, videos = _members(path)
            if not names and not videos:
                raise FileNotFoundError(f"no images or videos in folder {path}")
            out.extend(FrameSource(path / n, [n], fps, "image", upright=upright) for n in names)
            out.extend(_open_video(path / n, fps, must_open=False) for n in videos)
        else:
            out.append(open_frames(path, fps, upright))
    return out
