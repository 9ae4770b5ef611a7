"""Downloads that can be trusted, and a cache that stays trustworthy.

A file is downloaded to `NAME.part` in the cache folder and renamed to `NAME` only once its
size and sha256 match; a mismatch keeps nothing. A dropped connection resumes with an HTTP
Range request (or starts over where the server ignores it), a bounded number of times; a
404, a refused connection or a time-out moves on to the next URL (`$SIMPLEPOSE_MIRROR` first,
keeping each file's path). Two processes asking for one file take turns on `NAME.lock`, so it
is downloaded once. Progress goes to stderr, so stdout stays clean for JSON.

Every file kept in the cache has a record `NAME.sha256.json` of its digest, size and mtime
written when it was verified, so a later run re-hashes it only if its size or mtime changed:
a corrupted file is caught without reading 100 MB at every start. Offline (`--offline`,
`$SIMPLEPOSE_OFFLINE=1`) no socket is opened: a missing file is one line saying which file to
place where.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlparse

from ..core.fileio import atomic_write_json
from .table import ZooError

HOME_ENV, OFFLINE_ENV, MIRROR_ENV = "SIMPLEPOSE_HOME", "SIMPLEPOSE_OFFLINE", "SIMPLEPOSE_MIRROR"
#: Seconds without a byte before a connection counts as timed out.
TIMEOUT = float(os.environ.get("SIMPLEPOSE_DOWNLOAD_TIMEOUT", "30"))
#: Dropped transfers resumed (or restarted) before giving up on a URL.
RETRIES = 3
_CHUNK = 1 << 20
_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def cache_dir() -> Path:
    """`$SIMPLEPOSE_HOME`, else `$XDG_CACHE_HOME/simplepose`, else `~/.cache/simplepose`."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "simplepose"


def is_offline(offline: bool | None = None) -> bool:
    """`offline` when given, else `$SIMPLEPOSE_OFFLINE` (1 / true / yes)."""
    if offline is not None:
        return offline
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def candidate_urls(urls: Sequence[str]) -> list[str]:
    """The URLs to try in order: `$SIMPLEPOSE_MIRROR` + each URL's path first, then the URLs."""
    mirror = os.environ.get(MIRROR_ENV, "").rstrip("/")
    ordered = ([mirror + urlparse(u).path for u in urls] if mirror else []) + list(urls)
    return list(dict.fromkeys(ordered))  # each URL once, first place kept


# ---------------------------------------------------------------- the verified-file record
def sha256_of(path: Path) -> str:
    """The file's SHA-256, as lowercase hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256.json")


def record_digest(path: Path, digest: str) -> None:
    """Remember that `path`, as it is now (size, mtime), has sha256 `digest`."""
    st = path.stat()
    with cache_writes(path.parent):
        atomic_write_json(_record_path(path), {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns})


def recorded_digest(path: Path) -> str:
    """The digest recorded for `path`, or "" when there is no record."""
    try:
        return str(json.loads(_record_path(path).read_text())["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def check_cached(path: Path, expected: str = "") -> str | None:
    """Whether the cached `path` is intact: None if it is, else why not (one phrase).

    `expected` is a sha256 prefix or full digest; "" means "the digest recorded when the file
    was written". The file is hashed only when its size or mtime differ from the record.
    """
    if not path.is_file():
        return "not in the cache"
    try:
        rec = json.loads(_record_path(path).read_text())
        st = path.stat()
        same = rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns
        digest = str(rec["sha256"]) if same else ""
        recorded = str(rec["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        digest, recorded = "", ""
    if not digest:
        digest = sha256_of(path)
        want = expected or recorded
        if not want:
            return "no digest was recorded for it"
        if not digest.startswith(want):
            return f"corrupted (sha256 {digest[:16]}..., expected {want[:16]}...)"
        with contextlib.suppress(ZooError):  # a read-only cache can still be read
            record_digest(path, digest)
    elif expected and not digest.startswith(expected):
        return f"its recorded sha256 {digest[:16]}... is not the expected {expected[:16]}..."
    return None


@contextlib.contextmanager
def cache_writes(folder: Path) -> Iterator[None]:
    """Turn a read-only or full cache into one line naming the folder."""
    try:
        yield
    except OSError as e:
        if e.errno in _NO_SPACE:
            raise ZooError(
                f"the cache folder {folder} is full ({e.strerror}); free space or set {HOME_ENV} to another folder"
            ) from None
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ZooError(
                f"the cache folder {folder} is not writable ({e.strerror}); set {HOME_ENV} to a writable folder"
            ) from None
        raise


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold `NAME.lock` beside `path` (blocking): one process at a time fills that file."""
    folder = path.parent
    with cache_writes(folder):
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(path.name + ".lock"), "a+b")  # noqa: SIM115 (held across the yield below)
    try:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here; downloads still land atomically
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


# ---------------------------------------------------------------- downloading
class _NextUrl(Exception):
    """This URL cannot serve the file (404, refused, time-out): try the next one."""


def download(
    urls: Sequence[str], dest: Path, sha256: str = "", size: int = 0, label: str = "", progress: bool = True
) -> str:
    """Download the first URL of `candidate_urls(urls)` that works to `dest`; returns its sha256.

    The bytes go to `dest.part`, and `dest` appears only when the size (`size`, else the
    server's length) and `sha256` (a prefix or full digest; "" = not checked) match. Call it
    holding `file_lock(dest)`. Raises ZooError (one line) when no URL works or a check fails;
    nothing is left behind then.
    """
    part = dest.with_name(dest.name + ".part")
    tried = []
    for url in candidate_urls(urls):
        try:
            total = _transfer(url, part, label or dest.name, progress)
        except _NextUrl as e:
            tried.append(f"{url} ({e})")
            continue
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return _accept(url, part, dest, sha256, size or total)
    raise ZooError(f"could not download {label or dest.name}: " + "; ".join(tried))


def _accept(url: str, part: Path, dest: Path, sha256: str, size: int) -> str:
    got = part.stat().st_size
    if size and got != size:
        part.unlink(missing_ok=True)
        raise ZooError(f"{url}: got {got} bytes, expected {size}; nothing was kept")
    digest = sha256_of(part)
    if sha256 and not digest.startswith(sha256):
        part.unlink(missing_ok=True)
        raise ZooError(f"{url}: sha256 mismatch: expected {sha256}, found {digest}; nothing was kept")
    with cache_writes(dest.parent):
        os.replace(part, dest)
    record_digest(dest, digest)
    return digest


def _transfer(url: str, part: Path, label: str, progress: bool) -> int:
    """Fill `part` from `url`, resuming after dropped connections; returns the expected size (0 = unknown)."""
    drops = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"User-Agent": "simplepose"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            response = urllib.request.urlopen(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # nothing past what we hold: the checks will judge it
                return 0
            raise _NextUrl(f"HTTP {e.code}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            if have and drops < RETRIES:  # the server went away mid-file: it may come back
                drops += 1
                continue
            raise _NextUrl(_reason(e)) from None
        with response:
            resumed = have and response.status == 206
            length = int(response.headers.get("Content-Length") or 0)
            total = (have if resumed else 0) + length
            try:
                with cache_writes(part.parent), open(part, "ab" if resumed else "wb") as f:
                    _copy(response, f, total, have if resumed else 0, label, progress)
            except (OSError, http.client.HTTPException) as e:  # reset, time-out, short read
                drops += 1
                if drops > RETRIES:
                    part.unlink(missing_ok=True)
                    raise ZooError(
                        f"{url}: the connection dropped {drops} times ({_reason(e)}); "
                        "nothing was kept, run the command again"
                    ) from None
                continue
            got = part.stat().st_size
            if total and got < total:
                drops += 1
                if drops > RETRIES:
                    part.unlink(missing_ok=True)
                    raise ZooError(
                        f"{url}: the transfer stopped at {got} of {total} bytes {drops} times; "
                        "nothing was kept, run the command again"
                    )
                continue
            return total


def _copy(response, f, total: int, start: int, label: str, progress: bool) -> None:
    from tqdm import tqdm

    with tqdm(
        total=total or None,
        initial=start,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        desc=label,
        disable=not progress,
        leave=False,
        mininterval=0.5,
    ) as bar:
        while True:
            block = response.read(_CHUNK)
            if not block:
                break
            f.write(block)
            bar.update(len(block))


def _reason(e: BaseException) -> str:
    reason = getattr(e, "reason", None) or e
    if isinstance(reason, socket.timeout) or "timed out" in str(reason):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return " ".join(str(reason).split())[:120] or type(e).__name__
