"""Room scenes: a furnished box room with pictures, tables, cabinets, crates, balls and ceiling lights."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Light, Material, Primitive, yaw
from ..textures import PHOTOS
from .environments import indoor_env
from .interior import along_wall, ceiling, ceiling_lamp, fill_light, framed_picture, room_walls, wall_cabinets
from .looks import photo, tint
from .placement import Placer
from .shapes import UP, box, floor_quad, random_rotation, sphere, tumbled_sphere, wall_quad
from .shots import box_clamp, pick_move, travel_speed
from .stage import Built, Stage

MARGIN = 0.5  # closest the camera comes to a wall


def _floor(rng, w: float, d: float) -> Primitive:
    floor_tex = str(rng.choice(["wood", "tiles", "gravel", "fabric"]))
    floor_tile = {
        "wood": rng.uniform(1.5, 2.5),
        "tiles": rng.uniform(1.0, 2.4),
        "gravel": 1.0,
        "fabric": 0.5,
    }[floor_tex]
    floor_tint = tint(rng, (0.5, 0.45, 0.5) if floor_tex == "gravel" else (1.0, 1.0, 1.0), 0.25)
    shiny = 0.15 if floor_tex in ("wood", "tiles") else 0.0
    return floor_quad((0, 0, 0), w, d, Material(floor_tex, floor_tint, floor_tile, specular=shiny))


def _rug(rng, w: float, d: float) -> Primitive:
    rug_tex = str(rng.choice(["fabric", "tiles"] + list(PHOTOS[:3])))
    woven = rug_tex in ("fabric", "tiles")
    rug = Material(
        rug_tex, tint(rng, (0.8, 0.4, 0.3), 0.5) if woven else (1.0, 1.0, 1.0), 0.6 if woven else 0.0
    )
    centre = (rng.uniform(-w / 5, w / 5), 0.006, rng.uniform(-d / 5, d / 5))
    return floor_quad(centre, rng.uniform(1.2, w * 0.6), rng.uniform(1.0, d * 0.6), rug, name="rug")


def _shell(rng, stage: Stage, w: float, d: float, h: float) -> list:
    """Floor, ceiling, maybe a rug, and four walls (one of them sometimes an accent wall); returns the walls."""
    stage.add(_floor(rng, w, d), ceiling(rng, w, d, h))
    if rng.random() < 0.6:
        stage.add(_rug(rng, w, d))
    wall_tex = str(rng.choice(["plaster", "plaster", "brick", "fabric", "tiles"]))
    wall_tint = tint(rng, (0.95, 0.9, 0.85) if wall_tex != "brick" else (0.9, 0.55, 0.45), 0.2)
    accent = int(rng.integers(0, 4)) if rng.random() < 0.5 else -1
    walls = room_walls(w, d, h)
    for i, (c, n, length) in enumerate(walls):
        tex, colour = (
            (wall_tex, wall_tint)
            if i != accent
            else (str(rng.choice(["brick", "wood", "facade"])), tint(rng, (0.9, 0.8, 0.7), 0.25))
        )
        stage.add(
            wall_quad(c, n, length, h, Material(tex, colour, rng.uniform(0.8, 1.6) if tex != "facade" else h))
        )
    return walls


def _film(rng, stage: Stage, w: float, d: float) -> None:
    """Orbit, dolly, tracking shot, pan or tripod inside the room."""
    move = pick_move(rng)
    speed = travel_speed(rng, move, (0.4, 1.3), 3, pan=(0.3, 0.9))
    eye_h = rng.uniform(1.1, 1.8)
    stage.shoot(
        move,
        clearance=0.45,
        center=np.array([0.0, 1.0, 0.0]),
        radius=min(w, d) / 2 - MARGIN,
        height=eye_h,
        speed=speed,
        clamp=box_clamp(-w / 2 + MARGIN, w / 2 - MARGIN, -d / 2 + MARGIN, d / 2 - MARGIN),
        look_height=rng.uniform(0.6, 1.3),
    )


def _pictures(rng, stage: Stage, walls, h: float) -> None:
    for _ in range(int(rng.integers(2, 6))):
        wall = walls[int(rng.integers(0, 4))]
        pw = rng.uniform(0.5, min(1.6, wall[2] / 3))
        ph = pw * rng.uniform(0.7, 1.3)
        pos = along_wall(rng, wall, pw) + UP * (rng.uniform(1.3, 1.9) - h / 2)
        framed_picture(rng, pos, wall[1], pw, ph, stage.prims)


def _table_clutter(rng, c: np.ndarray, rot: np.ndarray, w: float, d: float) -> Primitive:
    """A ball or a box standing somewhere on a table top centred at ``c``."""
    rr = rng.uniform(0.06, 0.15)
    off = rot @ np.array([rng.uniform(-w / 3, w / 3), 0, rng.uniform(-d / 3, d / 3)])
    if rng.random() < 0.5:
        return sphere(
            (c[0] + off[0], c[1] + 0.025 + rr, c[2] + off[2]), rr, photo(rng), rot=random_rotation(rng)
        )
    hh = rng.uniform(0.05, 0.2, 3)
    return box(
        (c[0] + off[0], c[1] + 0.025 + hh[1], c[2] + off[2]), hh, photo(rng), rot=yaw(rng.uniform(0, 6.3))
    )


def _table(rng, center_xz, floor_y: float, placer: Placer, prims: list[Primitive]) -> bool:
    """A wooden table (often with something on it) at ``center_xz`` if it keeps clear of the camera path."""
    w, d = rng.uniform(0.8, 1.7), rng.uniform(0.6, 1.0)
    if not placer.claim(center_xz, math.hypot(w, d) / 2):
        return False
    rot = yaw(rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.1))
    top_h = rng.uniform(0.7, 0.78)
    mat = Material(
        "wood", tint=tint(rng, (1, 1, 1), 0.25), uv_tile=rng.uniform(0.8, 1.6), specular=0.2, shininess=30
    )
    c = np.array([center_xz[0], floor_y + top_h, center_xz[1]])
    prims.append(box(c, (w / 2, 0.025, d / 2), mat, rot=rot, name="table_top"))
    leg_half = (0.025, (top_h - 0.025) / 2, 0.025)
    for sx in (-1, 1):
        for sz in (-1, 1):
            off = rot @ np.array([sx * (w / 2 - 0.06), 0, sz * (d / 2 - 0.06)])
            leg_centre = (c[0] + off[0], floor_y + (top_h - 0.025) / 2, c[2] + off[2])
            prims.append(box(leg_centre, leg_half, mat, rot=rot, name="table_leg"))
    if rng.random() < 0.7:
        prims.append(_table_clutter(rng, c, rot, w, d))
    return True


def _floor_clutter(rng, stage: Stage, lo, hi) -> None:
    """Crates and balls on the floor between ``lo`` and ``hi`` (xz)."""
    for _ in range(int(rng.integers(2, 7))):
        if rng.random() < 0.6:
            half = rng.uniform(0.1, 0.4, 3)
            xz = stage.placer.sample(rng, lo, hi, float(np.linalg.norm(half[[0, 2]])))
            if xz is not None:
                mat = photo(rng) if rng.random() < 0.6 else Material("wood", tint(rng, (1, 1, 1), 0.2), 0.5)
                stage.add(box((xz[0], half[1], xz[1]), half, mat, rot=yaw(rng.uniform(0, 6.3)), name="crate"))
        else:
            r = rng.uniform(0.1, 0.35)
            xz = stage.placer.sample(rng, lo, hi, r)
            if xz is not None:
                stage.add(tumbled_sphere(rng, (xz[0], r, xz[1]), r, photo(rng), "ball"))


def _lights(rng, w: float, d: float, h: float) -> list[Light]:
    """A shadow-casting lamp under the ceiling and, in 60 % of rooms, a fill light."""
    lp = (
        rng.uniform(-w / 2 + 0.8, w / 2 - 0.8),
        h - rng.uniform(0.25, 0.6),
        rng.uniform(-d / 2 + 0.8, d / 2 - 0.8),
    )
    lights = [ceiling_lamp(rng, lp, (2.5, 5.0), (0.5, 0.9), reach_scale=max(w, d))]
    if rng.random() < 0.6:
        lights.append(fill_light(rng, w, d, h, 0.8, (0.8, 2.0)))
    return lights


def room_scene(rng: np.random.Generator, times: np.ndarray) -> Built:
    w, d, h = rng.uniform(4, 9), rng.uniform(4, 10), rng.uniform(2.5, 3.4)
    x0, x1, z0, z1 = -w / 2, w / 2, -d / 2, d / 2
    stage = Stage(rng, times)
    walls = _shell(rng, stage, w, d, h)
    _film(rng, stage, w, d)
    _pictures(rng, stage, walls, h)
    for _ in range(int(rng.integers(0, 3))):
        _table(rng, rng.uniform([x0 + 1, z0 + 1], [x1 - 1, z1 - 1]), 0.0, stage.placer, stage.prims)
    cabinet_sizes = ((0.6, 1.6), (0.35, 0.6), (0.7, 2.1))
    wall_cabinets(rng, stage, walls, cabinet_sizes, ["wood", "wood", "plaster", "facade_glass"], (0.5, 1.0))
    _floor_clutter(rng, stage, [x0 + 0.5, z0 + 0.5], [x1 - 0.5, z1 - 0.5])
    stage.add_movers((1, 4), [x0 + 0.5, z0 + 0.5], [x1 - 0.5, z1 - 0.5], 0.0, (0.3, 1.5))
    return stage.finish(
        "room", _lights(rng, w, d, h), indoor_env(rng), ((x0, 0, z0), (x1, h, z1)), 100.0, size=[w, d, h]
    )
