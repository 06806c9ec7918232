"""torch.distributed set-up (torchrun env vars; gloo on CPU, nccl on CUDA) and small collective helpers."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_distributed() -> tuple[int, int, int]:
    """(rank, world_size, local_rank); initialises the process group when WORLD_SIZE > 1."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return rank, world_size, local_rank


def is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def collective_device() -> torch.device:
    """Where tensors for collectives must live: CUDA for nccl, CPU for gloo."""
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def mean_across_ranks(value: float) -> float:
    if not dist.is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=collective_device())
    dist.all_reduce(t)
    return float(t) / dist.get_world_size()


def agree_with_rank0(flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank (``flag`` itself outside a distributed run)."""
    if not dist.is_initialized():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=collective_device())
    dist.broadcast(t, 0)
    return bool(t.item())


def training_device(want: str = "auto", local_rank: int | None = None) -> torch.device:
    """``train.device``; ``auto``: CUDA where available (device ``local_rank`` when given), else the CPU."""
    if want == "auto":
        if not torch.cuda.is_available():
            want = "cpu"
        else:
            want = "cuda" if local_rank is None else f"cuda:{local_rank}"
    return torch.device(want)
