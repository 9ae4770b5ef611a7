"""Running the installed `simplepose` console command as a user does, and reading what it wrote.

Shared by the end-to-end tests (test_cli_e2e.py, test_cli_bad_input.py) and their session
fixtures in conftest.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Union

import numpy as np

#: The console script pip installed beside this interpreter (not `python -m simplepose`).
SIMPLEPOSE = Path(sys.executable).parent / "simplepose"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: A tqdm redraw ends with "[elapsed<remaining, rate, postfix]" or "[elapsed, rate]".
_PROGRESS = re.compile(r".*\[\d+:\d+(?:<[^\]]*)?, [^\]]*\]")

PathLike = Union[str, Path]


def simplepose(
    *args: object, cwd: PathLike, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `simplepose ARGS...` in `cwd` on the CPU with one thread; capture its text output.

    `env` adds to (or replaces) this process's environment variables.
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", **(env or {}))
    env.pop("OPENCV_LOG_LEVEL", None)  # the command has to keep OpenCV quiet by itself
    return subprocess.run(
        [str(SIMPLEPOSE), *(str(a) for a in args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def simplepose_in_process(
    capfd: Any, *args: object, cwd: PathLike, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`simplepose ARGS...` run by calling `simplepose.cli.main` in this process, in `cwd`, with
    what it prints on both file descriptors (pytest's `capfd`): the same answer as `simplepose()`.

    For the rows of a matrix whose class of behaviour the installed command also shows in a
    subprocess (a start of the console script costs ~0.3 s, ~2 s once it imports torch); a case
    that depends on a fresh interpreter (CUDA_VISIBLE_DEVICES, what a command imports, signals)
    stays a subprocess. Python warnings are filtered and printed on stderr as a fresh interpreter
    does (pytest would otherwise collect them, and a warning line the user sees would go
    unnoticed). What `main` changes in this process (the environment, the signal handlers, the
    working folder) is put back; an exception escaping `main` is printed as a traceback with
    exit status 1, as the console script would; `timeout` seconds (a command that does not stop)
    raise TimeoutError.
    """
    import signal
    import traceback
    import warnings

    from simplepose.cli import main

    capfd.readouterr()  # what the test printed before is not the command's
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}

    def too_long(signum: int, frame: Any) -> None:
        raise TimeoutError(f"simplepose {' '.join(map(str, args))} still running after {timeout} s")

    os.environ.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", **(env or {}))
    os.environ.pop("OPENCV_LOG_LEVEL", None)  # the command has to keep OpenCV quiet by itself

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # warnings' own default
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    os.chdir(cwd)
    signal.signal(signal.SIGALRM, too_long)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with warnings.catch_warnings():
            # A fresh interpreter's filters (no -W, no PYTHONWARNINGS), last added checked first.
            warnings.resetwarnings()
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.filterwarnings("ignore", category=category)
            warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
            warnings.showwarning = show
            code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's errors and --version
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in saved_handlers.items():
            signal.signal(signum, handler)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(["simplepose", *map(str, args)], code, out, err)


def stderr_segments(text: str) -> list[str]:
    """Non-blank pieces of `text` split at newlines and carriage returns, ANSI codes removed."""
    return [s.strip() for s in re.split(r"[\r\n]", _ANSI.sub("", text)) if s.strip()]


def message_lines(text: str) -> list[str]:
    """What stderr says besides tqdm's progress redraws (warnings, errors, tracebacks)."""
    return [s for s in stderr_segments(text) if not _PROGRESS.fullmatch(s)]


def assert_one_clear_error(result: subprocess.CompletedProcess, command: str) -> str:
    """Exit status 2 and exactly one `simplepose COMMAND: error: ...` line, no traceback; returns it."""
    lines = message_lines(result.stderr)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"simplepose {command}: error: "), lines
    return lines[0]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_strict_json(path: PathLike) -> Any:
    """Parse a JSON file as any strict reader would: NaN and Infinity are errors."""
    text = Path(path).read_text()
    assert text.strip(), f"{path} is empty"
    return json.loads(text, parse_constant=_no_constant)


def decode_image(path: PathLike) -> np.ndarray:
    """The BGR image in `path`; fails the test when OpenCV cannot decode it."""
    import cv2

    image = cv2.imread(str(path))
    assert image is not None and image.size > 0, f"{path} does not decode as an image"
    return image


def video_frames(path: PathLike) -> list[np.ndarray]:
    """Every frame OpenCV decodes from the video file `path`."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"{path} does not open as a video"
    frames = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return frames
            frames.append(frame)
    finally:
        cap.release()


def read_record(path: Path) -> dict:
    """A metrics.json (or other record) the commands wrote: strict JSON, made by this simplepose
    (its `simplepose_version`, taken out, is the running package's)."""
    import simplepose

    record = read_strict_json(path)
    assert record.pop("simplepose_version") == simplepose.__version__, path
    return record


def coco_metrics_valid(metrics: dict) -> bool:
    """The ten COCO keypoint numbers, each a fraction in [0, 1] or -1 (no such objects)."""
    keys = {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}
    return set(metrics) == keys and all(0.0 <= v <= 1.0 or v == -1.0 for v in metrics.values())
