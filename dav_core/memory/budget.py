"""The ``memory`` option: ``auto`` (the device's free memory), ``off`` (settings as given) or a size;
and how much memory a device has free."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..choices import GIB, MEMORY_CHOICES, parse_memory

__all__ = ["GIB", "MEMORY_CHOICES", "available_ram", "format_bytes", "free_memory", "parse_memory"]


def free_memory(device) -> int:
    """Bytes a run could still allocate on ``device``: CUDA's free memory plus torch's cached blocks,
    the recommended limit left on MPS, the kernel's MemAvailable for the CPU."""
    import torch  # parsing the option (the command line) needs no torch

    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    if device.type == "mps":
        return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
    return available_ram()


def available_ram() -> int:
    """MemAvailable of /proc/meminfo (free plus reclaimable cache), else the free physical pages."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        match = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo.read_text(), re.M)
        if match:
            return int(match.group(1)) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def format_bytes(n: int) -> str:
    return f"{n / GIB:.1f} GB" if n >= GIB / 10 else f"{n / 2**20:.0f} MB"
