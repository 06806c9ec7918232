"""Frame selection for mixed-duration training: frame dropout (depth) and contiguous windows (interpolation)."""

from __future__ import annotations

import torch


def sample_frame_indices(num_frames: int, keep: int, generator: torch.Generator) -> torch.Tensor:
    """Frame dropout: ``keep`` of ``num_frames`` frames, sorted, unique, their original indices ([keep] long).

    The indices become the RoPE ``position_ids`` of the kept frames, so the model sees true time gaps.
    """
    if not 1 <= keep <= num_frames:
        raise ValueError(f"cannot keep {keep} of {num_frames} frames")
    return torch.randperm(num_frames, generator=generator)[:keep].sort().values


def sample_window(num_frames: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """A contiguous window of ``length`` frames at a random start ([length] long)."""
    if not 1 <= length <= num_frames:
        raise ValueError(f"cannot take a window of {length} from {num_frames} frames")
    start = int(torch.randint(0, num_frames - length + 1, (1,), generator=generator))
    return torch.arange(start, start + length)


def interp_condition(depth_latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Known keyframe latents and mask for windows [B,L,4,h,w]: first and last frames known.

    Same layout as ``dav_core.longvideo.windows.interpolate_windows``: known latents zero on unknown
    frames, mask 1 on known frames replicated over the 4 channels.
    """
    known = torch.zeros_like(depth_latents)
    known[:, [0, -1]] = depth_latents[:, [0, -1]]
    mask = torch.zeros_like(depth_latents)
    mask[:, [0, -1]] = 1.0
    return known, mask
