"""Combining several depth samples into one, robustly (as Marigold's test-time ensembling)."""

from __future__ import annotations

import torch


def fit_scale_shift(source: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares s, t with s*source + t ~ target over all elements (float64 solve)."""
    x, y = source.double().flatten(), target.double().flatten()
    design = torch.stack([x, torch.ones_like(x)], dim=1)  # [M,2]
    solution = torch.linalg.lstsq(design, y[:, None]).solution[:, 0]
    return solution[0].to(source.dtype), solution[1].to(source.dtype)


def ensemble_disparity(members: torch.Tensor, iterations: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Median of E samples [E,T,H,W] after aligning each (one scale and shift per whole clip) to the median.

    Returns (disparity [T,H,W] clamped to [0,1], spread [T,H,W] = median absolute deviation).
    One affine fit per clip, not per frame, so the ensemble does not introduce flicker.
    """
    if members.ndim != 4 or members.shape[0] < 1:
        raise ValueError(f"members must be [E,T,H,W] with E >= 1, got {list(members.shape)}")
    if members.shape[0] == 1:
        return members[0], torch.zeros_like(members[0])
    aligned = members
    for _ in range(iterations):
        reference = aligned.median(dim=0).values  # [T,H,W]
        aligned = torch.stack([s * m + t for m in members for s, t in [fit_scale_shift(m, reference)]])
    disparity = aligned.median(dim=0).values
    spread = (aligned - disparity).abs().median(dim=0).values
    return disparity.clamp(0.0, 1.0), spread
