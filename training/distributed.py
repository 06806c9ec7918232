"""torch.distributed set-up (torchrun env vars; gloo on CPU, nccl on CUDA) and a spawn helper for tests."""

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


def spawn_worker(rank: int, world_size: int, port: int, argv: list[str], result_dir: str) -> None:
    """Entry for ``torch.multiprocessing.spawn``: run the trainer as one rank, save its final UNet weights."""
    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "LOCAL_RANK": str(rank),
        }
    )
    torch.set_num_threads(1)
    from safetensors.torch import save_file

    from .train import main

    trainer = main(argv)
    state = {k: v.detach().cpu().contiguous() for k, v in trainer.raw_unet().state_dict().items()}
    save_file(state, os.path.join(result_dir, f"rank{rank}.safetensors"))
    if dist.is_initialized():
        dist.destroy_process_group()
