"""Synthetic video + exact depth engine (the analogue of the paper's game-engine DA-V dataset).

Procedural rooms, corridors, streets and terrain textured with real photographs, rendered either by an
OpenGL rasteriser (moderngl on headless EGL; Mesa llvmpipe needs no GPU) or by an exact pure-torch ray
caster (fallback and test oracle). See README.md in this folder for the on-disk format and the CLI.
"""

from __future__ import annotations

__version__ = "1.0"

from .camera import CameraTrack, intrinsics_from_fov, look_at, make_trajectory
from .contact import colorize_depth, make_contact_sheet
from .dataset import (
    SyntheticClip,
    clip_dirs,
    generate_clip,
    is_complete,
    iter_clips,
    load_clip,
    load_meta,
    render_clip,
    write_clip,
)
from .generators import SCENE_TYPES, ClipSpec, sample_clip
from .renderer import BACKENDS, create_renderer, gl_unavailable_reason
from .scene import Environment, Light, Material, Mesh, Motion, Primitive, Scene

__all__ = [
    "BACKENDS",
    "SCENE_TYPES",
    "CameraTrack",
    "ClipSpec",
    "Environment",
    "Light",
    "Material",
    "Mesh",
    "Motion",
    "Primitive",
    "Scene",
    "SyntheticClip",
    "clip_dirs",
    "colorize_depth",
    "create_renderer",
    "generate_clip",
    "gl_unavailable_reason",
    "intrinsics_from_fov",
    "is_complete",
    "iter_clips",
    "load_clip",
    "load_meta",
    "look_at",
    "make_contact_sheet",
    "make_trajectory",
    "render_clip",
    "sample_clip",
    "write_clip",
]
