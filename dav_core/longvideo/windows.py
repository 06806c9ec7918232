"""Interpolation windows: the interpolation UNet fills the frames between two solved keyframes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from ..denoise import denoise_latents
from ..models.loading import DAVModel
from ..sampling import make_noise, stage_generator
from .plan import InterpWindow, VideoPlan
from .settings import LongVideoSettings


def interpolate_windows(
    model: DAVModel,
    rgb: torch.Tensor,
    first: torch.Tensor,
    last: torch.Tensor,
    generators: list[torch.Generator],
    steps: int,
) -> torch.Tensor:
    """Fill B windows of equal length in one batch.

    rgb latents [B,L,4,h,w]; keyframe depth latents [B,4,h,w] at each window's two ends; one noise
    generator per window. Returns depth latents [B,L,4,h,w].
    """
    known = torch.zeros_like(rgb)  # [B,L,4,h,w]
    known[:, 0], known[:, -1] = first, last
    mask = torch.zeros_like(rgb)
    mask[:, [0, -1]] = 1.0  # 1 on the known frames, all 4 channels
    condition = torch.cat([rgb, known, mask], dim=2)  # [B,L,12,h,w]
    noise = torch.cat([make_noise((1, *rgb.shape[1:]), g) for g in generators])  # [B,L,4,h,w]
    out = denoise_latents(
        model.unet_interp, condition, noise, steps=steps, scheduler_config=model.scheduler_config
    )
    return out.cpu()


def window_groups(windows: tuple[InterpWindow, ...], batch: int) -> list[list[int]]:
    """Blocks of at most ``batch`` consecutive windows (a fixed partition of the plan)."""
    return [list(range(i, min(i + batch, len(windows)))) for i in range(0, len(windows), batch)]


def interpolate_blocks(
    model: DAVModel,
    plan: VideoPlan,
    settings: LongVideoSettings,
    key_depth: dict[int, torch.Tensor],
    window_rgb: Callable[[InterpWindow], torch.Tensor],
    groups: list[list[int]] | None = None,
) -> Iterator[tuple[list[int], dict[int, torch.Tensor]]]:
    """Run the interpolation windows block by block (lazily, in order).

    ``window_rgb(window)`` gives a window's video latents [L,4,h,w]; ``key_depth`` the keyframe depth
    latents. Yields (window indices of the block, {frame: sum of weight x depth latent}) so the caller
    adds the contributions of overlapping windows. Each window draws its own noise stream.
    """
    for group in window_groups(plan.windows, settings.window_batch) if groups is None else groups:
        contributions: dict[int, torch.Tensor] = {}
        for same_length in _by_length(group, plan.windows):
            batch = [plan.windows[i] for i in same_length]
            rgb = torch.stack([window_rgb(w) for w in batch])  # [B,L,4,h,w]
            first = torch.stack([key_depth[w.start] for w in batch])  # [B,4,h,w]
            last = torch.stack([key_depth[w.end] for w in batch])
            generators = [stage_generator(settings.seed, 1, i) for i in same_length]
            out = interpolate_windows(model, rgb, first, last, generators, settings.steps)  # [B,L,4,h,w]
            for window, latents in zip(batch, out, strict=True):
                for f, weight, latent in zip(window.frames, window.weights, latents, strict=True):
                    if weight > 0:
                        contributions[f] = contributions.get(f, 0) + weight * latent
        yield group, contributions


def _by_length(indices: list[int], windows: tuple[InterpWindow, ...]) -> list[list[int]]:
    """Split a block into UNet batches of equal window length (spacing differs by one frame at most)."""
    lengths = sorted({len(windows[i]) for i in indices})
    return [[i for i in indices if len(windows[i]) == n] for n in lengths]
