"""Depth of one window of frames: every frame denoised jointly in one UNet pass per step."""

from __future__ import annotations

import torch

from .decoding import decode_disparity
from .denoise import denoise_latents
from .ensemble import ensemble_disparity
from .models.loading import DAVModel
from .models.vae import encode_batch_size, encode_fixed_batches
from .resize import MIN_SINGLE_FRAME_SIZE, FrameGeometry
from .retry import retry_same_size
from .sampling import make_noise
from .settings import DEFAULTS, DepthSettings, model_resolution


def frames_to_tensor(frames) -> torch.Tensor:
    """Frames [T,H,W,3] in [0,1] (numpy or torch) -> float32 [T,3,H,W] in [-1,1], validated."""
    frames = torch.as_tensor(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [T,H,W,3] RGB, got shape {list(frames.shape)}")
    if frames.shape[0] == 0:
        raise ValueError("frames is empty: at least one frame is needed")
    frames = frames.float()
    if not torch.isfinite(frames).all():
        raise ValueError("frames contain NaN or infinite values")
    if frames.min() < -1e-3 or frames.max() > 1 + 1e-3:
        raise ValueError(f"frames must be in [0,1], got range [{frames.min():.3g}, {frames.max():.3g}]")
    return (
        frames.permute(0, 3, 1, 2).clamp(0, 1) * 2 - 1
    ).contiguous()  # NCHW layout: same kernels everywhere


@torch.inference_mode()
def predict_depth_window(model: DAVModel, frames, settings: DepthSettings = DEFAULTS) -> torch.Tensor:
    """Relative disparity [T,H,W] in [0,1] (near = 1) for frames [T,H,W,3] in [0,1], at the input size.

    All T frames are denoised together, so T is bounded by memory; longer clips go through the
    long-video runner. With ``settings.ensemble`` > 1 the samples are combined by an aligned median.
    """
    video = frames_to_tensor(frames)  # [T,3,H,W]
    min_size = MIN_SINGLE_FRAME_SIZE if video.shape[0] == 1 else 0
    resolution = model_resolution(settings.max_resolution, model)
    geometry = FrameGeometry.for_input(*video.shape[-2:], resolution, min_size=min_size)
    batch = encode_batch_size(settings.chunk_size, video.shape[0])
    latents = encode_fixed_batches(model.vae, geometry.to_model(video), batch)[0][None]  # [1,T,4,h,w]
    return predict_from_latents(model, latents, geometry, settings)


def sample_latents(
    model: DAVModel, latents: torch.Tensor, steps: int, generator: torch.Generator, on_step=None
):
    """Depth latents [1,T,4,h,w] for video latents [1,T,4,h,w]: noise from ``generator``, ``steps`` Euler
    steps of the depth UNet, every frame denoised jointly (``on_step`` as in ``denoise_latents``)."""
    noise = make_noise(tuple(latents.shape), generator)  # drawn once: a retry denoises the same noise
    return retry_same_size(
        f"the depth pass of {latents.shape[1]} frames",
        lambda: denoise_latents(
            model.unet, latents, noise, steps=steps, scheduler_config=model.scheduler_config, on_step=on_step
        ),
        "lower max_keyframes_per_pass or the memory budget",
    )


@torch.inference_mode()
def predict_from_latents(
    model: DAVModel, latents: torch.Tensor, geometry: FrameGeometry, settings: DepthSettings
) -> torch.Tensor:
    """Disparity [T,H,W] at the input size from video latents [1,T,4,h,w] (one joint pass per step)."""
    generator = torch.Generator().manual_seed(settings.seed)
    members = []
    for _ in range(settings.ensemble):
        depth_latents = sample_latents(model, latents, settings.steps, generator)
        members.append(
            decode_disparity(
                model, depth_latents[0], geometry, settings.chunk_size, settings.decode_chunk_overlap
            ).cpu()
        )
    disparity, _ = ensemble_disparity(torch.stack(members))
    return disparity
