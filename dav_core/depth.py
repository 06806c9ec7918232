"""Depth of one window of frames: every frame denoised jointly in one UNet pass per step."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .decoding import decode_disparity
from .denoise import denoise_latents
from .ensemble import ensemble_disparity
from .memory.retry import retry_same_size
from .models.loading import DAVModel
from .models.vae import encode_batch_size, encode_fixed_batches
from .resize import MIN_SINGLE_FRAME_SIZE, MODEL_MULTIPLE, FrameGeometry
from .sampling import make_noise


@dataclass(frozen=True)
class DepthSettings:
    """User settings of a depth prediction."""

    steps: int = 3
    seed: int = 0
    ensemble: int = 1
    max_resolution: int | None = 0  # long side the model sees; 0: the model's own (see model_resolution)
    chunk_size: int = 16  # frames per VAE encode/decode call
    decode_overlap: int = 2  # frames shared by neighbouring VAE decode chunks (at most chunk_size - 1)

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be in 0..{2**64 - 1}, got {self.seed}")
        if not 1 <= self.steps <= 50:
            raise ValueError(f"steps must be in 1..50, got {self.steps}")
        if (
            self.max_resolution is not None
            and self.max_resolution != 0
            and self.max_resolution < MODEL_MULTIPLE
        ):
            raise ValueError(
                f"max_resolution must be >= {MODEL_MULTIPLE}, got {self.max_resolution} (0: the model's own; "
                "None: no limit)"
            )
        if not 1 <= self.ensemble <= 32:
            raise ValueError(f"ensemble must be in 1..32, got {self.ensemble}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.decode_overlap < 0:
            raise ValueError(f"decode_overlap must be >= 0, got {self.decode_overlap}")

    @property
    def decode_chunk_overlap(self) -> int:
        """Frames shared by neighbouring decode chunks: ``decode_overlap``, at most ``chunk_size - 1``."""
        return min(self.decode_overlap, self.chunk_size - 1)


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


DEFAULT_RESOLUTION = 960  # the published model's processing resolution (long side)


def model_resolution(max_resolution: int | None, model: DAVModel) -> int | None:
    """The long side frames are resized to: ``max_resolution``, or for 0 the model's own
    ``processing_resolution`` (``DEFAULT_RESOLUTION`` when the checkpoint states none); None: no limit."""
    if max_resolution == 0:
        return model.processing_resolution or DEFAULT_RESOLUTION
    return max_resolution


@torch.inference_mode()
def predict_depth_window(model: DAVModel, frames, settings: DepthSettings = DepthSettings()) -> torch.Tensor:
    """Relative disparity [T,H,W] in [0,1] (near = 1) for frames [T,H,W,3] in [0,1], at the input size.

    All T frames are denoised together, so T is bounded by memory; longer clips go through the
    long-video runner. With ``settings.ensemble`` > 1 the samples are combined by an aligned median.
    """
    video = frames_to_tensor(frames)  # [T,3,H,W]
    min_size = MIN_SINGLE_FRAME_SIZE if video.shape[0] == 1 else 0
    resolution = model_resolution(settings.max_resolution, model)
    geometry = FrameGeometry.plan(*video.shape[-2:], resolution, min_size=min_size)
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
