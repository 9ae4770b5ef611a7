"""The bottom I/O layer: atomic writes, JSON and image reading, paths, the project's error type.

Atomic file writing: results, reports and checkpoints are never left half-written.

Every writer goes to a temporary file in the destination folder, syncs it, then renames it
over the destination (`os.replace` is atomic on one file system), so a killed run leaves
either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Union

from .words import count

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


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Call `write(f)` on a temporary binary file beside `path`, then rename it to `path`.

    What `write` returns (a byte count, say) is ignored.
    """
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
        are, do = ("are", "do") if " and " in package else ("is", "does")  # "onnx and onnxruntime, which are ..."
        super().__init__(
            f"{what} needs {package}, which {are} not installed (or {do} not import): "
            f"`{install}`" + (f"; {otherwise}" if otherwise else "")
        )
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


def read_image(path: PathLike, upright: bool = False) -> np.ndarray:
    """(H, W, 3) uint8 BGR image. By default decoded as the paper's code does: the pixels as
    stored, EXIF orientation ignored, which is the frame COCO's (and most data sets') annotations
    are in. `upright`: turned as the file's EXIF orientation says, as a photo viewer shows it
    (a phone's portrait photo stands up): for a user's photos, whose people a detector finds.

    A missing or undecodable file is one clear error naming it.
    """
    import cv2  # local: keeps `import simplepose.core.fileio` light

    image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        what = "image not found" if not os.path.exists(path) else "cannot read image"
        raise FileNotFoundError(f"{what}: {path}")
    if not upright:
        return image
    from .orientation import apply_orientation, exif_orientation

    return apply_orientation(image, exif_orientation(path))


class OutputError(ValueError):
    """An output folder that cannot be made or written; one line naming it."""


#: `atomic_write`'s temporary names: the destination's name, 8 random characters, `.tmp`.
_TEMP_NAME = re.compile(r"^.+\.[a-z0-9_]{8}\.tmp$")


#: The folders `prepare_output_dir` made in this process, deepest first within each call, so a
#: command that fails can take away those it left empty (`remove_empty_made_dirs`).
_MADE_DIRS: list[Path] = []


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
        with contextlib.suppress(OSError):
            folder.rmdir()  # only an empty folder goes


def output_path(out_dir: PathLike, name: str) -> Path:
    """`out_dir / name` for a name derived from an input; refuses names that leave `out_dir`."""
    if (
        not name
        or Path(name).is_absolute()
        or any(part in ("..", "") for part in Path(name).parts)
        or "/" in name
        or "\\" in name
    ):
        raise ValueError(f"output name {name!r} must be a plain file name (no folders, no '..')")
    return Path(out_dir) / name


@dataclass
class Unreadable:
    """The members of a batch (a folder's pictures, a video, a video's frames, a data set's
    images) that could not be read: each is skipped and said in one line (`say`), and counted
    for the summary; with `strict` the first one is an error instead (one line, exit 2)."""

    strict: bool = False
    say: Callable[[str], None] | None = None
    names: list[str] = field(default_factory=list)

    def __call__(self, name: str, problem: str) -> None:
        if self.strict:
            raise FileFormatError(f"{name}: {problem} (--strict: an unreadable input is an error)")
        self.names.append(name)
        if self.say is not None:
            self.say(f"skipped {name}: {problem}")

    def __len__(self) -> int:
        return len(self.names)

    def summary(self, shown: int = 5) -> str:
        """ "2 unreadable inputs skipped: a.jpg, b.mp4" (the first `shown` names)."""
        listed = ", ".join(self.names[:shown]) + (f" and {len(self) - shown} more" if len(self) > shown else "")
        return f"{count(len(self), 'unreadable input')} skipped: {listed}"


#: An output claim's lock, `.NAME.lock`, and its list of the files the run wrote, `.NAME.files`.
_LOCK, _MANIFEST = ".{}.lock", ".{}.files"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class OutputClaim:
    """One run's claim on its outputs `name` (results.json and the drawings of `predict`,
    NAME.json and NAME.mp4 of `track` ...) in a folder: two runs never write them at once, and
    a run does not mix its files with an earlier run's.

    `claim()` creates `.NAME.lock` with O_EXCL (atomic: of two runs started together, one gets
    it; a lock whose process is gone is taken over) and refuses a folder whose `markers` (the
    files an earlier run's results are in) exist, unless `overwrite`: then the files the earlier
    run listed in `.NAME.files` are removed first. `finish(paths)` lists this run's files there;
    `release()` removes the lock. Raises OutputError, one line.
    """

    def __init__(self, out_dir: PathLike, name: str, markers: Iterable[str], overwrite: bool = False) -> None:
        self.out, self.name, self.markers, self.overwrite = Path(out_dir), name, list(markers), overwrite
        self.lock = self.out / _LOCK.format(name)
        self.manifest = self.out / _MANIFEST.format(name)
        self.replaced = 0  # files of an earlier run removed (with overwrite)
        self.held = False
        self._made_folder = False
        self._before: set = set()

    def check(self) -> None:
        """Refuse an earlier run's results (before any work; `claim` checks again under the lock)."""
        found = [m for m in self.markers if (self.out / m).exists()]
        if found and not self.overwrite:
            raise OutputError(
                f"{self.out} holds the results of an earlier run ({', '.join(found)}): "
                "give --overwrite to replace them, or another --out"
            )

    def claim(self) -> OutputClaim:
        self._made_folder = not self.out.exists()
        self.out.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                try:
                    pid = int(self.lock.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and _alive(pid):
                    raise OutputError(
                        f"{self.out}: another run (process {pid}) is writing {self.name} there "
                        f"now ({self.lock}); wait for it, or give another --out"
                    ) from None
                self.lock.unlink(missing_ok=True)  # its run was killed: the claim is free
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            self.held = True
            break
        if not self.held:
            raise OutputError(f"{self.out}: cannot claim {self.lock}")
        try:
            self.check()
            if self.overwrite:
                self._remove_earlier()
            self._before = {p.name for p in self.out.iterdir()}
        except BaseException:
            self.release()
            raise
        return self

    def _remove_earlier(self) -> None:
        try:
            listed = json.loads(self.manifest.read_text()) if self.manifest.exists() else []
        except (OSError, ValueError):
            listed = []
        names = {Path(str(n)).name for n in (listed if isinstance(listed, list) else [])} | set(self.markers)
        for n in sorted(names):
            p = self.out / n
            if p.is_file():
                p.unlink()
                self.replaced += 1
        self.manifest.unlink(missing_ok=True)

    def finish(self, paths: Iterable[PathLike]) -> None:
        """List the files this run wrote (a later --overwrite removes exactly these)."""
        atomic_write_json(self.manifest, sorted({Path(p).name for p in paths}))

    def discard(self, only: Iterable[str] | None = None) -> None:
        """Remove what this run wrote (a run that failed leaves no output): the files new since
        the claim (of the names `only`, when given), and the folder when the claim made it and
        nothing else is there."""
        names = None if only is None else set(only)
        for p in self.out.iterdir():
            if p.name not in self._before and p != self.lock and p.is_file() and (names is None or p.name in names):
                p.unlink(missing_ok=True)
        self.release()
        if self._made_folder and not any(self.out.iterdir()):
            self.out.rmdir()

    def release(self) -> None:
        if self.held:
            self.lock.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> OutputClaim:
        return self.claim()

    def __exit__(self, *exc: Any) -> None:
        self.release()
