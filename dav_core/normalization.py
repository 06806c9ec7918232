"""Marigold-style depth normalisation for training targets: ((d - d2) / (d98 - d2) - 0.5) * 2."""

from __future__ import annotations

import torch


def percentile_range(
    values: torch.Tensor, valid: torch.Tensor | None = None, low: float = 2.0, high: float = 98.0
):
    """The ``low``-th and ``high``-th percentiles of the valid, finite values (one pair for the whole tensor)."""
    if not 0 <= low < high <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got low={low}, high={high}")
    mask = torch.isfinite(values) if valid is None else valid.bool() & torch.isfinite(values)
    selected = values[mask].float()
    if selected.numel() == 0:
        raise ValueError("no valid values to normalise: the valid mask is empty or all values are NaN/inf")
    if selected.numel() > 2**24:  # torch.quantile's input limit; a strided subsample is exact enough
        selected = selected[:: selected.numel() // 2**24 + 1]
    q = torch.quantile(selected, torch.tensor([low / 100, high / 100], device=selected.device))
    return q[0], q[1]


def normalize_depth(
    values: torch.Tensor, valid: torch.Tensor | None = None, low: float = 2.0, high: float = 98.0
) -> torch.Tensor:
    """Map values (depth or disparity, [T,H,W] — one range for the whole clip) to [-1,1].

    The ``low``/``high`` percentiles map to -1 and 1; values beyond are clipped, invalid pixels set to -1.
    """
    lo, hi = percentile_range(values, valid, low, high)
    scale = (hi - lo).clamp_min(1e-6)
    normalized = ((values.float() - lo) / scale - 0.5) * 2
    normalized = normalized.clamp(-1.0, 1.0)
    invalid = ~torch.isfinite(values) if valid is None else ~(valid.bool() & torch.isfinite(values))
    return normalized.masked_fill(invalid, -1.0)


def depth_to_disparity(
    depth: torch.Tensor, valid: torch.Tensor | None = None, eps: float = 1e-6
) -> torch.Tensor:
    """1/depth on valid positive pixels, 0 elsewhere (far and invalid map to zero disparity)."""
    ok = torch.isfinite(depth) & (depth > eps)
    if valid is not None:
        ok &= valid.bool()
    return torch.where(ok, 1.0 / depth.clamp_min(eps), torch.zeros_like(depth))
