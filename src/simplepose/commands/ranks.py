"""`predict`, `track` and `eval` under torchrun: every process takes its share of the inputs,
rank 0 merges and writes what one process would have written.

    torchrun --nproc_per_node=4 -m simplepose predict photos/ --out poses/

Without torchrun's environment (WORLD_SIZE unset or 1) nothing here joins a process group:
the share is everything and a gather is the value itself, so one process runs the same code.

Every step where a rank can fail on its own (a claim on the output folder, a --strict check
of its share, a model download, the work itself) is a step all ranks take together
(`Ranks.agree`): when one fails, every rank stops there. The failing rank says why in its one
line; the others exit with the same status quietly, instead of waiting on a collective for a
peer that is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class PeerFailed(SystemExit):
    """Another rank failed (or was interrupted) at a step all take together, and said so: exit
    with that rank's status, without a line of our own."""


def _status(error: BaseException) -> int:
    """The exit status `error` gives (cli.main's): 130 / 143 for an interruption, else 2."""
    from ..core.interrupts import exit_status

    if isinstance(error, SystemExit):
        return error.code if isinstance(error.code, int) else 2
    return exit_status(error) if isinstance(error, KeyboardInterrupt) else 2


@dataclass(frozen=True)
class Ranks:
    """This process's place among the command's processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, items: Sequence[T]) -> list[tuple[int, T]]:
        """(index, item) of this rank's share: items rank, rank + world, ... (as eval shards)."""
        return [(i, items[i]) for i in range(self.rank, len(items), self.world)]

    def gather(self, value: T) -> list[T]:
        """Every rank's `value`, in rank order, on every rank (picklable values)."""
        from ..training.distributed import gather_objects

        return gather_objects(value)

    def agree(self, step: Callable[[], T]) -> T:
        """Run `step` on every rank; when it raised on any rank, every rank stops with the first
        failing rank's exit status. The rank that failed raises its own error (an interruption
        only on rank 0, as torchrun interrupts them all), the others `PeerFailed` quietly."""
        error: BaseException | None = None
        try:
            value = step()
        except BaseException as e:  # raised again below, once the others know
            error = e
        failed = [s for s in self.gather(None if error is None else _status(error)) if s is not None]
        if not failed:
            return value
        if error is not None and (self.is_main or not isinstance(error, KeyboardInterrupt)):
            raise error
        raise PeerFailed(failed[0])

    def main_first(self, step: Callable[[], T]) -> T:
        """`step` on rank 0, then on the others: what it downloads or caches (zoo files, `auto`'s
        export and choice) is made once, and the other ranks find it made."""
        if self.is_main:
            value = self.agree(step)
            self.agree(lambda: None)
        else:
            self.agree(lambda: None)
            value = self.agree(step)
        return value


@contextlib.contextmanager
def joined(args: argparse.Namespace) -> Iterator[Ranks]:
    """The process group torchrun describes, for the length of a command (a plain `Ranks()`
    without torchrun). Under torchrun `--device cuda` (or none, on a machine with CUDA) means each
    process's own GPU, cuda:LOCAL_RANK."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        yield Ranks()
        return
    import torch

    from ..training.distributed import cleanup, init_distributed

    # No --device: CUDA when there is one (as alone), and then this process's own GPU.
    device = getattr(args, "device", "") or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        args.device = device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
    info = init_distributed(device)
    try:
        yield Ranks(info.rank, info.world_size)
    finally:
        cleanup()
