"""Procedural scenes and clips: rooms, indoor corridors, streets and open terrain.

Everything is drawn from one ``numpy.random.Generator`` seeded by the clip seed, so a clip is a pure
function of ``(seed, frames, height, width)``. Order of construction: scene shell -> camera path -> static
props placed away from the camera path -> moving objects whose whole trajectory keeps clear of the camera
and of the static props.

The families are built in ``scenes/`` (one module per family); this module draws the clip-level choices
(scene family, length, fps, field of view) and keeps the builder registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .camera import CameraTrack, intrinsics_from_fov
from .scene import Scene
from .scenes import corridor_scene, room_scene, street_scene, terrain_scene

SCENE_TYPES = ("room", "corridor", "street", "terrain")
FPS_CHOICES = (10, 12, 15, 24, 25, 30)


@dataclass
class ClipSpec:
    """A scene plus the camera that films it (no pixels yet)."""

    seed: int
    scene: Scene
    track: CameraTrack
    fps: float
    trajectory: dict = field(default_factory=dict)


_BUILDERS = {"room": room_scene, "corridor": corridor_scene, "street": street_scene, "terrain": terrain_scene}


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
    kind = str(rng.choice(SCENE_TYPES, p=[0.3, 0.2, 0.25, 0.25])) if scene_type is None else scene_type
    if kind not in _BUILDERS:
        raise ValueError(f"unknown scene type {kind!r}; choose from {', '.join(SCENE_TYPES)}")
    n = int(rng.integers(frames[0], frames[1] + 1)) if isinstance(frames, tuple) else int(frames)
    fps = float(rng.choice(FPS_CHOICES))
    times = np.arange(n) / fps
    scene, c2w, traj = _BUILDERS[kind](rng, times)
    fov = rng.uniform(50, 85)
    K = intrinsics_from_fov(width, height, fov)
    track = CameraTrack(K=K, c2w=c2w, times=times, height=height, width=width)
    traj["fov_x_deg"] = float(fov)
    return ClipSpec(seed=seed, scene=scene, track=track, fps=fps, trajectory=traj)


__all__ = [
    "ClipSpec",
    "SCENE_TYPES",
    "sample_clip",
    "room_scene",
    "corridor_scene",
    "street_scene",
    "terrain_scene",
]
