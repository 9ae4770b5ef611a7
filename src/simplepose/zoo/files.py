"""From a zoo name to a verified file in the cache: download, convert, unpack.

Cache layout (`download.cache_dir()`):
    downloads/FILE            the file as published (+ FILE.sha256.json, FILE.lock)
    models/NAME-KEY.pth       a pose row converted once to a plain simplepose checkpoint
                              (state dict + the row's config), so every later load is
                              `weights_only` and needs no numpy allow-list
    detectors/NAME-KEY/end2end.onnx   the ONNX graph unpacked from a detector bundle
Each kept file has its own digest record, checked as `download.check_cached` says. KEY
(`derived_key`) is a hash of everything that shapes a derived file: the row's source (file
name, digest, member) and what the converter writes into it (format, colour, input size,
decoder, skeleton), with `DERIVED_VERSION`; a row edited in `$SIMPLEPOSE_MODELS`, or a
converter that writes something else, gets a file of its own, converted anew from the
download. Files of the older layout (`models/NAME.pth`, `detectors/NAME/`) are not read.
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

from .download import cache_dir, cache_writes, check_cached, download, file_lock, is_offline, record_digest, sha256_of
from .table import ModelRow, ZooError, get_row

#: Bumped when the converter or the unpacking writes something else from the same row.
DERIVED_VERSION = 2


def is_derived(row: ModelRow) -> bool:
    """Whether the file a command uses is made from the download (converted or unpacked)."""
    return (row.kind == "pose" and row.format != "simplepose") or row.format == "onnx-zip"


def derived_key(row: ModelRow) -> str:
    """A hash of what shapes the file derived from `row`'s download (see the module docstring)."""
    shaping = (
        DERIVED_VERSION,
        row.filename,
        row.sha256,
        row.format,
        row.color,
        tuple(row.input_size),
        row.decoder,
        row.skeleton,
        row.member,
        row.member_sha256,
    )
    return hashlib.sha256(repr(shaping).encode()).hexdigest()[:10]


def final_path(row: ModelRow) -> Path:
    """Where the file a command uses lives: converted model, unpacked graph, or the download."""
    if row.kind == "pose" and row.format != "simplepose":
        return cache_dir() / "models" / f"{row.name}-{derived_key(row)}.pth"
    if row.format == "onnx-zip":
        return cache_dir() / "detectors" / f"{row.name}-{derived_key(row)}" / (Path(row.member).name or "end2end.onnx")
    return download_path(row)


def download_path(row: ModelRow) -> Path:
    """Where the row's published file is kept once downloaded: `downloads/` of the cache."""
    return cache_dir() / "downloads" / row.filename


def is_cached(row: ModelRow) -> bool:
    """Whether the row's file is in the cache (not re-verified: that happens when it is used).

    For a converted or unpacked file, its download counts too (deriving it needs no network).
    """
    return final_path(row).is_file() or (is_derived(row) and download_path(row).is_file())


def fetch(row: ModelRow, offline: bool | None = None, progress: bool = True) -> Path:
    """The row's published file, verified, in `downloads/` (downloaded first if need be)."""
    dest = download_path(row)
    problem = check_cached(dest, row.sha256)
    if problem is None:
        return dest
    if not row.urls:
        return _hand_placed(row, dest, problem)
    if is_offline(offline):
        where = f"download {row.urls[0]} and place it at {dest}"
        if dest.exists():
            raise ZooError(
                f"offline: the cached {dest} is {problem}; {where}, or go online "
                f"(`simplepose models download {row.name}`)"
            )
        raise ZooError(
            f"offline: model {row.name} is not in the cache; {where}, or run "
            f"`simplepose models download {row.name}` where there is a network"
        )
    with file_lock(dest):
        problem = check_cached(dest, row.sha256)  # another process may have fetched it meanwhile
        if problem is None:
            return dest
        if dest.exists():
            print(f"simplepose: the cached {dest.name} is {problem}; downloading it again", file=sys.stderr)
            with cache_writes(dest.parent):
                dest.unlink()
        print(f"simplepose: downloading {row.name} ({row.filename}) to {dest.parent}", file=sys.stderr)
        download(row.urls, dest, row.sha256, row.size, label=row.name, progress=progress)
    return dest


def _hand_placed(row: ModelRow, dest: Path, problem: str) -> Path:
    """A row without URLs: use the file the user put in the cache, or say where to put it."""
    if not dest.is_file():
        raise ZooError(
            f"model {row.name} cannot be downloaded: get it by hand from {row.manual}, then place it "
            f"at {dest} (or pass the file as --checkpoint FILE)"
        )
    if problem != "no digest was recorded for it":
        raise ZooError(f"the file placed at {dest} for {row.name} is {problem}; place it there again")
    record_digest(dest, sha256_of(dest))  # trust on first use: later changes are caught
    return dest


def model_file(name: str, offline: bool | None = None, progress: bool = True) -> Path:
    """A pose model of the zoo as a checkpoint that `weights.load_checkpoint` reads safely.

    Downloaded and verified once; an official or mmpose file is converted once into the cache.

    Args:
        name: the zoo's name for it (`simplepose models` lists them).
        offline: open no connection (None: `$SIMPLEPOSE_OFFLINE`); the file must be cached.
        progress: show a progress bar while downloading.

    Returns:
        The checkpoint's path in the cache.

    Raises:
        ZooError: an unknown name (with the nearest ones) or a row that is not a pose model.
    """
    row = get_row(name)
    if row.kind != "pose":
        use = "as model.pretrained in a training config" if row.kind == "backbone" else "with --detector"
        raise ZooError(f"{name} is a {row.kind}, not a pose model: use it {use}")
    if row.format == "simplepose":
        return fetch(row, offline, progress)
    dest = final_path(row)
    if check_cached(dest) is None:
        return dest
    raw = fetch(row, offline, progress)
    with file_lock(dest):
        if check_cached(dest) is not None:
            from .convert import convert_pose_file

            with cache_writes(dest.parent):
                dest.parent.mkdir(parents=True, exist_ok=True)
            convert_pose_file(row, raw, dest, derived_key(row))
            record_digest(dest, sha256_of(dest))
    return dest


def backbone_file(name: str, offline: bool | None = None, progress: bool = True) -> Path:
    """An ImageNet ResNet of the zoo (torchvision format), for `model.pretrained`.

    Args:
        name: the zoo's name for it (`simplepose models` lists them).
        offline: open no connection (None: `$SIMPLEPOSE_OFFLINE`); the file must be cached.
        progress: show a progress bar while downloading.

    Returns:
        The weights file's path in the cache.

    Raises:
        ZooError: an unknown name or a row that is not a backbone.
    """
    row = get_row(name)
    if row.kind != "backbone":
        raise ZooError(f"{name} is a {row.kind} model, not an ImageNet backbone (e.g. resnet50)")
    return fetch(row, offline, progress)


def detector_file(name: str, offline: bool | None = None, progress: bool = True) -> Path:
    """A person detector of the zoo as an .onnx file (unpacked once from its zip bundle).

    Args:
        name: the zoo's name for it (`simplepose models` lists them).
        offline: open no connection (None: `$SIMPLEPOSE_OFFLINE`); the file must be cached.
        progress: show a progress bar while downloading.

    Returns:
        The .onnx file's path in the cache.

    Raises:
        ZooError: an unknown name or a row that is not a person detector.
    """
    row = get_row(name)
    if row.kind != "detector":
        raise ZooError(f"{name} is a {row.kind} model, not a person detector (e.g. yolox-m)")
    if row.format == "onnx":
        return fetch(row, offline, progress)
    dest = final_path(row)
    if check_cached(dest, row.member_sha256) is None:
        return dest
    bundle = fetch(row, offline, progress)
    with file_lock(dest):
        if check_cached(dest, row.member_sha256) is not None:
            _unpack(row, bundle, dest)
    return dest


def _unpack(row: ModelRow, bundle: Path, dest: Path) -> None:
    """Copy the bundle's `row.member` (at any folder depth) to `dest`, checked and recorded."""
    from ..core.fileio import atomic_write

    try:
        with zipfile.ZipFile(bundle) as z:
            members = [m for m in z.namelist() if Path(m).name == Path(row.member).name]
            if len(members) != 1:
                raise ZooError(f"{bundle}: expected one {row.member} in the bundle, found {len(members)}")
            with cache_writes(dest.parent):
                dest.parent.mkdir(parents=True, exist_ok=True)
                with z.open(members[0]) as src:
                    atomic_write(dest, lambda f: _copy_stream(src, f))
    except zipfile.BadZipFile as e:
        raise ZooError(f"{bundle}: not a zip bundle ({e}); delete it to download it again") from None
    digest = sha256_of(dest)
    if row.member_sha256 and not digest.startswith(row.member_sha256):
        dest.unlink(missing_ok=True)
        raise ZooError(f"{bundle}: {row.member} has sha256 {digest}, expected {row.member_sha256}; nothing was kept")
    record_digest(dest, digest)


def _copy_stream(src, dst) -> None:
    for block in iter(lambda: src.read(1 << 20), b""):
        dst.write(block)
