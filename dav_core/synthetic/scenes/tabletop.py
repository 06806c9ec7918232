"""Table-top scenes: close-ups of objects on a table (boxes, stacks, balls, cans, picture cards) in a room.

The camera stays 0.25-1.5 m from the objects (close orbit, dolly in/out, small pan or tripod); the room's
walls stand 1.5-6 m behind, so depth spans ~0.2 m to a few metres. Small objects slide, roll and spin on
the table.
"""

from __future__ import annotations

import math

import numpy as np

from ..scene import Light, Material, Mesh, Primitive, Scene, make_pose, yaw
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


def cylinder_mesh(radius: float, height: float, segments: int = 20) -> Mesh:
    """Closed-top cylinder (a can or mug) standing on its base at the local origin, axis along y."""
    ang = np.linspace(0, 2 * np.pi, segments + 1)
    ring = np.stack([np.sin(ang), np.zeros_like(ang), np.cos(ang)], -1)
    u = ang / (2 * np.pi)
    side = [
        np.concatenate([ring * radius + UP * y, ring, np.stack([u, np.full_like(u, v)], -1)], 1)
        for y, v in ((0.0, 1.0), (height, 0.0))
    ]
    cap_ring = np.concatenate(
        [ring * radius + UP * height, np.tile(UP, (segments + 1, 1)), 0.5 + 0.5 * ring[:, [0, 2]]], 1
    )
    cap_centre = np.array([[0, height, 0, 0, 1, 0, 0.5, 0.5]])
    data = np.concatenate([side[0], side[1], cap_ring, cap_centre], 0)
    n = segments + 1
    i = np.arange(segments)
    faces = np.concatenate(
        [
            np.stack([i, i + n, i + 1], 1),
            np.stack([i + 1, i + n, i + n + 1], 1),
            np.stack([2 * n + i, np.full(segments, 3 * n), 2 * n + i + 1], 1),
        ]
    )
    return Mesh(
        data[:, :3].astype(np.float32),
        faces.astype(np.int32),
        data[:, 3:6].astype(np.float32),
        data[:, 6:8].astype(np.float32),
        np.ones((len(data), 3), np.float32),
    )


def _room_shell(rng, w: float, d: float, h: float, prims: list[Primitive]) -> list:
    """Floor, ceiling and four walls; returns the walls as (centre, inward normal, length)."""
    floor_tex = str(rng.choice(["wood", "tiles", "fabric", "gravel"]))
    prims.append(floor_quad((0, 0, 0), w, d, Material(floor_tex, _tint(rng, (1, 1, 1), 0.25), 1.5)))
    prims.append(
        floor_quad((0, h, 0), w, d, Material("plaster", _tint(rng, (1, 1, 1), 0.05), 2.0), name="ceiling")
    )
    wall_tex = str(rng.choice(["plaster", "plaster", "brick", "fabric", "tiles", "wood"]))
    wall_mat = Material(wall_tex, _tint(rng, (0.95, 0.9, 0.85), 0.2), rng.uniform(0.8, 1.6))
    walls = [
        ((0, h / 2, d / 2), (0, 0, -1), w),
        ((0, h / 2, -d / 2), (0, 0, 1), w),
        ((w / 2, h / 2, 0), (-1, 0, 0), d),
        ((-w / 2, h / 2, 0), (1, 0, 0), d),
    ]
    for c, n, length in walls:
        prims.append(wall_quad(c, n, length, h, wall_mat))
    return walls


def _wall_decor(rng, walls, h: float, placer: Placer, prims: list[Primitive]) -> None:
    """Framed pictures and cabinets/shelves along the walls (the background)."""
    for _ in range(int(rng.integers(2, 6))):
        c, n, length = walls[int(rng.integers(0, 4))]
        pw = rng.uniform(0.4, min(1.4, length / 3))
        along = np.cross(UP, np.asarray(n, np.float64))
        pos = (
            np.asarray(c)
            + along * rng.uniform(-length / 2 + pw, length / 2 - pw)
            + UP * (rng.uniform(1.2, 1.8) - h / 2)
        )
        _framed_picture(rng, pos, n, pw, pw * rng.uniform(0.6, 1.3), prims)
    for _ in range(int(rng.integers(1, 4))):
        c, n, length = walls[int(rng.integers(0, 4))]
        n = np.asarray(n, np.float64)
        along = np.cross(UP, n)
        cw, cd, ch = rng.uniform(0.5, 1.4), rng.uniform(0.3, 0.5), rng.uniform(0.6, 2.0)
        pos = np.asarray(c) + along * rng.uniform(-length / 2 + cw, length / 2 - cw) + n * (cd / 2 + 0.01)
        r = math.hypot(cw, cd) / 2
        if not placer.free(pos[[0, 2]], r):
            continue
        placer.add(pos[[0, 2]], r)
        mat = Material(
            str(rng.choice(["wood", "plaster", "facade_glass"])), _tint(rng, (0.9, 0.85, 0.8), 0.3), 0.7
        )
        rot = np.stack([along, UP, n], 1)
        prims.append(box((pos[0], ch / 2, pos[2]), (cw / 2, ch / 2, cd / 2), mat, rot=rot, name="cabinet"))


def _table(rng, c: np.ndarray, tw: float, td: float, top_y: float, prims: list[Primitive]) -> None:
    """Table top (its upper surface at ``top_y``) on four legs."""
    mat = str(rng.choice(["wood", "wood", "tiles", "fabric", "plaster"]))
    top = Material(mat, _tint(rng, (1, 1, 1), 0.25), rng.uniform(0.4, 1.0), specular=0.2, shininess=30)
    th = rng.uniform(0.02, 0.05)
    prims.append(box((c[0], top_y - th / 2, c[1]), (tw / 2, th / 2, td / 2), top, name="table_top"))
    leg = (top_y - th) / 2
    for sx in (-1, 1):
        for sz in (-1, 1):
            xz = c + np.array([sx * (tw / 2 - 0.06), sz * (td / 2 - 0.06)])
            prims.append(box((xz[0], leg, xz[1]), (0.025, leg, 0.025), top, name="table_leg"))


def _object_material(rng) -> Material:
    if rng.random() < 0.65:
        return _photo(rng)
    tex = str(rng.choice(["wood", "fabric", "plaster", "tiles", "brick"]))
    return Material(
        tex, _tint(rng, (0.8, 0.6, 0.5), 0.5), rng.uniform(0.05, 0.2), specular=rng.uniform(0, 0.6)
    )


def _table_object(rng, xz: np.ndarray, top_y: float, prims: list[Primitive]) -> float | None:
    """One static object standing on the table at ``xz``; returns its footprint radius."""
    what = str(rng.choice(["box", "box", "ball", "stack", "card", "can"]))
    if what == "box":
        half = rng.uniform([0.02, 0.02, 0.02], [0.12, 0.15, 0.12])
        prims.append(
            box((xz[0], top_y + half[1], xz[1]), half, _object_material(rng), yaw(rng.uniform(0, 6.3)), "box")
        )
        return float(np.hypot(half[0], half[2]))
    if what == "ball":
        r = rng.uniform(0.02, 0.1)
        prims.append(sphere((xz[0], top_y + r, xz[1]), r, _photo(rng), _random_rotation(rng), "ball"))
        return r
    if what == "stack":
        y, half = top_y, rng.uniform([0.05, 0.02, 0.05], [0.12, 0.06, 0.12])
        r0 = float(np.hypot(half[0], half[2]))
        for _ in range(int(rng.integers(2, 4))):
            prims.append(
                box(
                    (xz[0], y + half[1], xz[1]),
                    half,
                    _object_material(rng),
                    yaw(rng.uniform(0, 6.3)),
                    "stack",
                )
            )
            y += 2 * half[1]
            half = half * np.array([rng.uniform(0.6, 0.95), rng.uniform(0.7, 1.3), rng.uniform(0.6, 0.95)])
        return r0
    if what == "card":  # thin upright picture card, leaning back a little
        hx, hy, hz = rng.uniform(0.04, 0.12), rng.uniform(0.05, 0.15), 0.002
        tilt = rng.uniform(0.0, 0.25)
        rot = yaw(rng.uniform(0, 6.3)) @ np.array(
            [[1, 0, 0], [0, math.cos(tilt), -math.sin(tilt)], [0, math.sin(tilt), math.cos(tilt)]]
        )
        y = top_y + hy * math.cos(tilt) + hz * math.sin(tilt)
        prims.append(box((xz[0], y, xz[1]), (hx, hy, hz), _photo(rng), rot, "card"))
        return float(math.hypot(hx, hy * math.sin(tilt) + hz))
    r, h = rng.uniform(0.025, 0.06), rng.uniform(0.05, 0.2)
    mat = (
        _photo(rng)
        if rng.random() < 0.5
        else Material("plaster", _tint(rng, (0.7, 0.6, 0.5), 0.5), 0.0, 0.6, 60)
    )
    mesh = cylinder_mesh(r, h)
    prims.append(
        Primitive(
            "mesh", (), make_pose(yaw(rng.uniform(0, 6.3)), (xz[0], top_y, xz[1])), mat, mesh=mesh, name="can"
        )
    )
    return r


def _table_camera(rng, times, room, poi: np.ndarray, top_y: float):
    """Close orbit, dolly in/out, small pan or tripod around the point of interest ``poi``."""
    kind, shake, fast = _pick_motion(rng)
    w, d = room
    toward = rng.uniform(-0.6, 0.6)  # heading of the view (radians about y), roughly towards +z
    view = np.array([math.sin(toward), 0.0, math.cos(toward)])
    dist = rng.uniform(0.3, 1.3)
    eye_h = top_y + rng.uniform(0.1, 0.6)
    pace = 2.0 if fast else 1.0

    def clamp(e):
        e = e.copy()
        e[:, 0] = np.clip(e[:, 0], -w / 2 + 0.3, w / 2 - 0.3)
        e[:, 2] = np.clip(e[:, 2], -d / 2 + 0.3, d / 2 - 0.3)
        return e

    kw = dict(height=eye_h, clamp=clamp, look_height=float(poi[1]), min_dist=0.3, pitch_range=(-60.0, 20.0))
    if kind in ("dolly", "tracking"):  # dolly in or out along the view, always looking at the objects
        sign = 1.0 if rng.random() < 0.5 else -1.0
        length = max(0.05, min(0.8, 2 * (dist - 0.25)))
        c2w, traj = _camera(
            rng,
            times,
            "tracking",
            shake,
            fast,
            center=poi - view * dist,
            radius=0.3,
            speed=rng.uniform(0.05, 0.2) * pace,
            max_length=length,
            heading=toward if sign > 0 else toward + math.pi,
            look_ahead=sign * dist,
            **kw,
        )
        traj.update(kind="dolly", dolly="in" if sign > 0 else "out")
    elif kind == "pan":
        c2w, traj = _camera(
            rng,
            times,
            "pan",
            shake,
            fast,
            center=poi - view * dist,
            radius=0.2,
            speed=rng.uniform(0.05, 0.2) * (2.5 if fast else 1),
            pan_heading=toward,
            **kw,
        )
    else:  # close orbit or tripod, looking at the objects
        c2w, traj = _camera(
            rng,
            times,
            kind,
            shake,
            fast,
            center=poi,
            radius=dist / 0.7,
            speed=rng.uniform(0.05, 0.25) * pace,
            **kw,
        )
    traj["subject_distance"] = float(dist)
    return c2w, traj, kind


def tabletop_scene(rng: np.random.Generator, times: np.ndarray):
    w, d, h = rng.uniform(3.5, 8), rng.uniform(3.5, 8), rng.uniform(2.4, 3.2)
    prims: list[Primitive] = []
    walls = _room_shell(rng, w, d, h, prims)
    tw, td, top_y = rng.uniform(1.0, 2.2), rng.uniform(0.7, 1.4), rng.uniform(0.7, 0.8)
    against = rng.random() < 0.4  # table against the far (+z) wall
    tz = d / 2 - td / 2 - rng.uniform(0.05, 0.8) if against else rng.uniform(-0.5, 0.5)
    tc = np.array([rng.uniform(-w / 2 + tw / 2 + 0.6, w / 2 - tw / 2 - 0.6), tz])
    _table(rng, tc, tw, td, top_y, prims)
    poi = np.array(
        [
            tc[0] + rng.uniform(-tw / 4, tw / 4),
            top_y + rng.uniform(0.03, 0.12),
            tc[1] + rng.uniform(-td / 4, td / 4),
        ]
    )
    c2w, traj, kind = _table_camera(rng, times, (w, d), poi, top_y)
    placer = Placer(c2w[:, [0, 2], 3], clearance=0.15)
    lo, hi = tc - np.array([tw, td]) / 2 + 0.05, tc + np.array([tw, td]) / 2 - 0.05
    placed = 0
    for _ in range(int(rng.integers(5, 13))):
        xz = rng.uniform(lo, hi)
        probe = rng.uniform(0.03, 0.17)  # footprint drawn up front so rejected draws cost the same
        if not placer.free(xz, probe):
            continue
        r = _table_object(rng, xz, top_y, prims)
        placer.add(xz, max(r, probe))
        placed += 1
    movers = _add_movers(
        rng,
        prims,
        placer,
        times,
        int(rng.integers(1, 3)) + _extra_movers(kind),
        lo,
        hi,
        top_y,
        (0.03, 0.15),
        scale=0.2,
    )
    _wall_decor(rng, walls, h, placer, prims)
    lamp = (tc[0] + rng.uniform(-0.5, 0.5), h - rng.uniform(0.2, 0.6), tc[1] + rng.uniform(-0.5, 0.5))
    col = _tint(rng, (1.0, 0.9, 0.75) if rng.random() < 0.6 else (0.85, 0.9, 1.0), 0.05)
    power = rng.uniform(2.0, 4.0)
    lights = [
        Light("point", lamp, tuple(c * power for c in col), cast_shadow=True, range=rng.uniform(2.0, 4.0))
    ]
    if rng.random() < 0.7:
        fill = (rng.uniform(-w / 2 + 0.5, w / 2 - 0.5), h - 0.3, rng.uniform(-d / 2 + 0.5, d / 2 - 0.5))
        lights.append(
            Light(
                "point",
                fill,
                tuple(c * rng.uniform(0.8, 1.8) for c in _tint(rng, (1, 0.95, 0.9), 0.1)),
                range=max(w, d) * 0.5,
            )
        )
    scene = Scene(
        "tabletop",
        prims,
        lights,
        _indoor_env(rng),
        ((-w / 2, 0, -d / 2), (w / 2, h, d / 2)),
        max_depth=20.0,
        info={"size": [w, d, h], "table": [tw, td, top_y], "objects": placed, "movers": movers},
    )
    return scene, c2w, traj
