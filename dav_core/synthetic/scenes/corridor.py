"""Corridor scenes: a long indoor hallway with doors, pictures, pillars, cabinets and ceiling lights."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Light, Material
from ..textures import PHOTOS
from .environments import indoor_env
from .interior import ceiling, framed_picture
from .looks import photo, tint
from .shapes import UP, box, facing, floor_quad, tumbled_sphere, wall_quad
from .shots import box_clamp, heading_along_x, pick_move, travel_speed
from .stage import Built, Stage

MARGIN = 0.45  # closest the camera comes to a side wall


def _shell(rng, stage: Stage, length: float, w: float, h: float) -> list:
    """Floor, ceiling, the two side walls (returned as (centre, inward normal, length)) and both ends."""
    floor_tex = str(rng.choice(["tiles", "wood", "asphalt", "gravel"]))
    floor = Material(floor_tex, tint(rng, (0.9, 0.9, 0.9), 0.2), rng.uniform(0.8, 2.0), specular=0.2)
    stage.add(floor_quad((0, 0, 0), length, w, floor))
    stage.add(ceiling(rng, length, w, h, (0.95, 0.95, 0.95), 1.5))
    wall_tex = str(rng.choice(["plaster", "brick", "tiles", "facade"]))
    wall_mat = Material(
        wall_tex, tint(rng, (0.9, 0.8, 0.7), 0.25), h if wall_tex == "facade" else rng.uniform(0.8, 1.8)
    )
    walls = [((0, h / 2, w / 2), (0, 0, -1), length), ((0, h / 2, -w / 2), (0, 0, 1), length)]
    for c, n, ll in walls:
        stage.add(wall_quad(c, n, ll, h, wall_mat))
    end_mat = Material(str(rng.choice(PHOTOS)))  # a big picture / window at each end
    glass = Material("facade_glass", tint(rng, (1, 1, 1), 0.2), h)
    stage.add(
        wall_quad((length / 2, h / 2, 0), (-1, 0, 0), w, h, end_mat, name="end"),
        wall_quad((-length / 2, h / 2, 0), (1, 0, 0), w, h, glass, name="end"),
    )
    return walls


def _walk(rng, stage: Stage, length: float, w: float) -> None:
    """Dolly along the hallway (orbits and tracking shots become dollies), pan or tripod."""
    move = pick_move(rng)
    move = move._replace(kind="dolly" if move.kind in ("orbit", "tracking") else move.kind)
    speed = travel_speed(rng, move, (0.8, 2.0), 4, pan=(0.3, 0.8))
    heading = heading_along_x(rng, 0.05)
    stage.shoot(
        move,
        clearance=0.4,
        center=np.array([rng.uniform(-length / 4, length / 4), 1.0, 0.0]),
        radius=w / 2 - MARGIN,
        height=rng.uniform(1.2, 1.8),
        speed=speed,
        clamp=box_clamp(-length / 2 + 1, length / 2 - 1, -w / 2 + MARGIN, w / 2 - MARGIN),
        max_length=length * 0.8,
        heading=heading,
        look_height=rng.uniform(0.8, 1.5),
    )


def _door(rng, base: np.ndarray, n: np.ndarray):
    width = rng.uniform(0.8, 1.0)
    wood = Material("wood", tint(rng, (0.8, 0.6, 0.45), 0.3), 2.1)
    return wall_quad(base + UP * 1.05 + n * 0.01, n, width, 2.1, wood, name="door")


def _standing(rng, stage: Stage, what: str, base: np.ndarray, n: np.ndarray, h: float) -> None:
    """A pillar up to the ceiling or a cabinet against the wall, if it keeps clear of the camera path."""
    pw, pd, ph = (
        (rng.uniform(0.3, 0.5), rng.uniform(0.2, 0.4), h)
        if what == "pillar"
        else (rng.uniform(0.5, 1.2), rng.uniform(0.3, 0.5), rng.uniform(0.6, 1.6))
    )
    pos = base + n * (pd / 2 + 0.005)
    if not stage.placer.claim(pos[[0, 2]], math.hypot(pw, pd) / 2):
        return
    texture = str(rng.choice(["wood", "plaster", "brick"]))
    mat = Material(texture, tint(rng, (0.85, 0.8, 0.75), 0.3), rng.uniform(0.5, 1.2))
    gap = 0.002 if what == "pillar" else 0  # a pillar stops just short of floor and ceiling
    stage.add(box((pos[0], ph / 2 - gap, pos[2]), (pw / 2, ph / 2 - 2 * gap, pd / 2), mat, facing(n), what))


def _wall_features(rng, stage: Stage, walls, length: float, h: float) -> None:
    """Doors, framed pictures, pillars and cabinets along the side walls."""
    for _ in range(int(rng.integers(4, 12))):
        c, n, _ = walls[int(rng.integers(0, 2))]
        n = np.asarray(n, np.float64)
        xpos = rng.uniform(-length / 2 + 1, length / 2 - 1)
        what = str(rng.choice(["door", "picture", "pillar", "cabinet"]))
        base = np.array([xpos, 0.0, c[2]])
        if what == "door":
            stage.add(_door(rng, base, n))
        elif what == "picture":
            centre = base + UP * rng.uniform(1.3, 1.8)
            framed_picture(rng, centre, n, rng.uniform(0.4, 1.0), rng.uniform(0.4, 0.9), stage.prims)
        else:
            _standing(rng, stage, what, base, n, h)


def _ceiling_lights(rng, stage: Stage, length: float, w: float, h: float) -> list[Light]:
    """Four lights spaced along the camera's stretch of the hallway; the second casts shadows."""
    cam_x = float(np.mean(stage.c2w[:, 0, 3]))
    spacing = rng.uniform(5, 9)
    col = tint(rng, (1.0, 0.93, 0.8), 0.08)
    lights = []
    for k in range(4):
        lx = float(np.clip(cam_x + (k - 1.5) * spacing, -length / 2 + 0.5, length / 2 - 0.5))
        lights.append(
            Light(
                "point",
                (lx, h - 0.2, rng.uniform(-w / 4, w / 4)),
                tuple(c * rng.uniform(2.0, 4.0) for c in col),
                cast_shadow=k == 1,
                range=rng.uniform(3, 6),
            )
        )
    return lights


def _balls(rng, stage: Stage, length: float, w: float) -> None:
    """One to four photo-textured balls lying on the floor."""
    for _ in range(int(rng.integers(1, 5))):
        r = rng.uniform(0.1, 0.3)
        xz = stage.placer.sample(rng, [-length / 2 + 1, -w / 2 + 0.4], [length / 2 - 1, w / 2 - 0.4], r)
        if xz is not None:
            stage.add(tumbled_sphere(rng, (xz[0], r, xz[1]), r, photo(rng), "ball"))


def corridor_scene(rng: np.random.Generator, times: np.ndarray) -> Built:
    length, w, h = rng.uniform(30, 60), rng.uniform(2.0, 4.0), rng.uniform(2.5, 3.5)
    stage = Stage(rng, times)
    walls = _shell(rng, stage, length, w, h)
    _walk(rng, stage, length, w)
    _wall_features(rng, stage, walls, length, h)
    _balls(rng, stage, length, w)
    stage.add_movers(
        (1, 4), [-length / 2 + 1, -w / 2 + 0.35], [length / 2 - 1, w / 2 - 0.35], 0.0, (0.5, 2.5)
    )
    lights = _ceiling_lights(rng, stage, length, w, h)
    bounds = ((-length / 2, 0, -w / 2), (length / 2, h, w / 2))
    return stage.finish("corridor", lights, indoor_env(rng), bounds, 100.0, size=[length, w, h])
