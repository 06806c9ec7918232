"""The models a training run starts from: its VAE and its depth (and interpolation) UNets."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from diffusers import AutoencoderKLTemporalDecoder

from dav_core.models.loading import load_dav_parts
from dav_core.models.unet import UNetSpatioTemporalRopeConditionModel

logger = logging.getLogger("training")


def build_vae(cfg: dict) -> AutoencoderKLTemporalDecoder:
    """The frozen VAE of ``model.vae_path`` (a diffusers folder or a DAV model), else of
    ``model.pretrained``, else randomly initialised from ``model.vae`` (smoke tests only)."""
    model_cfg = cfg["model"]
    path = model_cfg.get("vae_path") or model_cfg.get("pretrained")
    if path:
        path = Path(path)
        if (path / "config.json").is_file():
            vae = AutoencoderKLTemporalDecoder.from_pretrained(path)
        elif (path / "vae" / "config.json").is_file() and not (path / "unet").is_dir():
            vae = AutoencoderKLTemporalDecoder.from_pretrained(path / "vae")
        else:
            vae = load_dav_parts(path, components=("vae",))["vae"]
    else:
        torch.manual_seed(int(cfg["seed"]))
        vae = AutoencoderKLTemporalDecoder.from_config(model_cfg["vae"])
        logger.warning("no model.vae_path: using a randomly initialised VAE (only for smoke tests)")
    return vae.eval().requires_grad_(False)


def build_unet(
    cfg: dict,
) -> tuple[UNetSpatioTemporalRopeConditionModel, UNetSpatioTemporalRopeConditionModel | None]:
    """(depth UNet, interpolation UNet or None) of ``model.pretrained``, else a random depth UNet of
    ``model.unet``."""
    model_cfg = cfg["model"]
    if model_cfg.get("pretrained"):
        loaded = load_dav_parts(model_cfg["pretrained"], components=("unet", "unet_interp"))
        return loaded["unet"], loaded.get("unet_interp")
    torch.manual_seed(int(cfg["seed"]))
    return UNetSpatioTemporalRopeConditionModel.from_config(dict(model_cfg["unet"])), None
