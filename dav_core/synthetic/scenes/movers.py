"""Moving objects for every scene family: rolling/bouncing balls, spinning/sliding crates, flying boxes."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Material, Motion, Primitive, yaw
from .common import UP, Placer, _moving_path, _photo, _random_rotation, _tint, box, sphere


def _rolling(v: np.ndarray, r: float) -> tuple[float, float, float]:
    w = np.cross(UP, v) / r
    return tuple(float(x) for x in w)


def _add_movers(
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
    """Balls rolling/bouncing, spinning/sliding crates; returns how many were placed. ``scale`` shrinks
    sizes, lifts and hops (e.g. 0.2 for objects on a table)."""
    placed = 0
    ground = ground_y if callable(ground_y) else (lambda xz: np.full(len(xz), float(ground_y)))
    for _ in range(count * 6):
        if placed >= count:
            break
        kind = rng.choice(["roll", "bounce", "spin", "slide"] + (["fly", "fly"] if flying else []))
        start = rng.uniform(lo, hi)
        heading = rng.uniform(0, 2 * np.pi)
        v = rng.uniform(*speed) * np.array([math.sin(heading), 0.0, math.cos(heading)])
        gy = float(ground(start[None])[0])
        if kind in ("roll", "bounce"):
            r = rng.uniform(0.12, 0.45) * scale
            mat = (
                _photo(rng)
                if rng.random() < 0.6
                else Material(
                    str(rng.choice(["fabric", "gravel", "tiles"])),
                    tint=_tint(rng, (0.8, 0.4, 0.3), 0.5),
                    specular=0.3,
                    shininess=40,
                )
            )
            if kind == "roll":
                prim = sphere(
                    (start[0], gy + r, start[1]),
                    r,
                    mat,
                    motion=Motion(velocity=tuple(v), angular_velocity=_rolling(v, r)),
                )
            else:
                f = rng.uniform(0.6, 1.8)
                prim = sphere(
                    (start[0], gy + r, start[1]),
                    r,
                    mat,
                    motion=Motion(
                        velocity=tuple(v * 0.3),
                        angular_velocity=tuple(rng.normal(0, 2, 3)),
                        bounce_height=rng.uniform(0.3, 1.2) * scale,
                        bounce_freq=f,
                    ),
                )
        elif kind in ("spin", "slide"):
            half = rng.uniform(0.12, 0.45, 3) * scale
            mat = (
                _photo(rng)
                if rng.random() < 0.5
                else Material("wood", tint=_tint(rng, (1, 1, 1), 0.2), uv_tile=0.5)
            )
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
            r = float(np.linalg.norm(half[[0, 2]]))
        else:  # fly: drone-like object at a few metres, spinning about a random axis
            half = rng.uniform(0.2, 0.6, 3) * scale
            mat = _photo(rng)
            vel = v * 2 + np.array([0.0, rng.uniform(-0.3, 0.3), 0.0])
            prim = box(
                (start[0], gy + rng.uniform(2.0, 5.0) * scale, start[1]),
                half,
                mat,
                rot=_random_rotation(rng),
                motion=Motion(velocity=tuple(vel), angular_velocity=tuple(rng.normal(0, 1.5, 3))),
            )
            r = float(np.linalg.norm(half))
        path = _moving_path(prim, times)
        if np.any(path < np.asarray(lo)) or np.any(path > np.asarray(hi)):
            continue
        if kind in ("roll", "slide") and callable(ground_y):
            continue  # would float/sink on uneven ground
        if not placer.path_free(path, r):
            continue
        prim.name = f"mover_{kind}"
        prims.append(prim)
        # keep later movers off this one's whole path
        for p in path[:: max(1, len(path) // 8)]:
            placer.add(p, r)
        placed += 1
    return placed
