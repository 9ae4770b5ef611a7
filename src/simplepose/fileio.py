"""The bottom I/O layer: atomic writes, JSON and image reading, paths, the project's error type.

Atomic file writing: results, reports and checkpoints are never left half-written.

Every writer goes to a temporary file in the destination folder, syncs it, then renames it
over the destination (`os.replace` is atomic on one file system), so a killed run leaves
either the old file or the new one.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, List, Union

if TYPE_CHECKING:
    import numpy as np

PathLike = Union[str, Path]

#: The file suffixes read as images and as videos (by `frames`, the commands' path checks, export).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")

#: Test hook, off unless set: with SIMPLEPOSE_TEST_STALL_WRITE=NAME in the environment, an atomic
#: write that would replace an existing file named NAME stops for `_STALL_SECONDS` once its bytes
#: are in the temporary file, before the rename, so that a test can kill the process inside the
#: write and check what is left (tests/test_train_checks.py). Replacements only: the previous
#: version is then on disk to be checked.
STALL_WRITE_ENV = "SIMPLEPOSE_TEST_STALL_WRITE"
_STALL_SECONDS = 300.0


def _stall_for_tests(path: Path) -> None:
    if os.environ.get(STALL_WRITE_ENV) == path.name and path.exists():
        time.sleep(_STALL_SECONDS)


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask


#: Read once, at import (single-threaded), not at each write: the set-and-restore above would
#: briefly give other threads' new files a zero umask.
_UMASK = _read_umask()


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call `write(f)` on a temporary binary file beside `path`, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); results, checkpoints and models get the
        # permissions any other new file would (0666 less the umask), as `open` gives.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            _stall_for_tests(path)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def atomic_write_json(path: PathLike, obj: Any, **dump_kwargs: Any) -> None:
    """JSON-encode `obj` (json.dumps keyword arguments allowed) and write it atomically."""
    atomic_write_bytes(path, json.dumps(obj, **dump_kwargs).encode())


class FileFormatError(ValueError):
    """A malformed input file; the message names the file, the record and the field."""


class ConfigError(FileFormatError):
    """A config file, or a `--set` override of one, that does not fit the schema (unknown
    section or key, wrong type, a value the code cannot honour); the message names the file
    or override and the key. Defined here, below `config` and `config_official`, so that both
    raise it while importing only downward; `simplepose.config` re-exports it."""


class MissingPackageError(ValueError):
    """An optional part (a detector, a runtime, a file format) whose package is not installed;
    one line naming the package and how to install it. A ValueError, so every command reports
    it as one line with exit status 2."""

    def __init__(self, what: str, package: str, install: str, otherwise: str = "") -> None:
        super().__init__(f"{what} needs {package}, which is not installed (or does not import): "
                         f"`{install}`" + (f"; {otherwise}" if otherwise else ""))
        self.package = package


def read_json(path: PathLike, kind: str = "file") -> Any:
    """Parse a JSON file; a missing file or bad JSON is one clear error naming the file.

    `kind` names what the file is for the message ("annotation file", "detections file", ...).
    """
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{kind} not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FileFormatError(f"{path}: not valid JSON ({e})") from None


def join_root(root: PathLike, path: PathLike) -> str:
    """`path` under `root` (a dataset root from a config), unless `path` is absolute or either is empty."""
    root, path = str(root or ""), str(path or "")
    return str(Path(root) / path) if root and path and not Path(path).is_absolute() else path


def read_image(path: PathLike) -> "np.ndarray":
    """(H, W, 3) uint8 BGR image, decoded as the paper's code does (EXIF orientation ignored).

    A missing or undecodable file is one clear error naming it.
    """
    import cv2  # local: keeps `import simplepose.fileio` light

    image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        what = "image not found" if not os.path.exists(path) else "cannot read image"
        raise FileNotFoundError(f"{what}: {path}")
    return image


class OutputError(ValueError):
    """An output folder that cannot be made or written; one line naming it."""


#: `atomic_write`'s temporary names: the destination's name, 8 random characters, `.tmp`.
_TEMP_NAME = re.compile(r"^.+\.[a-z0-9_]{8}\.tmp$")


#: The folders `prepare_output_dir` made in this process, deepest first within each call, so a
#: command that fails can take away those it left empty (`remove_empty_made_dirs`).
_MADE_DIRS: List[Path] = []


def prepare_output_dir(path: PathLike) -> Path:
    """Create `path` (and parents) and check that files can be written there, before any work.

    Temporary files left by a killed atomic write in that folder are removed (the write they
    belonged to never finished, so nothing reads them). Raises OutputError, one line.
    """
    path = Path(path)
    new = [p for p in (path.absolute(), *path.absolute().parents) if not p.exists()]  # deepest first
    try:
        path.mkdir(parents=True, exist_ok=True)
        _MADE_DIRS.extend(new)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"cannot write to output folder {path}: {e.strerror or e}") from None
    for stale in path.iterdir():
        if _TEMP_NAME.match(stale.name) and stale.is_file():
            stale.unlink(missing_ok=True)
    return path


def made_dirs_mark() -> int:
    """A mark of the folders made so far, for `remove_empty_made_dirs`."""
    return len(_MADE_DIRS)


def remove_empty_made_dirs(mark: int) -> None:
    """Remove the folders `prepare_output_dir` made since `mark` that are still empty (a
    failed command leaves no folder behind); a folder holding anything stays."""
    made, _MADE_DIRS[mark:] = _MADE_DIRS[mark:], []
    for folder in made:
        try:
            folder.rmdir()  # only an empty folder goes
        except OSError:
            pass


def output_path(out_dir: PathLike, name: str) -> Path:
    """`out_dir / name` for a name derived from an input; refuses names that leave `out_dir`."""
    if not name or Path(name).is_absolute() or any(part in ("..", "") for part in Path(name).parts) \
            or "/" in name or "\\" in name:
        raise ValueError(f"output name {name!r} must be a plain file name (no folders, no '..')")
    return Path(out_dir) / name
