"""Fitting frames to the model: downscale to a max resolution, pad to the model's multiple, and back.

Frames are never cropped or stretched: the aspect ratio is kept and the border is padded by
replicating edge pixels; predictions are unpadded and resized back to the input size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MODEL_MULTIPLE = 64  # VAE /8 and three UNet downsamplings /8
# A single frame smaller than this leaves the UNet's deepest stage at 1x1, where its temporal
# GroupNorms would see one value per group; clips of two or more frames are fine at 64.
MIN_SINGLE_FRAME_SIZE = 128


def resize_frames(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[N,C,H,W] -> [N,C,*size]: antialiased bilinear, the one resize filter for frames going in."""
    return F.interpolate(frames, size=size, mode="bilinear", antialias=True, align_corners=False)


@dataclass(frozen=True)
class FrameGeometry:
    """Sizes of one clip through the model: input (H,W) -> resized (h,w) -> padded (ph,pw)."""

    input_size: tuple[int, int]
    resized_size: tuple[int, int]
    padded_size: tuple[int, int]

    @classmethod
    def for_input(
        cls,
        height: int,
        width: int,
        max_resolution: int | None,
        multiple: int = MODEL_MULTIPLE,
        min_size: int = 0,
    ) -> FrameGeometry:
        """Sizes for an input of ``height`` x ``width``; padded sides are at least ``min_size``."""
        if height < 1 or width < 1:
            raise ValueError(f"frames must have a positive height and width, got {height}x{width}")
        if max_resolution is not None and max_resolution < multiple:
            raise ValueError(f"max_resolution must be >= {multiple}, got {max_resolution}")
        scale = 1.0 if max_resolution is None else min(1.0, max_resolution / max(height, width))
        h, w = max(1, round(height * scale)), max(1, round(width * scale))
        ph, pw = (max(min_size, -(-n // multiple) * multiple) for n in (h, w))
        return cls((height, width), (h, w), (ph, pw))

    def to_model(self, frames: torch.Tensor) -> torch.Tensor:
        """[N,C,H,W] at input size -> [N,C,ph,pw] resized and edge-padded."""
        if tuple(frames.shape[-2:]) != self.input_size:
            raise ValueError(f"frames are {tuple(frames.shape[-2:])}, expected {self.input_size}")
        if self.resized_size != self.input_size:
            frames = resize_frames(frames, self.resized_size)
        (h, w), (ph, pw) = self.resized_size, self.padded_size
        if (ph, pw) != (h, w):
            frames = F.pad(frames, (0, pw - w, 0, ph - h), mode="replicate")
        return frames

    def to_input(self, maps: torch.Tensor) -> torch.Tensor:
        """[N,H',W'] or [N,C,H',W'] at padded size -> input size (unpad, then resize back)."""
        squeeze = maps.ndim == 3
        maps = maps[:, None] if squeeze else maps
        h, w = self.resized_size
        maps = maps[..., :h, :w]
        if (h, w) != self.input_size:
            maps = F.interpolate(maps, size=self.input_size, mode="bilinear", align_corners=False)
        return maps[:, 0] if squeeze else maps
