"""What a generated set depends on besides its seed and sizes, as one key: for the folders that
`demo` and `bench` generate once and reuse (they must not reuse a set an older generator made).

The key hashes the generator's own source files (every module of this package) with the
versions of the libraries that draw and encode the pixels (NumPy's random streams, OpenCV's
drawing and JPEG/MP4 encoders).
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path


@functools.cache
def generator_key() -> str:
    """A 16-hex-digit key of the generator's code and the pixel libraries' versions."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    for package in ("numpy", "opencv-python", "opencv-python-headless", "opencv-contrib-python"):
        try:
            h.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{package}=-".encode())
    return h.hexdigest()[:16]
