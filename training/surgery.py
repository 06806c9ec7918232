"""Interpolation UNet from a depth UNet: conv_in widened from 8 to 16 input channels.

The new conv_in holds the depth UNet's kernel twice, each copy halved. If the extra 8 channels
(known keyframe latents + mask) carry the same values as the first 8, the output is unchanged, so
training starts from the depth model's behaviour.
"""

from __future__ import annotations

import torch

from dav_core.models.unet import UNetSpatioTemporalRopeConditionModel


def widen_conv_in(
    unet: UNetSpatioTemporalRopeConditionModel, copies: int = 2
) -> UNetSpatioTemporalRopeConditionModel:
    """A new UNet with ``in_channels * copies`` inputs; every other weight copied unchanged."""
    config = dict(unet.config)
    old_in = config["in_channels"]
    config["in_channels"] = old_in * copies
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    new = UNetSpatioTemporalRopeConditionModel.from_config(config)
    state = {k: v.detach().clone() for k, v in unet.state_dict().items()}
    weight = state["conv_in.weight"]  # [C,in,k,k]
    state["conv_in.weight"] = torch.cat([weight / copies] * copies, dim=1)  # [C,in*copies,k,k]
    new.load_state_dict(state, strict=True)
    return new.to(device=unet.device, dtype=unet.dtype)


def make_interp_unet(
    depth_unet: UNetSpatioTemporalRopeConditionModel,
) -> UNetSpatioTemporalRopeConditionModel:
    """The interpolation UNet (16 input channels) initialised from the depth UNet (8)."""
    if depth_unet.config.in_channels != 8:
        raise ValueError(f"expected a depth UNet with 8 input channels, got {depth_unet.config.in_channels}")
    return widen_conv_in(depth_unet, 2)
