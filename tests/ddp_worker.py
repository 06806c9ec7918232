"""Entry point of the processes that ``tests/test_training.py`` starts with ``torch.multiprocessing.spawn``.

A module of its own (not a function in the test file) so that the spawned processes can import it by name:
the test puts this folder on ``sys.path``, which the children inherit, whatever pytest's import mode.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from safetensors.torch import save_file

from training.train import main


def spawn_worker(rank: int, world_size: int, port: int, argv: list[str], result_dir: str) -> None:
    """Run the trainer as one rank of a ``world_size``-process group; save its final UNet weights."""
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
    trainer = main(argv)
    state = {k: v.detach().cpu().contiguous() for k, v in trainer.raw_unet().state_dict().items()}
    save_file(state, os.path.join(result_dir, f"rank{rank}.safetensors"))
    if dist.is_initialized():
        dist.destroy_process_group()
