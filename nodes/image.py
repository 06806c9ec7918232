"""Depth pictures and relighting: colormaps, depth -> normals, shading a plate with the normals."""

from __future__ import annotations

import torch

from ..dav_core import relight
from ..dav_core.choices import COLOR_RANGES, COLORMAPS, DEPTH_KINDS
from . import _comfy
from .comfy_video import VIDEO, check_one_clip, video_images
from .declare import mappings, node
from .widgets import DEPTH_MASK, check_mask, choice, tip


@node(
    "DepthToColormap", "Depth To Colormap (DAV)", "colorize", "Colours a depth batch for previews and review.",
    required={
        "depth": DEPTH_MASK,
        "colormap": choice(COLORMAPS, "Spectral", "Spectral is the paper's colormap; gray is plain"),
        "invert": tip(
            "BOOLEAN", False, "Off: high values (near, for disparity) take the colormap's first colour (red for "
            "Spectral), as in the previews the pack writes. On: reversed (use it for depth, where far = 1)",
        ),
        "range": choice(
            COLOR_RANGES, "shot", "shot: one range for all frames (no flicker); per-frame: stretch every "
            "frame to its own min..max; none: values are already 0..1",
        ),
    },
    outputs=(("IMAGE", "image", "Colour-mapped depth, one RGB image per frame"),),
)
class DepthToColormap:
    def colorize(self, depth, colormap="Spectral", invert=False, range="shot"):
        from ..dav_core.choices import check_choice
        from ..dav_core.io.colormaps import colorize_values

        depth = check_mask(depth)
        check_choice("colormap", colormap, COLORMAPS)
        check_choice("range", range, COLOR_RANGES)
        _comfy.check_interrupt()
        rgb = colorize_values(depth.cpu().numpy(), colormap, invert, range)  # [N,H,W,3] uint8
        return (torch.from_numpy(rgb).float() / 255.0,)


@node(
    "DAV_DepthToNormals", "Depth To Normals (DAV)", "normals",
    "Turns relative depth into surface normals (kornia) using a pinhole camera with the given field of view.",
    required={
        "depth": DEPTH_MASK,
        "depth_is": choice(
            DEPTH_KINDS, "disparity", "What the mask holds: disparity (near = 1, Decode Depth's default) or depth (far = 1)",
        ),
        "fov_degrees": tip(
            "FLOAT", 60.0, "Horizontal field of view of the plate's camera; sets the intrinsics", min=5.0, max=170.0, step=0.5,
        ),
        "near": tip(
            "FLOAT", 1.0, "Scene depth of the nearest point (any unit); with far sets how deep the scene is",
            min=0.01, max=1000.0, step=0.01,
        ),
        "far": tip(
            "FLOAT", 10.0, "Scene depth of the farthest point (same unit as near, larger than near)",
            min=0.02, max=100000.0, step=0.1,
        ),
    },
    outputs=(("IMAGE", "normals", "Camera-space normals encoded as RGB (0.5 + 0.5 * n; x right, y down, z forward)"),),
)
class DAV_DepthToNormals:
    def normals(self, depth, depth_is="disparity", fov_degrees=60.0, near=1.0, far=10.0):
        from ..dav_core.choices import check_choice

        depth = check_mask(depth)
        check_choice("depth_is", depth_is, DEPTH_KINDS)
        out = []
        bar = _comfy.progress_bar(depth.shape[0])
        for frames in depth.split(16):
            _comfy.check_interrupt()
            out.append(relight.normals_image(frames, depth_is, fov_degrees, near, far))
            bar.update(frames.shape[0])
        return (torch.cat(out),)


ANGLE = {"min": -360.0, "max": 360.0, "step": 1.0}


@node(
    "DAV_Relight", "Relight From Depth (DAV)", "relight",
    "Lambert relighting of a plate from depth normals: a directional light (optionally sweeping over the shot) plus ambient, composited over the plate.",
    required={
        "normals": ("IMAGE", {"tooltip": "Normals from Depth To Normals (same frames and size)"}),
        "azimuth": tip("FLOAT", 45.0, "Light direction around the view axis in degrees: 0 = from the camera, 90 = from the right, -90 = from the left", **ANGLE),
        "elevation": tip("FLOAT", 30.0, "Light height in degrees: 90 = from above, -90 = from below", min=-90.0, max=90.0, step=1.0),
        "light_color": tip("STRING", "#ffe2b8", "Light colour as hex RGB, e.g. #ffe2b8 (warm) or #a8c8ff (cool)"),
        "intensity": tip("FLOAT", 1.0, "Strength of the added light", min=0.0, max=10.0, step=0.05),
        "ambient": tip("FLOAT", 0.6, "How much of the original plate stays everywhere (1 = unchanged unlit areas)", min=0.0, max=2.0, step=0.05),
        "azimuth_end": tip("FLOAT", 45.0, "Azimuth at the last frame; differs from azimuth to sweep the light over the shot", **ANGLE),
        "mix": tip("FLOAT", 1.0, "Blend between the plate (0) and the relit result (1)", min=0.0, max=1.0, step=0.01),
    },
    optional={
        "images": ("IMAGE", {"tooltip": "The plate to relight (or connect video)"}),
        "video": (VIDEO, {"tooltip": "The plate as a VIDEO (or connect images)"}),
        "mask": ("MASK", {"tooltip": "Optional matte: relight only where it is white"}),
    },
    outputs=(("IMAGE", "images", "The relit plate"),),
)
class DAV_Relight:
    def relight(self, images=None, normals=None, azimuth=45.0, elevation=30.0, light_color="#ffe2b8", intensity=1.0,
                ambient=0.6, azimuth_end=45.0, mix=1.0, mask=None, video=None):
        check_one_clip(video, images, "Relight (the plate)")
        if video is not None:
            images = video_images(video)
        if images.ndim != 4 or images.shape[0] == 0:
            raise ValueError(f"images must be a non-empty IMAGE batch, got shape {list(images.shape)}")
        if tuple(normals.shape[:3]) != tuple(images.shape[:3]):
            raise ValueError(
                f"normals {list(normals.shape[:3])} and images {list(images.shape[:3])} differ in frames or "
                "size: compute the normals from the depth of these same frames"
            )
        colour = relight.parse_hex_colour(light_color)
        count = images.shape[0]
        if mask is not None:
            mask = check_mask(mask, "mask")
            if mask.shape[0] == 1:
                mask = mask.expand(count, -1, -1)
            if tuple(mask.shape) != tuple(images.shape[:3]):
                raise ValueError(f"mask {list(mask.shape)} does not match images {list(images.shape[:3])}")
        out = torch.empty_like(images[..., :3])
        bar = _comfy.progress_bar(count)
        for i in range(count):
            _comfy.check_interrupt()
            t = i / (count - 1) if count > 1 else 0.0
            amount = mix if mask is None else mix * mask[i][..., None]
            out[i] = relight.relight_frame(images[i, ..., :3], normals[i], t, (azimuth, azimuth_end), elevation,
                                           colour, intensity, ambient, amount)
            bar.update(1)
        return (out,)


NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = mappings(DepthToColormap, DAV_DepthToNormals, DAV_Relight)
