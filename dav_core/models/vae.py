"""VAE helpers: frames to latents and depth latents to disparity, in chunks.

RGB latents are the posterior mode times ``scaling_factor`` (no sampling, so encoding is
deterministic). Depth is encoded as three identical channels and decodes to three channels whose
mean, mapped from [-1,1] to [0,1], is the relative disparity.
"""

from __future__ import annotations

import types

import torch
from diffusers import AutoencoderKLTemporalDecoder
from torch import nn

# Frames per VAE encode call. A long video is read twice (keyframes, then the frames between them), and
# the last call of each read is zero-padded to this size so that a frame's latent never depends on its
# batch; 4 wastes at most 3 frames per read (16 wasted up to 30 % of the encoder's work on short clips)
# and still fills a GPU at 960x540.
ENCODE_BATCH = 4
FLOAT32_OUTPUT_FRAMES = 1  # frames per float32 call of the decoder's output convolution (bounds its copy)


def float32_output(vae: AutoencoderKLTemporalDecoder) -> AutoencoderKLTemporalDecoder:
    """Make the temporal decoder's two output convolutions (``conv_out``, ``time_conv_out``) compute in
    float32 whatever the weights' precision, so a half-precision decode returns continuous values: in
    bf16 the decoded depth would otherwise be rounded to 8 significant bits (visible banding in normals
    and relighting). The rest of the decoder keeps its precision; the float32 copy of ``conv_out``'s
    input is made ``FLOAT32_OUTPUT_FRAMES`` frames at a time. Parameters are not changed (state dicts
    and ``.to()`` behave as before); in float32 nothing changes. Returns ``vae``."""
    for conv in (vae.decoder.conv_out, vae.decoder.time_conv_out):
        conv.forward = types.MethodType(_float32_conv_forward, conv)
    return vae


def _float32_conv_forward(conv: nn.Conv2d | nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    if x.dtype == torch.float32 and conv.weight.dtype == torch.float32:
        return conv._conv_forward(x, conv.weight, conv.bias)
    weight, bias = conv.weight.float(), None if conv.bias is None else conv.bias.float()
    parts = x.split(FLOAT32_OUTPUT_FRAMES)  # conv_out: [n,C,H,W] by frame; time_conv_out: [B,C,F,H,W] by clip
    return torch.cat([conv._conv_forward(part.float(), weight, bias) for part in parts])


def encode_frames(
    vae: AutoencoderKLTemporalDecoder, frames: torch.Tensor, chunk_size: int = 16, fixed_batch: bool = False
) -> torch.Tensor:
    """Encode frames [N,3,H,W] in [-1,1] to scaled latents [N,C,H/8,W/8] (float32, on the input's device).

    The encoder is per image; ``chunk_size`` frames go through it per call. With ``fixed_batch`` every
    call gets exactly ``chunk_size`` frames (a short last chunk is padded with zeros, whose latents are
    dropped): convolution kernels choose their blocking by batch size, so only a fixed batch size makes
    a frame's latent independent of how a caller grouped its frames. Inference relies on that to give
    identical depth through every front end; with a fixed batch size a frame's latent does not depend on
    its position or on the other frames of its call.
    """
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must be [N,3,H,W], got {list(frames.shape)}")
    chunk_size = max(1, chunk_size)
    dtype, device = vae.dtype, vae.device
    latents = []
    for chunk in frames.split(chunk_size):
        count = chunk.shape[0]
        if fixed_batch and count < chunk_size:
            chunk = torch.cat([chunk, chunk.new_zeros(chunk_size - count, *chunk.shape[1:])])
        moments = vae.encode(chunk.to(device=device, dtype=dtype)).latent_dist.mode().float()
        latents.append(moments[:count])
    return (torch.cat(latents) * vae.config.scaling_factor).to(frames.device)  # [N,C,h,w]


def encode_fixed_batches(
    vae: AutoencoderKLTemporalDecoder, frames: torch.Tensor, batch: int
) -> tuple[torch.Tensor, int]:
    """:func:`encode_frames` with ``fixed_batch`` -> (latents [N,C,h,w] on the CPU, batch used): after an
    out-of-memory error the same batch is tried again, then halved (see ``dav_core.retry``); the
    caller keeps the returned batch for its later calls."""
    from ..retry import retry_halving

    return retry_halving(
        "the VAE encode",
        batch,
        lambda n: encode_frames(vae, frames, n, fixed_batch=True).cpu(),
        "lower chunk_size or the memory budget",
    )


def encode_batch_size(chunk_size: int, num_frames: int) -> int:
    """The fixed VAE encode batch of a clip of ``num_frames``: ``ENCODE_BATCH``, or less when
    ``chunk_size`` or the clip is smaller. Every front end encodes a clip with this one batch size."""
    return max(1, min(ENCODE_BATCH, chunk_size, num_frames))


def decode_latents(vae: AutoencoderKLTemporalDecoder, latents: torch.Tensor) -> torch.Tensor:
    """Decode one temporal chunk of scaled latents [N,C,h,w] to images [N,3,H,W] (float32)."""
    scaled = (latents / vae.config.scaling_factor).to(device=vae.device, dtype=vae.dtype)
    return vae.decode(scaled, num_frames=latents.shape[0]).sample.float().to(latents.device)


def latents_to_disparity(
    vae: AutoencoderKLTemporalDecoder, latents: torch.Tensor, chunk_size: int = 16
) -> torch.Tensor:
    """Depth latents [N,C,h,w] to relative disparity [N,H,W] in [0,1], decoded ``chunk_size`` frames at a time.

    The temporal decoder mixes frames within a chunk; chunks here do not overlap (the long-video
    runner blends overlapping chunks itself).
    """
    images = torch.cat([decode_latents(vae, c) for c in latents.split(max(1, chunk_size))])  # [N,3,H,W]
    return images_to_disparity(images)


def images_to_disparity(images: torch.Tensor) -> torch.Tensor:
    """Decoded depth images [N,3,H,W] in [-1,1] to disparity [N,H,W] in [0,1]."""
    return (images.mean(dim=1) * 0.5 + 0.5).clamp(0.0, 1.0)


def encode_normalized_depth(
    vae: AutoencoderKLTemporalDecoder, depth: torch.Tensor, chunk_size: int = 16
) -> torch.Tensor:
    """Encode normalised depth [N,H,W] in [-1,1] as 3 replicated channels to scaled latents [N,C,h,w]."""
    return encode_frames(vae, depth[:, None].expand(-1, 3, -1, -1), chunk_size)
