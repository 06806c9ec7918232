"""Moving objects for every scene family: rolling/bouncing balls, spinning/sliding crates, flying boxes."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Material, Motion, Primitive, yaw
from .looks import photo, tint
from .placement import Placer, moving_path
from .shapes import UP, box, random_rotation, sphere


def _rolling(v: np.ndarray, r: float) -> tuple[float, float, float]:
    w = np.cross(UP, v) / r
    return tuple(float(x) for x in w)


def _ball(rng, kind: str, start, gy: float, v: np.ndarray, scale: float) -> tuple[Primitive, float]:
    """A ball rolling along ``v`` or bouncing (slowly drifting, tumbling) from ``start``."""
    r = rng.uniform(0.12, 0.45) * scale
    mat = (
        photo(rng)
        if rng.random() < 0.6
        else Material(
            str(rng.choice(["fabric", "gravel", "tiles"])),
            tint=tint(rng, (0.8, 0.4, 0.3), 0.5),
            specular=0.3,
            shininess=40,
        )
    )
    if kind == "roll":
        motion = Motion(velocity=tuple(v), angular_velocity=_rolling(v, r))
    else:
        f = rng.uniform(0.6, 1.8)
        motion = Motion(
            velocity=tuple(v * 0.3),
            angular_velocity=tuple(rng.normal(0, 2, 3)),
            bounce_height=rng.uniform(0.3, 1.2) * scale,
            bounce_freq=f,
        )
    return sphere((start[0], gy + r, start[1]), r, mat, motion=motion), r


def _crate(rng, kind: str, start, gy: float, v: np.ndarray, scale: float) -> tuple[Primitive, float]:
    """A crate sliding along ``v`` or spinning in the air while drifting slowly."""
    half = rng.uniform(0.12, 0.45, 3) * scale
    mat = photo(rng) if rng.random() < 0.5 else Material("wood", tint=tint(rng, (1, 1, 1), 0.2), uv_tile=0.5)
    spin = (0.0, rng.uniform(-3, 3), 0.0) if kind == "spin" else (0.0, 0.0, 0.0)
    lift = rng.uniform(0.3, 1.2) * scale if kind == "spin" else 0.0
    vel = v * (0.2 if kind == "spin" else 1.0)
    prim = box(
        (start[0], gy + half[1] + lift, start[1]),
        half,
        mat,
        rot=yaw(rng.uniform(0, 6.3)),
        motion=Motion(velocity=tuple(vel), angular_velocity=spin),
    )
    return prim, float(np.linalg.norm(half[[0, 2]]))


def _flyer(rng, start, gy: float, v: np.ndarray, scale: float) -> tuple[Primitive, float]:
    """A drone-like box at a few metres, spinning about a random axis."""
    half = rng.uniform(0.2, 0.6, 3) * scale
    mat = photo(rng)
    vel = v * 2 + np.array([0.0, rng.uniform(-0.3, 0.3), 0.0])
    prim = box(
        (start[0], gy + rng.uniform(2.0, 5.0) * scale, start[1]),
        half,
        mat,
        rot=random_rotation(rng),
        motion=Motion(velocity=tuple(vel), angular_velocity=tuple(rng.normal(0, 1.5, 3))),
    )
    return prim, float(np.linalg.norm(half))


def _candidate(rng, kind: str, lo, hi, ground, speed, scale: float) -> tuple[Primitive, float]:
    """A ``kind`` mover starting somewhere in [lo, hi] and heading a random way; returns it and its radius."""
    start = rng.uniform(lo, hi)
    heading = rng.uniform(0, 2 * np.pi)
    v = rng.uniform(*speed) * np.array([math.sin(heading), 0.0, math.cos(heading)])
    gy = float(ground(start[None])[0])
    if kind in ("roll", "bounce"):
        return _ball(rng, kind, start, gy, v, scale)
    if kind in ("spin", "slide"):
        return _crate(rng, kind, start, gy, v, scale)
    return _flyer(rng, start, gy, v, scale)


def add_movers(
    rng: np.random.Generator,
    prims: list[Primitive],
    placer: Placer,
    times: np.ndarray,
    count: int,
    lo,
    hi,
    ground_y,
    speed: tuple[float, float],
    flying: bool = False,
    scale: float = 1.0,
) -> int:
    """Balls rolling/bouncing, spinning/sliding crates (and flying boxes if ``flying``) on the ground
    ``ground_y`` (a height or a function of xz) whose whole path stays in [lo, hi] and clear of the camera
    and the props; returns how many were placed. ``scale`` shrinks sizes, lifts and hops (e.g. 0.2 for
    objects on a table)."""
    placed = 0
    ground = ground_y if callable(ground_y) else (lambda xz: np.full(len(xz), float(ground_y)))
    for _ in range(count * 6):
        if placed >= count:
            break
        kind = str(rng.choice(["roll", "bounce", "spin", "slide"] + (["fly", "fly"] if flying else [])))
        prim, r = _candidate(rng, kind, lo, hi, ground, speed, scale)
        path = moving_path(prim, times)
        if np.any(path < np.asarray(lo)) or np.any(path > np.asarray(hi)):
            continue
        if kind in ("roll", "slide") and callable(ground_y):
            continue  # would float/sink on uneven ground
        if not placer.path_free(path, r):
            continue
        prim.name = f"mover_{kind}"
        prims.append(prim)
        placer.add_path(path, r)
        placed += 1
    return placed
