"""One way to take a path on the command line: the option declares what it expects.

A path option is declared with `type=` one of the `PathArg` values below (the value stays a
string, so the commands read it as before); `check_paths(parser, args)` then checks every
path option of the parsed command in one place, before the command runs (before torch or a
model loads): inputs first, then outputs, and nothing is created. A failure is one line,
`OPTION PATH: what is wrong` (a `PathError`, so `cli.main` prints it and exits 2).

What is checked here is cheap: existence, file vs folder, emptiness, readability, and a
look at the content's first bytes (JSON object or list, a YAML mapping, a checkpoint's
container, an image that decodes, a video that opens). Deep checks (a COCO file's fields, a
checkpoint's keys) stay where the file is read; `name_option` gives those errors the option
name too. The test matrix (tests/test_cli_paths.py) walks `build_parser()` and reads
`action.type` to find every path option, so a new option is covered once it has a kind.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.fileio import IMAGE_SUFFIXES, VIDEO_SUFFIXES

# What an option expects (`PathArg.kind`).
FILE, FOLDER, FILE_OR_FOLDER, OUT_FOLDER, OUT_FILE = "file", "folder", "file or folder", "output folder", "output file"
INPUT_KINDS = (FILE, FOLDER, FILE_OR_FOLDER)

_HEAD = 4096  # bytes read to sniff a file's content


class PathError(ValueError):
    """A path option whose path is not what the option expects; one line naming both."""


@dataclass(frozen=True)
class PathArg:
    """An argparse `type=` that marks an option as a path of `kind`, with the `content` it must
    hold ("" any, "json", "coco", "results", "posetrack", "yaml", "checkpoint", "config or
    checkpoint", "image", "video", "images" (a folder of them), "media" (an image, a video or a
    folder of images or videos: `track` takes only its images, as frames)). `literals` are words the
    option also takes instead of a path (`--boxes gt`); "" is always "not given"."""

    kind: str
    content: str = ""
    literals: tuple[str, ...] = ()
    #: The option also takes a model-zoo name: a value without a folder or a suffix is a name.
    names: bool = False

    def __call__(self, text: str) -> str:
        return text  # the check needs all options at once (inputs before outputs): check_paths

    @property
    def is_output(self) -> bool:
        return self.kind in (OUT_FOLDER, OUT_FILE)


CHECKPOINT = PathArg(FILE, "checkpoint")
YAML = PathArg(FILE, "yaml")
COCO = PathArg(FILE, "coco")
RESULTS = PathArg(FILE, "results")
JSON = PathArg(FILE, "json")
POSETRACK = PathArg(FILE, "posetrack")
IMAGES = PathArg(FOLDER, "images")
POSETRACK_DIR = PathArg(FOLDER, "posetrack")
MEDIA = PathArg(FILE_OR_FOLDER, "media")
FOLDER_IN = PathArg(FOLDER)
OUT_DIR = PathArg(OUT_FOLDER)
OUT = PathArg(OUT_FILE)
#: --detector: an .onnx / .pth file, a zoo detector's name, or "none".
DETECTOR = PathArg(FILE, "", ("none",), names=True)


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """{command name: its parser} of `simplepose.cli.build_parser()`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def option_name(action: argparse.Action) -> str:
    """How the user spells the option: its longest flag, or a positional's metavar."""
    if action.option_strings:
        return next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])
    return str(action.metavar or action.dest).upper()


def path_options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The actions of `parser` whose `type` is a PathArg."""
    return [a for a in parser._actions if isinstance(a.type, PathArg)]


def path_arg(action: argparse.Action) -> PathArg:
    """The PathArg of one of `path_options`' actions."""
    kind = action.type
    assert isinstance(kind, PathArg)  # path_options picked the actions whose type is one
    return kind


def _values(action: argparse.Action, args: argparse.Namespace) -> list[str]:
    value = getattr(args, action.dest, None)
    values = value if isinstance(value, list) else [value]
    kind = path_arg(action)
    return [
        str(v)
        for v in values
        if v not in (None, "") and str(v) not in kind.literals and not (kind.names and _is_name(str(v)))
    ]


def _is_name(value: str) -> bool:
    """A zoo name (`yolox-m`), not a path: no folder part and no suffix."""
    return "/" not in value and "\\" not in value and not Path(value).suffix


def check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Check every path option of `parser` given in `args`: inputs, then outputs. Raises PathError."""
    actions = path_options(parser)
    for action in sorted(actions, key=lambda a: path_arg(a).is_output):
        for value in _values(action, args):
            problem = check_path(value, path_arg(action))
            if problem:
                raise PathError(f"{option_name(action)} {value}: {problem}")


def check_path(value: str, arg: PathArg) -> str | None:
    """What is wrong with `value` for `arg` (a few words), or None."""
    path = Path(value)
    if arg.is_output:
        return _check_output(path, arg.kind)
    if not path.exists():
        return "not found" if not path.is_symlink() else "not found (a broken link)"
    if path.is_dir():
        if arg.kind == FILE:
            return "is a folder, expected a file"
        return _check_folder(path, arg.content)
    if arg.kind == FOLDER:
        return "is a file, expected a folder"
    return _check_file(path, arg.content)


def _check_output(path: Path, kind: str) -> str | None:
    if path.exists():
        if kind == OUT_FOLDER and not path.is_dir():
            return "is a file, expected a folder"
        if kind == OUT_FILE and path.is_dir():
            return "is a folder, expected a file"
        target = path if path.is_dir() else path.parent
        return None if os.access(target, os.W_OK | os.X_OK) else "cannot write there: permission denied"
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be made: {parent} is a file"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"cannot be made: {parent} is not writable"


def _files(path: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    return (p for p in path.iterdir() if p.suffix.lower() in suffixes and not p.name.startswith("."))


def _check_folder(path: Path, content: str) -> str | None:
    try:
        entries = list(path.iterdir())
    except OSError as e:
        return f"cannot read: {e.strerror or e}"
    if not entries:
        return "is an empty folder"
    if content == "images" and next(_files(path, IMAGE_SUFFIXES), None) is None:
        return f"has no images ({', '.join(IMAGE_SUFFIXES)})"
    if content == "media" and next(_files(path, IMAGE_SUFFIXES + VIDEO_SUFFIXES), None) is None:
        return f"has no images or videos ({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})"
    if content == "posetrack" and next(_files(path, (".json",)), None) is None:
        return "has no PoseTrack files (*.json)"
    if content not in ("", "images", "media", "posetrack"):
        return "is a folder, expected a file"
    return None


def _check_file(path: Path, content: str) -> str | None:
    if not path.is_file():
        return "is not a regular file"
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    except OSError as e:
        return f"cannot read: {e.strerror or e}"
    if not head:
        return "is an empty file"
    if content == "config or checkpoint":
        content = "yaml" if path.suffix.lower() in (".yaml", ".yml") else "checkpoint"
    if content == "media":
        suffix = path.suffix.lower()
        if suffix not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            return f"not an image or video file ({', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)})"
        content = "image" if suffix in IMAGE_SUFFIXES else "video"
    check = _CONTENT.get(content)
    return check(path, head) if check else None


def _json_start(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return chr(text[0]) if text else ""


def _json(wanted: str, what: str):
    def check(path: Path, head: bytes) -> str | None:
        start = _json_start(head)
        if start not in "{[" or not start:
            return "not a JSON file"
        return None if start in wanted else f"not {what}"

    return check


def _yaml(path: Path, head: bytes) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        return f"not valid YAML ({str(e).splitlines()[0]})"
    return None if isinstance(data, dict) else "not a YAML config (a mapping of sections expected)"


def _checkpoint(path: Path, head: bytes) -> str | None:
    # torch.save writes a zip archive (PK..) or, before torch 1.6 and in the official files, a
    # pickle (protocol 2+ starts with 0x80); anything else cannot be a checkpoint.
    return None if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80" else "not a checkpoint (a torch.save file)"


def _image(path: Path, head: bytes) -> str | None:
    import cv2
    import numpy as np

    data = np.fromfile(str(path), dtype=np.uint8)
    ok = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION) is not None
    return None if ok else "does not decode as an image"


def _video(path: Path, head: bytes) -> str | None:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        return None if cap.isOpened() and cap.read()[0] else "does not open as a video"
    finally:
        cap.release()


_CONTENT = {
    "json": _json("{[", "JSON"),
    "coco": _json("{", "a COCO file (a JSON object with 'images'; this is a list)"),
    "results": _json("[", "a COCO results file (a JSON list; this is an object)"),
    "posetrack": _json("{", "a PoseTrack file (a JSON object with 'annotations'; this is a list)"),
    "yaml": _yaml,
    "checkpoint": _checkpoint,
    "image": _image,
    "video": _video,
}


def name_option(parser: argparse.ArgumentParser, args: argparse.Namespace, message: str) -> str:
    """`message` of an error raised while a command ran, with the option whose path it names
    put in front (`--boxes: ...`), when exactly one path option's value appears in it and no
    option is named yet."""
    if message.startswith("-") or any(message.startswith(f"{option_name(a)} ") for a in path_options(parser)):
        return message
    named = {option_name(a) for a in path_options(parser) for v in _values(a, args) if v in message}
    return f"{named.pop()}: {message}" if len(named) == 1 else message
