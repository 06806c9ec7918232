"""Models from configs with deterministic random weights: for measuring memory and speed without a download.

``FULL_SIZE_CONFIGS`` is the published Depth Any Video architecture (the configs of
``hhyangcs/depth-any-video``: a 1.42 B-parameter UNet, the interpolation UNet, the SVD VAE). Weights are
uniform in [-0.02, 0.02] from a seeded generator, filled in place in the target precision: no default
initialisation, no float32 copy of a half-precision model.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from .loading import COMPONENT_CLASSES, DAVModel

_UNET = {
    "sample_size": None,
    "in_channels": 8,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
    "up_block_types": ["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
    "block_out_channels": [320, 640, 1280, 1280],
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 768,
    "layers_per_block": 2,
    "cross_attention_dim": 1024,
    "transformer_layers_per_block": 1,
    "num_attention_heads": [5, 10, 20, 20],
    "num_frames": 25,
}
FULL_SIZE_CONFIGS: dict[str, dict] = {
    "unet": _UNET,
    "unet_interp": {**_UNET, "in_channels": 16},  # + keyframe depth latents 4 + mask 4
    "vae": {
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D"] * 4,
        "block_out_channels": [128, 256, 512, 512],
        "layers_per_block": 2,
        "latent_channels": 4,
        "sample_size": 32,
        "scaling_factor": 0.18215,
        "force_upcast": True,
    },
}


def build_component(name: str, config: dict, dtype: torch.dtype, device: str = "meta") -> nn.Module:
    """Component ``name`` (unet, unet_interp, vae) from ``config`` in ``dtype``, uninitialised on
    ``device`` (the default ``meta`` holds no memory)."""
    diffusers_logger = logging.getLogger("diffusers")
    level = diffusers_logger.level
    diffusers_logger.setLevel(logging.ERROR)  # "modules that should be kept in float32": none here
    try:
        with torch.device("meta"):
            module = nn.Module.to(COMPONENT_CLASSES[name](**config), dtype=dtype)
    finally:
        diffusers_logger.setLevel(level)
    return module.to_empty(device=device).eval().requires_grad_(False)


def fill_random_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Every floating parameter and buffer uniform in [-0.02, 0.02], in place, from a CPU generator
    seeded with ``seed`` (every page touched, as loaded weights are). Meta tensors are left alone."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in (*module.parameters(), *module.buffers()):
            if t.is_floating_point() and t.device.type == "cpu":
                t.uniform_(-0.02, 0.02, generator=generator)
    return module


def random_component(name: str, config: dict, dtype: torch.dtype, device: str = "cpu", seed: int = 0):
    """:func:`build_component` on ``device`` with :func:`fill_random_` weights."""
    return fill_random_(build_component(name, config, dtype, device), seed)


def random_model(
    configs: dict[str, dict] | None = None, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> DAVModel:
    """A DAVModel with random weights (each component seeded with 0); ``configs`` default to
    ``FULL_SIZE_CONFIGS``; ``device="meta"`` builds it without memory."""
    configs = configs or FULL_SIZE_CONFIGS
    parts = {name: random_component(name, config, dtype, device) for name, config in configs.items()}
    return DAVModel(**parts, source="random")


def weight_bytes(configs: dict[str, dict], dtype: torch.dtype) -> int:
    """Bytes of every component's parameters and buffers in ``dtype`` (built on meta: no memory)."""
    modules = [build_component(name, config, dtype) for name, config in configs.items()]
    return sum(t.numel() * t.element_size() for m in modules for t in (*m.parameters(), *m.buffers()))
