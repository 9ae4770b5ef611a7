"""Ctrl-C and `kill`: one way for every command to stop.

`cli.main` installs `raise_on_signals()`, so SIGINT (Ctrl-C) and SIGTERM (`kill`, a job
scheduler's stop) both raise an `Interrupted` (a KeyboardInterrupt) in the main thread. A
command's loop catches it, leaves a consistent partial result (or nothing), and raises it
again with what was done (`Interrupted.after`); `cli.main` prints that as one line,
`simplepose CMD: interrupted after N of M ...`, and exits with the shell's convention,
128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal; `message` says what was done and what is left on disk."""

    def __init__(self, signum: int = signal.SIGINT, message: str = "") -> None:
        super().__init__(message)
        self.signum = int(signum)
        self.message = message

    def __reduce__(self) -> tuple:
        # Picklable as itself (a report gathered across torchrun's ranks carries one).
        return (Interrupted, (self.signum, self.message))

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended."""
        return 128 + self.signum

    @classmethod
    def after(cls, exc: BaseException, message: str) -> Interrupted:
        """`exc` (the KeyboardInterrupt caught) again, with `message`: "after 3 of 10 images; ..."."""
        return cls(getattr(exc, "signum", signal.SIGINT), message)


#: Signals that arrived inside `deferred()`: raised as it ends. A list, so the handler appends
#: and never rebinds a global.
_pending: list[int] = []
_depth: list[int] = [0]


def _raise(signum: int, frame: Any) -> None:
    if _depth[0]:
        _pending.append(signum)
        return
    raise Interrupted(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """A step that must not be cut in two (write a drawing and record its results): a signal
    that arrives inside waits, and is raised as the step ends."""
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        if not _depth[0] and _pending:
            signum = _pending[0]
            _pending.clear()
            raise Interrupted(signum)


def raise_on_signals() -> None:
    """SIGINT and SIGTERM raise `Interrupted` from now on (main thread only; elsewhere a no-op)."""
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _raise)
    except ValueError:  # not the main thread (an embedding application): leave its handlers alone
        pass


def describe(exc: KeyboardInterrupt) -> str:
    """ "interrupted" (by SIGTERM) and what the command did before it, for cli.main's one line."""
    signum: int | None = getattr(exc, "signum", None)
    how = " by SIGTERM" if signum == signal.SIGTERM else ""
    message = getattr(exc, "message", "")
    return f"interrupted{how}" + (f" {message}" if message else "")


def exit_status(exc: KeyboardInterrupt) -> int:
    """130 for SIGINT (and a plain KeyboardInterrupt), 143 for SIGTERM."""
    return getattr(exc, "exit_status", 128 + signal.SIGINT)
