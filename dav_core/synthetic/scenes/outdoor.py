"""Outdoor walks: near posts, fences, signs, rocks and tree trunks passing 0.35-2 m from the camera in front
of a far background (buildings and boxes at 20-80 m, hills at 80-160 m) and the sky.

Depth spans ~0.3 m to well beyond 20 m in one frame; the sky is invalid.
"""

from __future__ import annotations

import math

import numpy as np

from ..scene import Material, Primitive, yaw
from .environments import outdoor_env
from .looks import photo, tint
from .nature import foliage, rock_material, trunk
from .placement import Placer
from .shapes import box, floor_quad, random_rotation, sphere, tumbled_sphere
from .shots import heading_along_x, pick_move, travel_speed
from .stage import Built, Stage

MAX_DEPTH = 200.0


def _ground(rng, prims: list[Primitive]) -> None:
    tex = str(rng.choice(["grass", "grass", "gravel"]))
    prims.append(
        floor_quad((0, 0, 0), 400, 400, Material(tex, tint(rng, (0.5, 0.6, 0.35), 0.2), 3.0), name="ground")
    )
    if rng.random() < 0.7:  # a path along x
        mat = Material(
            str(rng.choice(["asphalt", "gravel", "tiles"])), tint(rng, (0.9, 0.88, 0.85), 0.15), 2.0
        )
        prims.append(
            floor_quad((0, 0.004, rng.uniform(-1.5, 1.5)), 300, rng.uniform(1.5, 4.0), mat, name="path")
        )


def _walk(rng, stage: Stage) -> None:
    """Walk, track, orbit, pan or tripod, at eye height or low to the ground."""
    move = pick_move(rng)
    low = rng.random() < 0.2
    eye_h = rng.uniform(0.5, 0.9) if low else rng.uniform(1.3, 1.9)
    speed = travel_speed(rng, move, (0.8, 1.8), 3, pan=(0.3, 0.9))
    heading = heading_along_x(rng, 0.1)
    stage.shoot(
        move,
        clearance=0.3,
        center=np.array([0.0, eye_h, 0.0]),
        radius=rng.uniform(3, 8),
        height=eye_h,
        speed=speed,
        max_length=24.0,
        heading=heading if move.kind != "orbit" else None,
        look_height=rng.uniform(0.5, 2.0),
        min_dist=3.0,
        pitch_range=(-25.0, 12.0),
        look_ahead=rng.uniform(12, 25),
    )
    stage.traj["low"] = bool(low)


def _segment_free(placer: Placer, a: np.ndarray, b: np.ndarray, r: float) -> bool:
    return all(placer.free(a + (b - a) * s, r) for s in np.linspace(0, 1, 6))


def _post(rng, xz, prims, name="post") -> None:
    h = rng.uniform(1.0, 3.5)
    half = (rng.uniform(0.04, 0.08), h / 2, rng.uniform(0.04, 0.08))
    mat = Material(str(rng.choice(["wood", "plaster", "brick"])), tint(rng, (0.6, 0.5, 0.4), 0.35), 0.5)
    prims.append(box((xz[0], h / 2, xz[1]), half, mat, yaw(rng.uniform(0, 6.3)), name))


def _fence(rng, placer: Placer, base, along, prims) -> int:
    """A run of fence posts along ``along`` from ``base`` with rails between neighbouring posts."""
    spacing, rail_mat = rng.uniform(1.5, 2.5), Material("wood", tint(rng, (0.6, 0.45, 0.3), 0.3), 0.6)
    prev = None
    count = 0
    for k in range(int(rng.integers(3, 9))):
        xz = base + along * spacing * k
        if not placer.free(xz, 0.08):
            prev = None
            continue
        placer.add(xz, 0.08)
        prims.append(
            box(
                (xz[0], 0.6, xz[1]),
                (0.05, 0.6, 0.05),
                rail_mat,
                yaw(math.atan2(along[0], along[1])),
                "fence_post",
            )
        )
        count += 1
        if prev is not None and _segment_free(placer, prev, xz, 0.03):
            mid = (prev + xz) / 2
            rot = yaw(math.atan2(along[0], along[1]))
            for y in (0.45, 0.95):
                prims.append(box((mid[0], y, mid[1]), (0.02, 0.04, spacing / 2), rail_mat, rot, "fence_rail"))
        prev = xz
    return count


def _near_object(rng, placer: Placer, xz, prims, eye_top: float) -> bool:
    """Post, pole, sign, rock, crate or tree trunk at ``xz`` if it keeps clear of the camera path."""
    what = str(rng.choice(["post", "pole", "sign", "rock", "crate", "trunk", "trunk"]))
    r = {"post": 0.1, "pole": 0.1, "sign": 0.45, "rock": 0.55, "crate": 0.6, "trunk": 0.3}[what]
    if not placer.claim(xz, r):
        return False
    if what == "post":
        _post(rng, xz, prims)
    elif what == "pole":
        h = rng.uniform(3.0, 7.0)
        metal = Material("plaster", tint(rng, (0.3, 0.3, 0.32), 0.2), 1.0, specular=0.5, shininess=50)
        prims.append(box((xz[0], h / 2, xz[1]), (0.05, h / 2, 0.05), metal, name="pole"))
    elif what == "sign":
        _post(rng, xz, prims, "sign_post")
        bw, bh = rng.uniform(0.25, 0.4), rng.uniform(0.2, 0.35)
        rot = yaw(rng.uniform(0, 6.3))
        prims.append(box((xz[0], rng.uniform(1.8, 2.4), xz[1]), (bw, bh, 0.015), photo(rng), rot, "sign"))
    elif what == "rock":
        rr = rng.uniform(0.2, 0.5)
        prims.append(tumbled_sphere(rng, (xz[0], rr * 0.5, xz[1]), rr, rock_material(rng), "rock"))
    elif what == "crate":
        half = rng.uniform(0.15, 0.4, 3)
        mat = photo(rng) if rng.random() < 0.4 else Material("wood", tint(rng, (1, 1, 1), 0.2), 0.5)
        prims.append(box((xz[0], half[1], xz[1]), half, mat, yaw(rng.uniform(0, 6.3)), "crate"))
    else:
        th, hw, cr = rng.uniform(3.2, 7.0), rng.uniform(0.1, 0.25), rng.uniform(1.0, 2.5)
        prims.append(trunk(rng, (xz[0], th / 2, xz[1]), hw, th / 2))
        if th - 0.2 * cr > eye_top + 0.6:  # canopy well above the camera
            prims.append(foliage(rng, (xz[0], th + 0.8 * cr, xz[1]), cr))
    return True


def _near_layer(rng, c2w: np.ndarray, placer: Placer, prims, eye_top: float) -> int:
    """Objects right next to / in front of the camera path (0.35-4 m), and sometimes a fence along it."""
    placed = 0
    T = len(c2w)
    for _ in range(int(rng.integers(4, 11))):
        i = int(rng.integers(0, T))
        fwd = c2w[i, [0, 2], 2] / max(np.linalg.norm(c2w[i, [0, 2], 2]), 1e-9)
        side = np.array([fwd[1], -fwd[0]])
        xz = c2w[i, [0, 2], 3] + fwd * rng.uniform(0.5, 4.0) + side * rng.uniform(-2.0, 2.0)
        placed += _near_object(rng, placer, xz, prims, eye_top)
    if rng.random() < 0.5:
        i = int(rng.integers(0, T))
        fwd = c2w[i, [0, 2], 2] / max(np.linalg.norm(c2w[i, [0, 2], 2]), 1e-9)
        side = np.array([fwd[1], -fwd[0]]) * rng.choice([-1, 1])
        base = c2w[i, [0, 2], 3] + side * rng.uniform(0.6, 2.0) - fwd * rng.uniform(0, 4)
        placed += _fence(rng, placer, base, fwd, prims)
    return placed


def _mid_layer(rng, placer: Placer, lo, hi, prims, eye_top: float) -> None:
    """Trees, poles, rocks and crates scattered 2-20 m around."""
    for _ in range(int(rng.integers(10, 25))):
        _near_object(rng, placer, rng.uniform(lo, hi), prims, eye_top)


def _far_layer(rng, placer: Placer, centre, prims) -> float:
    """Buildings and big boxes at 20-80 m and hills at 80-160 m; returns the tallest height."""
    tints = [tint(rng, c, 0.15) for c in ((0.95, 0.6, 0.45), (0.85, 0.85, 0.8), (0.7, 0.65, 0.6))]
    top = 0.0
    for _ in range(int(rng.integers(3, 11))):
        ang, dist = rng.uniform(0, 2 * np.pi), rng.uniform(20, 80)
        xz = centre + dist * np.array([math.sin(ang), math.cos(ang)])
        bw, bd, bh = rng.uniform(4, 20), rng.uniform(4, 20), rng.uniform(3, 30)
        if not placer.claim(xz, math.hypot(bw, bd) / 2, gap=1.0):
            continue
        top = max(top, bh)
        if bh > 6 or rng.random() < 0.5:
            mat = Material(
                str(rng.choice(["facade", "facade", "facade_glass"])),
                tints[int(rng.integers(0, 3))],
                rng.uniform(3.0, 3.6),
            )
        else:  # warehouse, container
            mat = Material(
                str(rng.choice(["brick", "plaster", "tiles"])), tint(rng, (0.8, 0.7, 0.6), 0.3), 2.0
            )
        prims.append(
            box((xz[0], bh / 2, xz[1]), (bw / 2, bh / 2, bd / 2), mat, yaw(rng.uniform(0, 6.3)), "building")
        )
    for _ in range(int(rng.integers(2, 6))):
        ang, dist, rr = rng.uniform(0, 2 * np.pi), rng.uniform(80, 160), rng.uniform(30, 70)
        xz = centre + (dist + rr) * np.array([math.sin(ang), math.cos(ang)])
        mat = Material(str(rng.choice(["grass", "gravel"])), tint(rng, (0.35, 0.5, 0.25), 0.25), 6.0)
        prims.append(
            sphere((xz[0], -rr * rng.uniform(0.55, 0.85), xz[1]), rr, mat, random_rotation(rng), "hill")
        )
    return top


def outdoor_scene(rng: np.random.Generator, times: np.ndarray) -> Built:
    stage = Stage(rng, times)
    _ground(rng, stage.prims)
    _walk(rng, stage)
    eye_top = float(stage.c2w[:, 1, 3].max())
    cam = stage.c2w[:, [0, 2], 3]
    near = _near_layer(rng, stage.c2w, stage.placer, stage.prims, eye_top)
    lo, hi = cam.min(0) - 20, cam.max(0) + 20
    _mid_layer(rng, stage.placer, lo, hi, stage.prims, eye_top)
    top = _far_layer(rng, stage.placer, cam.mean(0), stage.prims)
    stage.add_movers((1, 4), cam.min(0) - 15, cam.max(0) + 15, 0.0, (0.5, 3.0), flying=True)
    env, sun = outdoor_env(rng)
    bounds = (
        (float(lo[0]) - 40, -1.0, float(lo[1]) - 40),
        (float(hi[0]) + 40, max(top, 8.0) + 1, float(hi[1]) + 40),
    )
    return stage.finish("outdoor", [sun], env, bounds, MAX_DEPTH, near_objects=near)
