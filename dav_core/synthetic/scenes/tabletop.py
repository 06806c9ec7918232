"""Table-top scenes: close-ups of objects on a table (boxes, stacks, balls, cans, picture cards) in a room.

The camera stays 0.25-1.5 m from the objects (close orbit, dolly in/out, small pan or tripod); the room's
walls stand 1.5-6 m behind, so depth spans ~0.2 m to a few metres. Small objects slide, roll and spin on
the table.
"""

from __future__ import annotations

import math

import numpy as np

from ..scene import Material, Mesh, Primitive, make_pose, yaw
from .environments import indoor_env
from .interior import along_wall, ceiling, ceiling_lamp, fill_light, framed_picture, room_walls, wall_cabinets
from .looks import photo, tint
from .shapes import UP, box, floor_quad, random_rotation, sphere, wall_quad
from .shots import box_clamp, pick_move
from .stage import Built, Stage

CLEARANCE = 0.15  # closest a prop comes to the camera path


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


def _room_shell(rng, stage: Stage, w: float, d: float, h: float) -> list:
    """Floor, ceiling and four walls; returns the walls as (centre, inward normal, length)."""
    floor_tex = str(rng.choice(["wood", "tiles", "fabric", "gravel"]))
    stage.add(
        floor_quad((0, 0, 0), w, d, Material(floor_tex, tint(rng, (1, 1, 1), 0.25), 1.5)),
        ceiling(rng, w, d, h),
    )
    wall_tex = str(rng.choice(["plaster", "plaster", "brick", "fabric", "tiles", "wood"]))
    wall_mat = Material(wall_tex, tint(rng, (0.95, 0.9, 0.85), 0.2), rng.uniform(0.8, 1.6))
    walls = room_walls(w, d, h)
    for c, n, length in walls:
        stage.add(wall_quad(c, n, length, h, wall_mat))
    return walls


def _wall_decor(rng, stage: Stage, walls, h: float) -> None:
    """Framed pictures and cabinets/shelves along the walls (the background)."""
    for _ in range(int(rng.integers(2, 6))):
        wall = walls[int(rng.integers(0, 4))]
        pw = rng.uniform(0.4, min(1.4, wall[2] / 3))
        pos = along_wall(rng, wall, pw) + UP * (rng.uniform(1.2, 1.8) - h / 2)
        framed_picture(rng, pos, wall[1], pw, pw * rng.uniform(0.6, 1.3), stage.prims)
    cabinet_sizes = ((0.5, 1.4), (0.3, 0.5), (0.6, 2.0))
    wall_cabinets(rng, stage, walls, cabinet_sizes, ["wood", "plaster", "facade_glass"], 0.7)


def _table(rng, c: np.ndarray, tw: float, td: float, top_y: float) -> list[Primitive]:
    """Table top (its upper surface at ``top_y``) on four legs."""
    mat = str(rng.choice(["wood", "wood", "tiles", "fabric", "plaster"]))
    top = Material(mat, tint(rng, (1, 1, 1), 0.25), rng.uniform(0.4, 1.0), specular=0.2, shininess=30)
    th = rng.uniform(0.02, 0.05)
    parts = [box((c[0], top_y - th / 2, c[1]), (tw / 2, th / 2, td / 2), top, name="table_top")]
    leg = (top_y - th) / 2
    for sx in (-1, 1):
        for sz in (-1, 1):
            xz = c + np.array([sx * (tw / 2 - 0.06), sz * (td / 2 - 0.06)])
            parts.append(box((xz[0], leg, xz[1]), (0.025, leg, 0.025), top, name="table_leg"))
    return parts


def _object_material(rng) -> Material:
    if rng.random() < 0.65:
        return photo(rng)
    tex = str(rng.choice(["wood", "fabric", "plaster", "tiles", "brick"]))
    return Material(
        tex, tint(rng, (0.8, 0.6, 0.5), 0.5), rng.uniform(0.05, 0.2), specular=rng.uniform(0, 0.6)
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
        prims.append(sphere((xz[0], top_y + r, xz[1]), r, photo(rng), random_rotation(rng), "ball"))
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
        prims.append(box((xz[0], y, xz[1]), (hx, hy, hz), photo(rng), rot, "card"))
        return float(math.hypot(hx, hy * math.sin(tilt) + hz))
    r, h = rng.uniform(0.025, 0.06), rng.uniform(0.05, 0.2)
    mat = (
        photo(rng)
        if rng.random() < 0.5
        else Material("plaster", tint(rng, (0.7, 0.6, 0.5), 0.5), 0.0, 0.6, 60)
    )
    mesh = cylinder_mesh(r, h)
    prims.append(
        Primitive(
            "mesh", (), make_pose(yaw(rng.uniform(0, 6.3)), (xz[0], top_y, xz[1])), mat, mesh=mesh, name="can"
        )
    )
    return r


def _film(rng, stage: Stage, room, poi: np.ndarray, top_y: float) -> None:
    """Close orbit, dolly in/out, small pan or tripod around the point of interest ``poi``."""
    move = pick_move(rng)
    w, d = room
    toward = rng.uniform(-0.6, 0.6)  # heading of the view (radians about y), roughly towards +z
    view = np.array([math.sin(toward), 0.0, math.cos(toward)])
    dist = rng.uniform(0.3, 1.3)
    eye_h = top_y + rng.uniform(0.1, 0.6)
    pace = 2.0 if move.fast else 1.0
    kw = dict(
        height=eye_h,
        clamp=box_clamp(-w / 2 + 0.3, w / 2 - 0.3, -d / 2 + 0.3, d / 2 - 0.3),
        look_height=float(poi[1]),
        min_dist=0.3,
        pitch_range=(-60.0, 20.0),
    )
    if move.kind in ("dolly", "tracking"):  # dolly in or out along the view, always looking at the objects
        sign = 1.0 if rng.random() < 0.5 else -1.0
        stage.shoot(
            move,
            CLEARANCE,
            "tracking",
            center=poi - view * dist,
            radius=0.3,
            speed=rng.uniform(0.05, 0.2) * pace,
            max_length=max(0.05, min(0.8, 2 * (dist - 0.25))),
            heading=toward if sign > 0 else toward + math.pi,
            look_ahead=sign * dist,
            **kw,
        )
        stage.traj.update(kind="dolly", dolly="in" if sign > 0 else "out")
    elif move.kind == "pan":
        speed = rng.uniform(0.05, 0.2) * (2.5 if move.fast else 1)
        stage.shoot(
            move, CLEARANCE, center=poi - view * dist, radius=0.2, speed=speed, pan_heading=toward, **kw
        )
    else:  # close orbit or tripod, looking at the objects
        speed = rng.uniform(0.05, 0.25) * pace
        stage.shoot(move, CLEARANCE, center=poi, radius=dist / 0.7, speed=speed, **kw)
    stage.traj["subject_distance"] = float(dist)


def _objects_on_table(rng, stage: Stage, lo: np.ndarray, hi: np.ndarray, top_y: float) -> int:
    """Five to twelve tries at a static object on the table; returns how many stand there."""
    placed = 0
    for _ in range(int(rng.integers(5, 13))):
        xz = rng.uniform(lo, hi)
        probe = rng.uniform(0.03, 0.17)  # footprint drawn up front so rejected draws cost the same
        if not stage.placer.free(xz, probe):
            continue
        r = _table_object(rng, xz, top_y, stage.prims)
        stage.placer.add(xz, max(r, probe))
        placed += 1
    return placed


def tabletop_scene(rng: np.random.Generator, times: np.ndarray) -> Built:
    w, d, h = rng.uniform(3.5, 8), rng.uniform(3.5, 8), rng.uniform(2.4, 3.2)
    stage = Stage(rng, times)
    walls = _room_shell(rng, stage, w, d, h)
    tw, td, top_y = rng.uniform(1.0, 2.2), rng.uniform(0.7, 1.4), rng.uniform(0.7, 0.8)
    against = rng.random() < 0.4  # table against the far (+z) wall
    tz = d / 2 - td / 2 - rng.uniform(0.05, 0.8) if against else rng.uniform(-0.5, 0.5)
    tc = np.array([rng.uniform(-w / 2 + tw / 2 + 0.6, w / 2 - tw / 2 - 0.6), tz])
    stage.add(*_table(rng, tc, tw, td, top_y))
    poi = np.array(
        [
            tc[0] + rng.uniform(-tw / 4, tw / 4),
            top_y + rng.uniform(0.03, 0.12),
            tc[1] + rng.uniform(-td / 4, td / 4),
        ]
    )
    _film(rng, stage, (w, d), poi, top_y)
    lo, hi = tc - np.array([tw, td]) / 2 + 0.05, tc + np.array([tw, td]) / 2 - 0.05
    placed = _objects_on_table(rng, stage, lo, hi, top_y)
    stage.add_movers((1, 3), lo, hi, top_y, (0.03, 0.15), scale=0.2)
    _wall_decor(rng, stage, walls, h)
    lamp = (tc[0] + rng.uniform(-0.5, 0.5), h - rng.uniform(0.2, 0.6), tc[1] + rng.uniform(-0.5, 0.5))
    lights = [ceiling_lamp(rng, lamp, (2.0, 4.0), (2.0, 4.0))]
    if rng.random() < 0.7:
        lights.append(fill_light(rng, w, d, h, 0.5, (0.8, 1.8)))
    bounds = ((-w / 2, 0, -d / 2), (w / 2, h, d / 2))
    return stage.finish(
        "tabletop",
        lights,
        indoor_env(rng),
        bounds,
        20.0,
        size=[w, d, h],
        table=[tw, td, top_y],
        objects=placed,
    )
