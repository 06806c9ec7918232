"""Corridor scenes: a long indoor hallway with doors, pictures, pillars, cabinets and ceiling lights."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Light, Material, Primitive, Scene
from ..textures import PHOTOS
from .common import (
    UP,
    Placer,
    _camera,
    _extra_movers,
    _framed_picture,
    _indoor_env,
    _photo,
    _pick_motion,
    _random_rotation,
    _tint,
    box,
    floor_quad,
    sphere,
    wall_quad,
)
from .movers import _add_movers


def corridor_scene(rng: np.random.Generator, times: np.ndarray):
    length, w, h = rng.uniform(30, 60), rng.uniform(2.0, 4.0), rng.uniform(2.5, 3.5)
    x0, x1, z0, z1 = -length / 2, length / 2, -w / 2, w / 2
    prims: list[Primitive] = []
    floor_tex = str(rng.choice(["tiles", "wood", "asphalt", "gravel"]))
    prims.append(
        floor_quad(
            (0, 0, 0),
            length,
            w,
            Material(floor_tex, _tint(rng, (0.9, 0.9, 0.9), 0.2), rng.uniform(0.8, 2.0), specular=0.2),
        )
    )
    prims.append(
        floor_quad(
            (0, h, 0),
            length,
            w,
            Material("plaster", _tint(rng, (0.95, 0.95, 0.95), 0.05), 1.5),
            name="ceiling",
        )
    )
    wall_tex = str(rng.choice(["plaster", "brick", "tiles", "facade"]))
    wall_mat = Material(
        wall_tex, _tint(rng, (0.9, 0.8, 0.7), 0.25), h if wall_tex == "facade" else rng.uniform(0.8, 1.8)
    )
    walls = [((0, h / 2, z1), (0, 0, -1), length), ((0, h / 2, z0), (0, 0, 1), length)]
    for c, n, ll in walls:
        prims.append(wall_quad(c, n, ll, h, wall_mat))
    end_mat = Material(str(rng.choice(PHOTOS)))  # a big picture / window at each end
    prims.append(wall_quad((x1, h / 2, 0), (-1, 0, 0), w, h, end_mat, name="end"))
    prims.append(
        wall_quad(
            (x0, h / 2, 0),
            (1, 0, 0),
            w,
            h,
            Material("facade_glass", _tint(rng, (1, 1, 1), 0.2), h),
            name="end",
        )
    )

    kind, shake, fast = _pick_motion(rng)
    kind = "dolly" if kind in ("orbit", "tracking") else kind
    speed = rng.uniform(0.8, 2.0) * (4 if fast else 1)
    if kind == "pan":
        speed = rng.uniform(0.3, 0.8) * (2.5 if fast else 1)
    margin = 0.45

    def clamp(e):
        e = e.copy()
        e[:, 0] = np.clip(e[:, 0], x0 + 1, x1 - 1)
        e[:, 2] = np.clip(e[:, 2], z0 + margin, z1 - margin)
        return e

    heading = (math.pi / 2 if rng.random() < 0.5 else -math.pi / 2) + rng.normal(0, 0.05)
    c2w, traj = _camera(
        rng,
        times,
        kind,
        shake,
        fast,
        center=np.array([rng.uniform(-length / 4, length / 4), 1.0, 0.0]),
        radius=w / 2 - margin,
        height=rng.uniform(1.2, 1.8),
        speed=speed,
        clamp=clamp,
        max_length=length * 0.8,
        heading=heading,
        look_height=rng.uniform(0.8, 1.5),
    )
    placer = Placer(c2w[:, [0, 2], 3], clearance=0.4)
    # doors, pictures, pillars, benches along the walls
    for _ in range(int(rng.integers(4, 12))):
        c, n, _ = walls[int(rng.integers(0, 2))]
        n = np.asarray(n, np.float64)
        xpos = rng.uniform(x0 + 1, x1 - 1)
        what = rng.choice(["door", "picture", "pillar", "cabinet"])
        base = np.array([xpos, 0.0, c[2]])
        if what == "door":
            prims.append(
                wall_quad(
                    base + UP * 1.05 + n * 0.01,
                    n,
                    rng.uniform(0.8, 1.0),
                    2.1,
                    Material("wood", _tint(rng, (0.8, 0.6, 0.45), 0.3), 2.1),
                    name="door",
                )
            )
        elif what == "picture":
            _framed_picture(
                rng, base + UP * rng.uniform(1.3, 1.8), n, rng.uniform(0.4, 1.0), rng.uniform(0.4, 0.9), prims
            )
        else:
            pw, pd, ph = (
                (rng.uniform(0.3, 0.5), rng.uniform(0.2, 0.4), h)
                if what == "pillar"
                else (rng.uniform(0.5, 1.2), rng.uniform(0.3, 0.5), rng.uniform(0.6, 1.6))
            )
            pos = base + n * (pd / 2 + 0.005)
            r = math.hypot(pw, pd) / 2
            if placer.free(pos[[0, 2]], r):
                placer.add(pos[[0, 2]], r)
                rot = np.stack([np.cross(UP, n), UP, n], 1)
                mat = Material(
                    str(rng.choice(["wood", "plaster", "brick"])),
                    _tint(rng, (0.85, 0.8, 0.75), 0.3),
                    rng.uniform(0.5, 1.2),
                )
                prims.append(
                    box(
                        (pos[0], ph / 2 - (0.002 if what == "pillar" else 0), pos[2]),
                        (pw / 2, ph / 2 - (0.004 if what == "pillar" else 0), pd / 2),
                        mat,
                        rot=rot,
                        name=str(what),
                    )
                )
    for _ in range(int(rng.integers(1, 5))):
        r = rng.uniform(0.1, 0.3)
        xz = placer.sample(rng, [x0 + 1, z0 + 0.4], [x1 - 1, z1 - 0.4], r)
        if xz is not None:
            prims.append(sphere((xz[0], r, xz[1]), r, _photo(rng), rot=_random_rotation(rng), name="ball"))
    movers = _add_movers(
        rng,
        prims,
        placer,
        times,
        int(rng.integers(1, 4)) + _extra_movers(kind),
        [x0 + 1, z0 + 0.35],
        [x1 - 1, z1 - 0.35],
        0.0,
        (0.5, 2.5),
    )
    # ceiling lights along the path of the camera
    cam_x = float(np.mean(c2w[:, 0, 3]))
    spacing = rng.uniform(5, 9)
    col = _tint(rng, (1.0, 0.93, 0.8), 0.08)
    lights = []
    for k in range(4):
        lx = float(np.clip(cam_x + (k - 1.5) * spacing, x0 + 0.5, x1 - 0.5))
        lights.append(
            Light(
                "point",
                (lx, h - 0.2, rng.uniform(-w / 4, w / 4)),
                tuple(c * rng.uniform(2.0, 4.0) for c in col),
                cast_shadow=k == 1,
                range=rng.uniform(3, 6),
            )
        )
    scene = Scene(
        "corridor",
        prims,
        lights,
        _indoor_env(rng),
        ((x0, 0, z0), (x1, h, z1)),
        max_depth=100.0,
        info={"size": [length, w, h], "movers": movers},
    )
    return scene, c2w, traj
