"""Room scenes: a furnished box room with pictures, tables, cabinets, crates, balls and ceiling lights."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Light, Material, Primitive, Scene, yaw
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


def _table(rng, center_xz, floor_y: float, placer: Placer, prims: list[Primitive]) -> bool:
    w, d = rng.uniform(0.8, 1.7), rng.uniform(0.6, 1.0)
    r = math.hypot(w, d) / 2
    if not placer.free(center_xz, r):
        return False
    placer.add(center_xz, r)
    rot = yaw(rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.1))
    top_h = rng.uniform(0.7, 0.78)
    mat = Material(
        "wood", tint=_tint(rng, (1, 1, 1), 0.25), uv_tile=rng.uniform(0.8, 1.6), specular=0.2, shininess=30
    )
    c = np.array([center_xz[0], floor_y + top_h, center_xz[1]])
    prims.append(box(c, (w / 2, 0.025, d / 2), mat, rot=rot, name="table_top"))
    for sx in (-1, 1):
        for sz in (-1, 1):
            off = rot @ np.array([sx * (w / 2 - 0.06), 0, sz * (d / 2 - 0.06)])
            prims.append(
                box(
                    (c[0] + off[0], floor_y + (top_h - 0.025) / 2, c[2] + off[2]),
                    (0.025, (top_h - 0.025) / 2, 0.025),
                    mat,
                    rot=rot,
                    name="table_leg",
                )
            )
    # something on the table
    if rng.random() < 0.7:
        rr = rng.uniform(0.06, 0.15)
        off = rot @ np.array([rng.uniform(-w / 3, w / 3), 0, rng.uniform(-d / 3, d / 3)])
        if rng.random() < 0.5:
            prims.append(
                sphere(
                    (c[0] + off[0], c[1] + 0.025 + rr, c[2] + off[2]),
                    rr,
                    _photo(rng),
                    rot=_random_rotation(rng),
                )
            )
        else:
            hh = rng.uniform(0.05, 0.2, 3)
            prims.append(
                box(
                    (c[0] + off[0], c[1] + 0.025 + hh[1], c[2] + off[2]),
                    hh,
                    _photo(rng),
                    rot=yaw(rng.uniform(0, 6.3)),
                )
            )
    return True


def room_scene(rng: np.random.Generator, times: np.ndarray):
    w, d, h = rng.uniform(4, 9), rng.uniform(4, 10), rng.uniform(2.5, 3.4)
    x0, x1, z0, z1 = -w / 2, w / 2, -d / 2, d / 2
    prims: list[Primitive] = []
    floor_tex = str(rng.choice(["wood", "tiles", "gravel", "fabric"]))
    floor_tile = {
        "wood": rng.uniform(1.5, 2.5),
        "tiles": rng.uniform(1.0, 2.4),
        "gravel": 1.0,
        "fabric": 0.5,
    }[floor_tex]
    floor_tint = _tint(rng, (0.5, 0.45, 0.5) if floor_tex == "gravel" else (1.0, 1.0, 1.0), 0.25)
    prims.append(
        floor_quad(
            (0, 0, 0),
            w,
            d,
            Material(
                floor_tex, floor_tint, floor_tile, specular=0.15 if floor_tex in ("wood", "tiles") else 0.0
            ),
        )
    )
    prims.append(
        floor_quad((0, h, 0), w, d, Material("plaster", _tint(rng, (1, 1, 1), 0.05), 2.0), name="ceiling")
    )
    if rng.random() < 0.6:  # rug
        rug_tex = str(rng.choice(["fabric", "tiles"] + list(PHOTOS[:3])))
        rug = Material(
            rug_tex,
            _tint(rng, (0.8, 0.4, 0.3), 0.5) if rug_tex in ("fabric", "tiles") else (1.0, 1.0, 1.0),
            0.6 if rug_tex in ("fabric", "tiles") else 0.0,
        )
        prims.append(
            floor_quad(
                (rng.uniform(-w / 5, w / 5), 0.006, rng.uniform(-d / 5, d / 5)),
                rng.uniform(1.2, w * 0.6),
                rng.uniform(1.0, d * 0.6),
                rug,
                name="rug",
            )
        )
    wall_tex = str(rng.choice(["plaster", "plaster", "brick", "fabric", "tiles"]))
    wall_tint = _tint(rng, (0.95, 0.9, 0.85) if wall_tex != "brick" else (0.9, 0.55, 0.45), 0.2)
    accent = int(rng.integers(0, 4)) if rng.random() < 0.5 else -1
    walls = [
        ((0, h / 2, z1), (0, 0, -1), w),
        ((0, h / 2, z0), (0, 0, 1), w),
        ((x1, h / 2, 0), (-1, 0, 0), d),
        ((x0, h / 2, 0), (1, 0, 0), d),
    ]
    for i, (c, n, length) in enumerate(walls):
        tex, tint = (
            (wall_tex, wall_tint)
            if i != accent
            else (str(rng.choice(["brick", "wood", "facade"])), _tint(rng, (0.9, 0.8, 0.7), 0.25))
        )
        prims.append(
            wall_quad(c, n, length, h, Material(tex, tint, rng.uniform(0.8, 1.6) if tex != "facade" else h))
        )

    # camera
    kind, shake, fast = _pick_motion(rng)
    margin = 0.5
    speed = rng.uniform(0.4, 1.3) * (3 if fast else 1)
    if kind == "pan":
        speed = rng.uniform(0.3, 0.9) * (2.5 if fast else 1)
    eye_h = rng.uniform(1.1, 1.8)

    def clamp(e: np.ndarray) -> np.ndarray:
        e = e.copy()
        e[:, 0] = np.clip(e[:, 0], x0 + margin, x1 - margin)
        e[:, 2] = np.clip(e[:, 2], z0 + margin, z1 - margin)
        return e

    c2w, traj = _camera(
        rng,
        times,
        kind,
        shake,
        fast,
        center=np.array([0.0, 1.0, 0.0]),
        radius=min(w, d) / 2 - margin,
        height=eye_h,
        speed=speed,
        clamp=clamp,
        look_height=rng.uniform(0.6, 1.3),
    )
    placer = Placer(c2w[:, [0, 2], 3], clearance=0.45)

    # pictures on walls
    for _ in range(int(rng.integers(2, 6))):
        i = int(rng.integers(0, 4))
        c, n, length = walls[i]
        pw = rng.uniform(0.5, min(1.6, length / 3))
        ph = pw * rng.uniform(0.7, 1.3)
        along = np.cross(UP, np.asarray(n, np.float64))
        pos = (
            np.asarray(c, np.float64)
            + along * rng.uniform(-length / 2 + pw, length / 2 - pw)
            + UP * (rng.uniform(1.3, 1.9) - h / 2)
        )
        _framed_picture(rng, pos, n, pw, ph, prims)

    # furniture: tables, cabinets along walls, crates, balls
    for _ in range(int(rng.integers(0, 3))):
        _table(rng, rng.uniform([x0 + 1, z0 + 1], [x1 - 1, z1 - 1]), 0.0, placer, prims)
    for _ in range(int(rng.integers(1, 4))):
        i = int(rng.integers(0, 4))
        c, n, length = walls[i]
        n = np.asarray(n, np.float64)
        along = np.cross(UP, n)
        cw, cd, ch = rng.uniform(0.6, 1.6), rng.uniform(0.35, 0.6), rng.uniform(0.7, 2.1)
        pos = (
            np.asarray(c, np.float64)
            + along * rng.uniform(-length / 2 + cw, length / 2 - cw)
            + n * (cd / 2 + 0.01)
        )
        r = math.hypot(cw, cd) / 2
        if not placer.free(pos[[0, 2]], r):
            continue
        placer.add(pos[[0, 2]], r)
        rot = np.stack([along, UP, n], 1)
        mat = Material(
            str(rng.choice(["wood", "wood", "plaster", "facade_glass"])),
            _tint(rng, (0.9, 0.85, 0.8), 0.3),
            rng.uniform(0.5, 1.0),
        )
        prims.append(box((pos[0], ch / 2, pos[2]), (cw / 2, ch / 2, cd / 2), mat, rot=rot, name="cabinet"))
    for _ in range(int(rng.integers(2, 7))):
        if rng.random() < 0.6:
            half = rng.uniform(0.1, 0.4, 3)
            xz = placer.sample(
                rng, [x0 + 0.5, z0 + 0.5], [x1 - 0.5, z1 - 0.5], float(np.linalg.norm(half[[0, 2]]))
            )
            if xz is not None:
                mat = _photo(rng) if rng.random() < 0.6 else Material("wood", _tint(rng, (1, 1, 1), 0.2), 0.5)
                prims.append(
                    box((xz[0], half[1], xz[1]), half, mat, rot=yaw(rng.uniform(0, 6.3)), name="crate")
                )
        else:
            r = rng.uniform(0.1, 0.35)
            xz = placer.sample(rng, [x0 + 0.5, z0 + 0.5], [x1 - 0.5, z1 - 0.5], r)
            if xz is not None:
                prims.append(
                    sphere((xz[0], r, xz[1]), r, _photo(rng), rot=_random_rotation(rng), name="ball")
                )
    movers = _add_movers(
        rng,
        prims,
        placer,
        times,
        int(rng.integers(1, 4)) + _extra_movers(kind),
        [x0 + 0.5, z0 + 0.5],
        [x1 - 0.5, z1 - 0.5],
        0.0,
        (0.3, 1.5),
    )

    # lights
    lp = (rng.uniform(x0 + 0.8, x1 - 0.8), h - rng.uniform(0.25, 0.6), rng.uniform(z0 + 0.8, z1 - 0.8))
    col = _tint(rng, (1.0, 0.9, 0.75) if rng.random() < 0.6 else (0.85, 0.9, 1.0), 0.05)
    power = rng.uniform(2.5, 5.0)
    lights = [
        Light(
            "point",
            lp,
            tuple(c * power for c in col),
            cast_shadow=True,
            range=max(w, d) * rng.uniform(0.5, 0.9),
        )
    ]
    if rng.random() < 0.6:
        lp2 = (rng.uniform(x0 + 0.8, x1 - 0.8), h - 0.3, rng.uniform(z0 + 0.8, z1 - 0.8))
        lights.append(
            Light(
                "point",
                lp2,
                tuple(c * rng.uniform(0.8, 2.0) for c in _tint(rng, (1, 0.95, 0.9), 0.1)),
                range=max(w, d) * 0.5,
            )
        )
    scene = Scene(
        "room",
        prims,
        lights,
        _indoor_env(rng),
        ((x0, 0, z0), (x1, h, z1)),
        max_depth=100.0,
        info={"size": [w, d, h], "movers": movers},
    )
    return scene, c2w, traj
