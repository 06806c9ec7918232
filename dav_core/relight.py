"""Relighting from depth: depth to camera-space normals (kornia) and Lambert shading of a plate."""

from __future__ import annotations

import math

import torch
from kornia.geometry.depth import depth_to_normals as _kornia_depth_to_normals


def disparity_to_depth(disparity: torch.Tensor, near: float, far: float) -> torch.Tensor:
    """Relative disparity in [0,1] (1 = nearest) to depth in [near, far], inverse-linearly."""
    if not 0 < near < far:
        raise ValueError(f"far ({far}) must be greater than near ({near}), both above 0")
    inverse = disparity.clamp(0, 1) * (1.0 / near - 1.0 / far) + 1.0 / far
    return 1.0 / inverse


# The relighting nodes' defaults: a 60° lens, relative depth spread over near..far = 1..10.
DEFAULT_FOV_DEGREES, DEFAULT_NEAR, DEFAULT_FAR = 60.0, 1.0, 10.0


def pinhole_intrinsics(height: int, width: int, fov_degrees: float, pixel_aspect: float = 1.0) -> torch.Tensor:
    """3x3 intrinsics of a centred pinhole camera with horizontal field of view ``fov_degrees``; pixels
    ``pixel_aspect`` times as wide as tall (the vertical focal length in pixels is that much longer)."""
    if not 0 < fov_degrees < 180:
        raise ValueError(f"fov_degrees must be in (0, 180), got {fov_degrees}")
    if not pixel_aspect > 0:
        raise ValueError(f"pixel_aspect must be > 0, got {pixel_aspect}")
    focal = 0.5 * width / math.tan(math.radians(fov_degrees) / 2)
    return torch.tensor(
        [[focal, 0.0, (width - 1) / 2], [0.0, focal * pixel_aspect, (height - 1) / 2], [0.0, 0.0, 1.0]]
    )


def depth_to_normals(depth: torch.Tensor, fov_degrees: float, pixel_aspect: float = 1.0) -> torch.Tensor:
    """Depth [T,H,W] to unit camera-space normals [T,3,H,W] (x right, y down, z forward), facing the camera.
    ``pixel_aspect``: width / height of a stored pixel (anamorphic plates at their storage size)."""
    count, height, width = depth.shape
    camera = pinhole_intrinsics(height, width, fov_degrees, pixel_aspect).expand(count, 3, 3)
    normals = torch.nan_to_num(_kornia_depth_to_normals(depth[:, None], camera, normalize_points=False))
    flip = torch.where(normals[:, 2:3] > 0, -1.0, 1.0)  # a visible surface's normal points towards -z
    return torch.nn.functional.normalize(normals * flip, dim=1)


def light_direction(azimuth: float, elevation: float) -> torch.Tensor:
    """Unit vector towards the light in the camera frame (azimuth 0 = from the camera, 90 = from the right)."""
    az, el = math.radians(azimuth), math.radians(elevation)
    return torch.tensor([math.sin(az) * math.cos(el), -math.sin(el), -math.cos(az) * math.cos(el)])


def parse_hex_colour(text: str) -> torch.Tensor:
    """``#rrggbb`` to an RGB tensor [3] in [0,1]."""
    value = text.strip().lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise ValueError(f"light_color must be a hex colour like #ffd9a0, got {text!r}")
    return torch.tensor([int(value[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])


def lambert_relight(
    plate: torch.Tensor,
    normals: torch.Tensor,
    light: torch.Tensor,
    colour: torch.Tensor,
    intensity: float,
    ambient: float,
    amount: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Shade one frame: plate [H,W,3], normals [H,W,3] in [-1,1] -> plate*(ambient + intensity*max(n.l,0)*colour).

    ``amount`` (scalar or [H,W,1]) blends from the plate (0) to the relit frame (1).
    """
    lambert = (normals @ light).clamp_min(0)[..., None]  # [H,W,1]
    lit = plate * (ambient + intensity * lambert * colour)
    return (plate + (lit - plate) * amount).clamp(0, 1)


def normals_from_values(
    values: torch.Tensor,
    kind: str,
    fov_degrees: float = DEFAULT_FOV_DEGREES,
    near: float = DEFAULT_NEAR,
    far: float = DEFAULT_FAR,
    pixel_aspect: float = 1.0,
) -> torch.Tensor:
    """Relative values [T,H,W] in [0,1] (``kind`` disparity: near = 1; depth: far = 1) -> unit camera-space
    normals [T,3,H,W] (x right, y down, z forward; see :func:`depth_to_normals`)."""
    disparity = values if kind == "disparity" else 1.0 - values
    return depth_to_normals(disparity_to_depth(disparity, near, far), fov_degrees, pixel_aspect)


def normals_image(values: torch.Tensor, kind: str, fov_degrees: float, near: float, far: float) -> torch.Tensor:
    """Relative values [T,H,W] in [0,1] (``kind`` disparity: near = 1; depth: far = 1) -> camera-space
    normals encoded as an image [T,H,W,3] in [0,1] (0.5 + 0.5 * n)."""
    normals = normals_from_values(values, kind, fov_degrees, near, far)  # [T,3,H,W]
    return (normals * 0.5 + 0.5).permute(0, 2, 3, 1).clamp(0, 1).contiguous()


def relight_frame(
    plate: torch.Tensor,
    normals_rgb: torch.Tensor,
    t: float,
    azimuth: tuple[float, float],
    elevation: float,
    colour: torch.Tensor,
    intensity: float,
    ambient: float,
    amount: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """One frame of a light sweep: plate [H,W,3], normals image [H,W,3] in [0,1], ``t`` in [0,1] the
    position in the shot (azimuth goes from ``azimuth[0]`` to ``azimuth[1]``) -> relit plate [H,W,3]."""
    light = light_direction(azimuth[0] + (azimuth[1] - azimuth[0]) * t, elevation)
    return lambert_relight(plate.float(), normals_rgb.float() * 2 - 1, light, colour, intensity, ambient, amount)
