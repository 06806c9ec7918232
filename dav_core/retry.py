"""Retrying a batched step after the device ran out of memory.

On an out-of-memory error a step frees what the allocator caches and runs again at the same size; if
it fails again, a step made of independent items (frames of a VAE encode call, windows of an
interpolation call) halves its batch, down to 1, and keeps the smaller batch for the rest of the run.

What a retry changes. The same size again computes exactly the same numbers: a transient shortage
(cached or fragmented blocks, another process) costs nothing. A smaller batch is a different call:
kernels choose their blocking by shape, so a frame's or a window's result can depend on how many share
its call. Measured on the CPU: VAE latents are identical for 2..16 frames per call (tiny and bundled
VAE; 2 and 4 for the full-size one) and differ at 1; interpolated windows are identical for 2..8 windows per call
with the tiny and bundled UNets (once the UNet embeds its single timestep once), but the full-size
UNet differs by ~3e-7 (relative) between 4 and 2 windows per call. So a halved step equals an
uninterrupted run up to float rounding, bit for bit only where the kernels allow; it is logged. Steps
whose size is part of the method (a keyframe pass, a temporal decode chunk) are only retried at the
same size, then fail with a message that names the settings to lower: the memory planner
(``memory=auto``) sizes them before the run, so that a run does not depend on running out.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import TypeVar

import torch

logger = logging.getLogger(__name__)
T = TypeVar("T")

_CPU_MESSAGES = ("not enough memory", "can't allocate memory", "out of memory")


class OutOfMemory(RuntimeError):
    """A step ran out of device memory even after the retries; the message says what to lower."""


def is_out_of_memory(error: BaseException) -> bool:
    """True for CUDA's OutOfMemoryError and the CPU / MPS allocators' out-of-memory RuntimeErrors."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and any(m in str(error).lower() for m in _CPU_MESSAGES)


def release_cached_memory() -> None:
    """Collect garbage and return the allocators' cached blocks (CUDA, MPS) to the device."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        mps.empty_cache()


def _attempt(call: Callable[[], T]) -> tuple[bool, T | None]:
    """(True, result), or (False, None) after an out-of-memory error; the traceback (and the tensors
    its frames hold) is gone when this returns."""
    try:
        return True, call()
    except Exception as error:  # noqa: BLE001 - anything but out-of-memory is raised again
        if not is_out_of_memory(error):
            raise
    return False, None


def retry_same_size(step: str, call: Callable[[], T], advice: str) -> T:
    """``call()``; after an out-of-memory error free the caches and call once more; then raise
    :class:`OutOfMemory` naming ``step`` and ``advice``."""
    ok, result = _attempt(call)
    if ok:
        return result
    logger.warning("out of memory in %s: freeing cached memory and trying again", step)
    release_cached_memory()
    ok, result = _attempt(call)
    if ok:
        return result
    release_cached_memory()
    raise OutOfMemory(f"out of memory in {step} even after freeing cached memory; {advice}")


def retry_halving(step: str, size: int, call: Callable[[int], T], advice: str) -> tuple[T, int]:
    """``call(size)`` -> (result, size it ran with). After an out-of-memory error: the same size once
    more with the caches freed, then half the size each time down to 1; :class:`OutOfMemory` at 1.

    ``call(n)`` must compute the whole step with at most ``n`` items per batch and be safe to repeat
    (draw no random numbers from a shared generator)."""
    ok, result = _attempt(lambda: call(size))
    if ok:
        return result, size
    release_cached_memory()
    logger.warning("out of memory in %s with %d per call: freeing cached memory and trying again", step, size)
    while True:
        ok, result = _attempt(lambda size=size: call(size))
        if ok:
            return result, size
        release_cached_memory()
        if size == 1:
            raise OutOfMemory(f"out of memory in {step} even with 1 per call; {advice}")
        size = max(1, size // 2)
        logger.warning(
            "out of memory in %s: trying %d per call (the result can differ from a run that did not run out "
            "by float rounding)",
            step,
            size,
        )
