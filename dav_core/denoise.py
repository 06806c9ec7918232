"""Denoising depth latents with a DAV UNet, conditioned on per-frame latents."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .models.unet import UNetSpatioTemporalRopeConditionModel
from .sampling import euler_sample, flow_match_sigmas, timesteps_for


@torch.inference_mode()
def denoise_latents(
    unet: UNetSpatioTemporalRopeConditionModel,
    condition: torch.Tensor,
    noise: torch.Tensor,
    *,
    steps: int,
    scheduler_config: dict,
    position_ids: torch.Tensor | None = None,
    on_step: Callable[[int, torch.Tensor], torch.Tensor | None] | None = None,
) -> torch.Tensor:
    """Flow-match ``noise`` [B,F,4,h,w] to depth latents, conditioned on ``condition`` [B,F,C,h,w].

    ``condition`` is concatenated after the noisy latent on the channel axis: the video latents
    for the depth UNet; video latents, keyframe depth latents and mask for the interpolation UNet.
    ``position_ids`` [B,F] are the true frame indices for RoPE (0..F-1 when omitted).
    """
    expected = unet.config.in_channels - noise.shape[2]
    if condition.shape[2] != expected:
        raise ValueError(f"this UNet takes {expected} condition channels, got {condition.shape[2]}")
    if condition.shape[:2] != noise.shape[:2] or condition.shape[-2:] != noise.shape[-2:]:
        raise ValueError(f"condition {list(condition.shape)} and noise {list(noise.shape)} do not match")
    device, dtype = unet.device, unet.dtype
    condition = condition.to(device=device, dtype=dtype)
    if position_ids is not None:
        position_ids = position_ids.to(device)

    def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        model_input = torch.cat([x.to(dtype), condition], dim=2)  # [B,F,4+C,h,w]
        return unet(model_input, t.to(device), position_ids=position_ids)

    sigmas = flow_match_sigmas(steps, scheduler_config).to(device)
    timesteps = timesteps_for(sigmas, scheduler_config)
    return euler_sample(velocity, noise.to(device), sigmas, timesteps, on_step=on_step)
