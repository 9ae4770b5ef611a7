"""Atomic file writing: results, reports and checkpoints are never left half-written.

Every writer goes to a temporary file in the destination folder, syncs it, then renames it
over the destination (`os.replace` is atomic on one file system), so a killed run leaves
either the old file or the new one.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Union

PathLike = Union[str, Path]


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call `write(f)` on a temporary binary file beside `path`, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
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
