"""Pieces of furnished interiors: walls and ceiling, framed pictures, cabinets and ceiling lamps."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Light, Material, Primitive
from .looks import photo, tint
from .shapes import UP, box, facing, floor_quad, wall_quad
from .stage import Stage

Wall = tuple[tuple, tuple, float]  # centre, inward normal, length


def room_walls(w: float, d: float, h: float) -> list[Wall]:
    """The four walls of a ``w`` x ``d`` x ``h`` room centred on the origin (+z, -z, +x, -x)."""
    return [
        ((0, h / 2, d / 2), (0, 0, -1), w),
        ((0, h / 2, -d / 2), (0, 0, 1), w),
        ((w / 2, h / 2, 0), (-1, 0, 0), d),
        ((-w / 2, h / 2, 0), (1, 0, 0), d),
    ]


def ceiling(rng, size_x: float, size_z: float, h: float, colour=(1, 1, 1), uv_tile: float = 2.0) -> Primitive:
    """Plastered ceiling at height ``h``."""
    return floor_quad(
        (0, h, 0), size_x, size_z, Material("plaster", tint(rng, colour, 0.05), uv_tile), name="ceiling"
    )


def along_wall(rng, wall: Wall, margin: float) -> np.ndarray:
    """A random point on the wall's centre line, at least ``margin`` from its ends."""
    c, n, length = wall
    along = np.cross(UP, np.asarray(n, np.float64))
    return np.asarray(c, np.float64) + along * rng.uniform(-length / 2 + margin, length / 2 - margin)


def framed_picture(rng, center, inward, width, height, prims: list[Primitive]) -> None:
    """A photo in a wooden frame hanging at ``center`` on a wall facing ``inward``."""
    inward = np.asarray(inward, np.float64)
    depth = 0.02
    frame_mat = Material("wood", tint=tint(rng, (0.5, 0.4, 0.3), 0.4), uv_tile=0.3)
    fw, fh = width + 0.08, height + 0.08
    prims.append(
        box(
            np.asarray(center) + inward * depth,
            (fw / 2, fh / 2, depth),
            frame_mat,
            rot=facing(inward),
            name="frame",
        )
    )
    prims.append(
        wall_quad(
            np.asarray(center) + inward * (2 * depth + 0.004),
            inward,
            width,
            height,
            photo(rng),
            name="picture",
        )
    )


def wall_cabinets(
    rng,
    stage: Stage,
    walls: list[Wall],
    sizes: tuple[tuple[float, float], ...],
    textures: list[str],
    uv_tile: float | tuple[float, float],
) -> None:
    """One to three cabinets standing against random walls, clear of the camera path.

    ``sizes`` are the ranges of width, depth and height; ``uv_tile`` a value or a range to draw it from."""
    for _ in range(int(rng.integers(1, 4))):
        c, n, length = walls[int(rng.integers(0, 4))]
        n = np.asarray(n, np.float64)
        cw, cd, ch = (rng.uniform(*s) for s in sizes)
        pos = along_wall(rng, (c, n, length), cw) + n * (cd / 2 + 0.01)
        if not stage.placer.claim(pos[[0, 2]], math.hypot(cw, cd) / 2):
            continue
        texture = str(rng.choice(textures))
        colour = tint(rng, (0.9, 0.85, 0.8), 0.3)
        mat = Material(texture, colour, rng.uniform(*uv_tile) if isinstance(uv_tile, tuple) else uv_tile)
        stage.add(box((pos[0], ch / 2, pos[2]), (cw / 2, ch / 2, cd / 2), mat, rot=facing(n), name="cabinet"))


def ceiling_lamp(rng, pos, power: tuple[float, float], reach: tuple[float, float], reach_scale=1.0) -> Light:
    """Warm (60 %) or cool shadow-casting point light at ``pos``."""
    col = tint(rng, (1.0, 0.9, 0.75) if rng.random() < 0.6 else (0.85, 0.9, 1.0), 0.05)
    p = rng.uniform(*power)
    return Light(
        "point", pos, tuple(c * p for c in col), cast_shadow=True, range=reach_scale * rng.uniform(*reach)
    )


def fill_light(rng, w: float, d: float, h: float, margin: float, gain: tuple[float, float]) -> Light:
    """A weaker point light just under the ceiling, somewhere in the room."""
    pos = (
        rng.uniform(-w / 2 + margin, w / 2 - margin),
        h - 0.3,
        rng.uniform(-d / 2 + margin, d / 2 - margin),
    )
    colour = tuple(c * rng.uniform(*gain) for c in tint(rng, (1, 0.95, 0.9), 0.1))
    return Light("point", pos, colour, range=max(w, d) * 0.5)
