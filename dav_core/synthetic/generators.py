"""Procedural scenes and clips: rooms, indoor corridors, streets, open terrain, table tops, outdoor walks and
showrooms.

Everything is drawn from one ``numpy.random.Generator`` seeded by the clip seed, so a clip is a pure
function of ``(seed, frames, height, width)``. Order of construction: scene shell -> camera path -> static
props placed away from the camera path -> moving objects whose whole trajectory keeps clear of the camera
and of the static props.

The families are built in ``scenes/`` (one module per family); this module draws the clip-level choices
(scene family, length, fps, lens) and keeps the builder registry.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .camera import CameraTrack, intrinsics_off_centre
from .scene import Scene
from .scenes import (
    corridor_scene,
    outdoor_scene,
    room_scene,
    showroom_scene,
    street_scene,
    tabletop_scene,
    terrain_scene,
)
from .textures import remix_textures

SCENE_TYPES = ("room", "corridor", "street", "terrain", "tabletop", "outdoor", "showroom")
# the first six scaled by 0.75 (their old ratios kept), showroom 0.25
SCENE_PROBS = (0.135, 0.09, 0.1125, 0.1125, 0.15, 0.15, 0.25)
FOV_RANGE = (30.0, 100.0)  # horizontal field of view, degrees
PRINCIPAL_SHIFT = 0.08  # principal point offset, fraction of the image size (60 % of clips)
FPS_CHOICES = (10, 12, 15, 24, 25, 30)
TEXTURE_STREAM = 0x7E47  # second random stream of a clip seed: texture swaps
TEXTURE_SWAP_PROBABILITY = 0.5  # per distinct texture of a clip


@dataclass
class ClipSpec:
    """A scene plus the camera that films it (no pixels yet)."""

    seed: int
    scene: Scene
    track: CameraTrack
    fps: float
    trajectory: dict = field(default_factory=dict)


_BUILDERS = {
    "room": room_scene,
    "corridor": corridor_scene,
    "street": street_scene,
    "terrain": terrain_scene,
    "tabletop": tabletop_scene,
    "outdoor": outdoor_scene,
    "showroom": showroom_scene,
}


def _sample_lens(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, dict]:
    """Field of view and (sometimes off-centre) principal point."""
    fov = rng.uniform(*FOV_RANGE)
    shift = rng.uniform(-PRINCIPAL_SHIFT, PRINCIPAL_SHIFT, 2) if rng.random() < 0.6 else np.zeros(2)
    K = intrinsics_off_centre(width, height, fov, float(shift[0]), float(shift[1]))
    return K, {"fov_x_deg": float(fov), "cx_offset": float(shift[0]), "cy_offset": float(shift[1])}


def _remix_scene_textures(scene: Scene, seed: int) -> dict[str, str]:
    """Swap some of the scene's textures for others of the same kind, in place (own random stream, so
    the scene's geometry draws are unchanged); returns the swaps."""
    rng = np.random.default_rng([seed, TEXTURE_STREAM])
    swaps = remix_textures([p.material for p in scene.primitives], rng, TEXTURE_SWAP_PROBABILITY)
    for prim in scene.primitives:
        if prim.material.texture in swaps:
            prim.material = dataclasses.replace(prim.material, texture=swaps[prim.material.texture])
    return swaps


def sample_clip(
    seed: int,
    frames: int | tuple[int, int] = 32,
    height: int = 128,
    width: int = 128,
    scene_type: str | None = None,
) -> ClipSpec:
    """Deterministic clip description for ``seed``: scene, camera path, frame times, intrinsics.

    ``frames`` may be a (min, max) range for variable clip length; ``scene_type`` forces the kind of scene.
    """
    rng = np.random.default_rng(seed)
    kind = str(rng.choice(SCENE_TYPES, p=SCENE_PROBS)) if scene_type is None else scene_type
    if kind not in _BUILDERS:
        raise ValueError(f"unknown scene type {kind!r}; choose from {', '.join(SCENE_TYPES)}")
    n = int(rng.integers(frames[0], frames[1] + 1)) if isinstance(frames, tuple) else int(frames)
    fps = float(rng.choice(FPS_CHOICES))
    times = np.arange(n) / fps
    scene, c2w, traj = _BUILDERS[kind](rng, times)
    K, lens = _sample_lens(rng, width, height)
    track = CameraTrack(K=K, c2w=c2w, times=times, height=height, width=width)
    traj.update(lens)
    swaps = _remix_scene_textures(scene, seed)
    if swaps:
        scene.info["texture_swaps"] = swaps
    return ClipSpec(seed=seed, scene=scene, track=track, fps=fps, trajectory=traj)


__all__ = [
    "ClipSpec",
    "SCENE_TYPES",
    "sample_clip",
    "room_scene",
    "corridor_scene",
    "street_scene",
    "terrain_scene",
    "tabletop_scene",
    "outdoor_scene",
    "showroom_scene",
]
