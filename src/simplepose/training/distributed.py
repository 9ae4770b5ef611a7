"""Process groups for DistributedDataParallel, from the environment torchrun sets.

`torchrun --nproc_per_node=N [--nnodes=M --node_rank=R --rdzv_endpoint=HOST:PORT] -m simplepose train ...`
sets RANK, WORLD_SIZE and LOCAL_RANK; without them training runs in one process.
NCCL is used on CUDA, Gloo on CPU.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """rank / world_size of this process, and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str = "") -> DistInfo:
    """Join the process group torchrun describes (if any) and pick this process's device.

    `device` "" means CUDA (GPU `LOCAL_RANK`) when available, else CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if not device else device.startswith("cuda")
    if use_cuda:
        # Under torchrun each process takes the GPU of its local rank; alone, the one named.
        index = local if world > 1 else (torch.device(device).index or 0 if device else 0)
        dev = torch.device("cuda", index)
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return DistInfo(rank, world, local, dev)


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the process group this process joined; (0, 1) alone."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_objects(value: T) -> list[T]:
    """Every process's `value` (picklable), in rank order, on every process; `[value]` alone."""
    rank, world = rank_and_world()
    if world == 1:
        return [value]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, value)
    return out


def from_main(value: T) -> T:
    """Rank 0's `value` (picklable) on every process; `value` itself alone."""
    if rank_and_world()[1] == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over all processes (the tensor itself when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        value /= dist.get_world_size()
    return value


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        # Every rank reaches here before any tears the group down: a rank that destroyed it while
        # a peer was still in its last collective was seen to abort the peer at exit (gloo,
        # "terminate called without an active exception", exit -6).
        with contextlib.suppress(RuntimeError):  # a peer already failed: tear down all the same
            dist.barrier()
        dist.destroy_process_group()


def parameters_agree(model: torch.nn.Module) -> bool:
    """True when every process holds the same parameters (checked by gathering checksums).

    Buffers (BatchNorm running statistics) are not compared: DDP broadcasts rank 0's at
    every forward, and rank 0 alone writes checkpoints.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return True
    sums = torch.stack([p.detach().double().sum() for p in model.parameters()]).cpu()
    backend_device = (
        torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    )
    sums = sums.to(backend_device)
    gathered = [torch.empty_like(sums) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, sums)
    return all(torch.equal(gathered[0], g) for g in gathered[1:])
