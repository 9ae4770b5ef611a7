"""The package's version: written once, in pyproject.toml's `[project] version`.

Every file the project writes that records how it was made (checkpoints, releases,
metrics.json, bench.json, the demo's report) carries it under `VERSION_KEY`, so a result
says which simplepose gave it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

#: The key under which records carry the version.
VERSION_KEY = "simplepose_version"


@cache
def package_version() -> str:
    """The version of the simplepose being run, e.g. "0.2.0".

    A source checkout (the package beside its `pyproject.toml`: a clone on PYTHONPATH, or an
    editable install) answers from that file, since the installed metadata may be another
    checkout's or stale until reinstalled; an installed wheel answers from its metadata.
    """
    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        # tomllib is Python 3.11+; the [project] table's name and version lines are enough here.
        project = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        if project and re.search(r'^name\s*=\s*"simplepose"\s*$', project.group(1), re.M):
            found = re.search(r'^version\s*=\s*"([^"]+)"\s*$', project.group(1), re.M)
            if found:
                return found.group(1)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simplepose")
    except PackageNotFoundError:  # neither installed nor in its source tree
        return "0+unknown"
