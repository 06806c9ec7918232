"""Interpolation windows: the interpolation UNet fills the frames between two solved keyframes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from ..denoise import denoise_latents
from ..models.loading import DAVModel
from ..retry import retry_halving
from ..sampling import make_noise, stage_generator
from ..settings import LongVideoSettings
from .plan import InterpWindow, VideoPlan


class CallSize:
    """Windows per UNet call for a run: starts at ``window_batch`` and only shrinks (after running out
    of memory, see :func:`dav_core.retry.retry_halving`)."""

    def __init__(self, size: int) -> None:
        self.size = size


def interpolate_windows(
    model: DAVModel,
    rgb: torch.Tensor,
    first: torch.Tensor,
    last: torch.Tensor,
    generators: list[torch.Generator],
    steps: int,
    call_size: CallSize | None = None,
) -> torch.Tensor:
    """Fill B windows of equal length, in UNet calls of at most ``call_size.size`` windows (default: all B).

    rgb latents [B,L,4,h,w]; keyframe depth latents [B,4,h,w] at each window's two ends; one noise
    generator per window. Returns depth latents [B,L,4,h,w]. After an out-of-memory error the calls
    are retried, then halved; the noise is drawn once, before, so a retry denoises the same noise.
    """
    known = torch.zeros_like(rgb)  # [B,L,4,h,w]
    known[:, 0], known[:, -1] = first, last
    mask = torch.zeros_like(rgb)
    mask[:, [0, -1]] = 1.0  # 1 on the known frames, all 4 channels
    condition = torch.cat([rgb, known, mask], dim=2)  # [B,L,12,h,w]
    noise = torch.cat([make_noise((1, *rgb.shape[1:]), g) for g in generators])  # [B,L,4,h,w]

    def denoise(per_call: int) -> torch.Tensor:
        out = []
        for part in even_split(rgb.shape[0], per_call):
            out.append(
                denoise_latents(
                    model.unet_interp,
                    condition[part],
                    noise[part],
                    steps=steps,
                    scheduler_config=model.scheduler_config,
                ).cpu()
            )
        return torch.cat(out)

    call_size = CallSize(rgb.shape[0]) if call_size is None else call_size
    first_try = min(call_size.size, rgb.shape[0])
    out, used = retry_halving(
        "the interpolation windows", first_try, denoise, "lower window_batch or the memory budget"
    )
    if used < first_try:  # ran out: later calls start from the size that worked
        call_size.size = used
    return out


def even_split(count: int, most: int) -> list[slice]:
    """``0..count-1`` in the fewest consecutive slices of at most ``most``, sizes differing by at most
    one (so no call of 1 is made from a batch of 2 or more while ``most`` >= 2)."""
    parts = -(-count // max(1, most))
    bounds = [round(i * count / parts) for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def window_groups(windows: tuple[InterpWindow, ...], batch: int) -> list[list[int]]:
    """Blocks of at most ``batch`` consecutive windows (a fixed partition of the plan)."""
    return [list(range(i, min(i + batch, len(windows)))) for i in range(0, len(windows), batch)]


def blend_windows(
    model: DAVModel,
    plan: VideoPlan,
    settings: LongVideoSettings,
    key_depth: dict[int, torch.Tensor],
    window_rgb: Callable[[InterpWindow], torch.Tensor],
    groups: list[list[int]] | None = None,
    blended: dict[int, torch.Tensor] | None = None,
) -> Iterator[tuple[list[int], dict[int, torch.Tensor]]]:
    """The one blend of interpolation windows, block by block (lazily, in order).

    ``window_rgb(window)`` gives a window's video latents [L,4,h,w]; ``key_depth`` the keyframe depth
    latents. Each block's weighted window latents are added into ``blended`` (default: the keyframes'
    latents), which is yielded after each block with the block's window indices: the same dict
    throughout, so a streaming caller may drop the frames it has used. ``groups``: the blocks to run
    (default: every block of ``window_batch`` windows).
    """
    blended = {f: key_depth[f] for f in plan.keyframes} if blended is None else blended
    call_size = CallSize(settings.window_batch)
    for group in window_groups(plan.windows, settings.window_batch) if groups is None else groups:
        add_block(blended, block_latents(model, plan, settings, key_depth, window_rgb, group, call_size))
        yield group, blended


def add_block(blended: dict[int, torch.Tensor], block: dict[int, torch.Tensor]) -> None:
    """Add one block's weighted latents into ``blended``; blocks are added in plan order, so a block
    computed elsewhere (another process) gives the same sums."""
    for f, latent in block.items():
        blended[f] = blended.get(f, 0) + latent


def block_latents(
    model: DAVModel,
    plan: VideoPlan,
    settings: LongVideoSettings,
    key_depth: dict[int, torch.Tensor],
    window_rgb: Callable[[InterpWindow], torch.Tensor],
    group: list[int],
    call_size: CallSize | None = None,
) -> dict[int, torch.Tensor]:
    """{frame: sum of weight x depth latent [4,h,w]} over one block's windows; each window draws its own
    noise stream (seeded by the run's seed and the window's index), so any process computes the same."""
    call_size = CallSize(settings.window_batch) if call_size is None else call_size
    contributions: dict[int, torch.Tensor] = {}
    for same_length in _by_length(group, plan.windows):
        batch = [plan.windows[i] for i in same_length]
        rgb = torch.stack([window_rgb(w) for w in batch])  # [B,L,4,h,w]
        first = torch.stack([key_depth[w.start] for w in batch])  # [B,4,h,w]
        last = torch.stack([key_depth[w.end] for w in batch])
        generators = [stage_generator(settings.seed, 1, i) for i in same_length]
        out = interpolate_windows(model, rgb, first, last, generators, settings.steps, call_size=call_size)
        for window, latents in zip(batch, out, strict=True):  # latents [L,4,h,w]
            for f, weight, latent in zip(window.frames, window.weights, latents, strict=True):
                if weight > 0:
                    contributions[f] = contributions.get(f, 0) + weight * latent
    return contributions


def _by_length(indices: list[int], windows: tuple[InterpWindow, ...]) -> list[list[int]]:
    """Split a block into UNet batches of equal window length (spacing differs by one frame at most)."""
    lengths = sorted({len(windows[i]) for i in indices})
    return [[i for i in indices if len(windows[i]) == n] for n in lengths]
