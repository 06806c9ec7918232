"""The ``memory`` option: ``auto`` (the device's free memory), ``off`` (settings as given) or a size;
and how much memory a device has free."""

from __future__ import annotations

import os
import re
from pathlib import Path

GIB = 2**30
MEMORY_MODES = ("auto", "off")
MEMORY_SIZES = ("4GB", "6GB", "8GB", "12GB", "16GB", "24GB", "48GB", "80GB")  # the nodes' list
MEMORY_CHOICES = (*MEMORY_MODES, *MEMORY_SIZES)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(GB|GIB|G|MB|MIB|M)\s*$", re.IGNORECASE)


def parse_memory(text: str, name: str = "memory") -> str | int:
    """``"auto"`` / ``"off"``, or a size such as ``"8GB"`` / ``"1.5GB"`` / ``"512MB"`` -> bytes (GB = GiB,
    as GPUs are sized); a ValueError naming ``name`` and the allowed values otherwise."""
    value = str(text).strip().lower()
    if value in MEMORY_MODES:
        return value
    match = _SIZE.match(value)
    size = 0.0 if match is None else float(match.group(1)) * (GIB if match.group(2)[0] in "gG" else 2**20)
    if size < 2**20:
        raise ValueError(f"{name} must be auto, off or a size such as 8GB or 512MB; got {text!r}")
    return int(size)


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
