"""Street scenes: a road between building rows with street furniture and parked and moving cars."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Material, Motion, Primitive, Scene, yaw
from .common import (
    Placer,
    _camera,
    _extra_movers,
    _moving_path,
    _outdoor_env,
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


def street_scene(rng: np.random.Generator, times: np.ndarray):
    L = 140.0
    rw, sw = rng.uniform(6, 12), rng.uniform(2, 4)
    zr = rw / 2
    prims: list[Primitive] = []
    prims.append(
        floor_quad(
            (0, 0, 0), L, rw, Material("asphalt", _tint(rng, (1, 1, 1), 0.15), rng.uniform(3, 6)), name="road"
        )
    )
    side_mat = Material(
        str(rng.choice(["tiles", "gravel", "brick"])),
        _tint(rng, (0.8, 0.78, 0.75), 0.15),
        rng.uniform(1.0, 2.5),
    )
    for s in (-1, 1):
        prims.append(box((0, 0.075, s * (zr + sw / 2)), (L / 2, 0.075, sw / 2), side_mat, name="sidewalk"))
    ground_mat = Material(str(rng.choice(["grass", "gravel"])), _tint(rng, (0.45, 0.55, 0.3), 0.2), 4.0)
    prims.append(floor_quad((0, -0.02, 0), L + 60, 160, ground_mat, name="ground"))
    # buildings on both sides
    facade_tints = [
        _tint(rng, c, 0.15) for c in ((0.95, 0.6, 0.45), (0.85, 0.85, 0.8), (0.7, 0.65, 0.6), (0.9, 0.8, 0.6))
    ]
    max_h = 0.0
    for s in (-1, 1):
        x = -L / 2
        while x < L / 2:
            bw = rng.uniform(6, 16)
            bd = rng.uniform(8, 16)
            bh = rng.uniform(6, 30)
            max_h = max(max_h, bh)
            setback = rng.uniform(0, 3) if rng.random() < 0.3 else 0.0
            zc = s * (zr + sw + setback + bd / 2)
            storey = rng.uniform(3.0, 3.6)
            mat = Material(
                str(rng.choice(["facade", "facade", "facade_glass"])),
                facade_tints[int(rng.integers(0, 4))],
                storey,
            )
            prims.append(box((x + bw / 2, bh / 2, zc), (bw / 2 - 0.05, bh / 2, bd / 2), mat, name="building"))
            if rng.random() < 0.3:  # billboard on the facade
                bbw = min(bw * 0.6, rng.uniform(2, 5))
                front = np.array([0, 0, -s], np.float64)
                center = np.array([x + bw / 2, rng.uniform(3, min(8, bh - 1)), zc - s * (bd / 2 + 0.02)])
                prims.append(
                    wall_quad(center, front, bbw, bbw * rng.uniform(0.5, 0.8), _photo(rng), name="billboard")
                )
            x += bw + (rng.uniform(0.5, 4) if rng.random() < 0.4 else 0.1)

    kind, shake, fast = _pick_motion(rng)
    speed = rng.uniform(1.0, 3.0) * (4 if fast else 1)
    if kind == "pan":
        speed = rng.uniform(0.3, 0.8) * (2.5 if fast else 1)
    drone = rng.random() < 0.25
    eye_h = rng.uniform(4, 9) if drone else rng.uniform(1.3, 2.2)
    zmax = zr + sw - 0.6

    def clamp(e):
        e = e.copy()
        e[:, 0] = np.clip(e[:, 0], -L / 2 + 10, L / 2 - 10)
        e[:, 2] = np.clip(e[:, 2], -zmax, zmax)
        return e

    heading = (
        (math.pi / 2 if rng.random() < 0.5 else -math.pi / 2) + rng.normal(0, 0.15)
        if kind in ("dolly", "tracking")
        else None
    )
    c2w, traj = _camera(
        rng,
        times,
        kind,
        shake,
        fast,
        center=np.array([rng.uniform(-20, 20), 1.5, 0.0]),
        radius=zmax,
        height=eye_h,
        speed=speed,
        clamp=clamp,
        max_length=L * 0.6,
        heading=heading,
        look_height=rng.uniform(1.0, 4.0),
        min_dist=6.0,
        look_ahead=rng.uniform(10, 30),
    )
    traj["drone"] = bool(drone)
    placer = Placer(c2w[:, [0, 2], 3], clearance=1.0 if not drone else 0.3)
    # street furniture: lamps, trees, parked cars, bollards
    for _ in range(int(rng.integers(6, 16))):
        s = rng.choice([-1, 1])
        x = rng.uniform(-L / 2 + 5, L / 2 - 5)
        what = rng.choice(["lamp", "tree", "car", "car", "bollard"])
        if what == "lamp":
            z = s * (zr + 0.4)
            if placer.free((x, z), 0.3):
                placer.add((x, z), 0.3)
                ph = rng.uniform(3.5, 5.5)
                metal = Material(
                    "plaster", _tint(rng, (0.25, 0.25, 0.27), 0.2), 1.0, specular=0.5, shininess=50
                )
                prims.append(box((x, 0.15 + ph / 2, z), (0.06, ph / 2, 0.06), metal, name="lamp_post"))
                prims.append(
                    sphere(
                        (x, 0.15 + ph + 0.18, z),
                        0.22,
                        Material("plaster", (1.4, 1.35, 1.2), 1.0, specular=0.8),
                        name="lamp",
                    )
                )
        elif what == "tree":
            z = s * (zr + sw * rng.uniform(0.5, 0.8))
            r = rng.uniform(1.0, 2.2)
            if placer.free((x, z), r + 0.2):
                placer.add((x, z), r + 0.2)
                th = rng.uniform(1.8, 3.0)
                prims.append(
                    box(
                        (x, 0.15 + th / 2, z),
                        (0.12, th / 2, 0.12),
                        Material("wood", _tint(rng, (0.5, 0.4, 0.3), 0.2), 0.5),
                        name="trunk",
                    )
                )
                prims.append(
                    sphere(
                        (x, 0.15 + th + r * 0.8, z),
                        r,
                        Material("grass", _tint(rng, (0.3, 0.5, 0.2), 0.2), 0.0),
                        rot=_random_rotation(rng),
                        name="canopy",
                    )
                )
        elif what == "car":
            z = s * (zr - rng.uniform(1.0, 1.3))
            _car(rng, prims, placer, np.array([x, z]), yaw(math.pi / 2 + rng.normal(0, 0.03)), None, times)
        else:
            z = s * (zr + 0.3)
            if placer.free((x, z), 0.15):
                placer.add((x, z), 0.15)
                prims.append(
                    box(
                        (x, 0.15 + 0.45, z),
                        (0.1, 0.45, 0.1),
                        Material("plaster", _tint(rng, (0.6, 0.6, 0.6), 0.4), 1.0),
                        name="bollard",
                    )
                )
    # moving cars along the lanes, plus some balls/crates on the sidewalks
    n_cars = int(rng.integers(1, 4))
    for _ in range(n_cars * 4):
        if n_cars <= 0:
            break
        lane = rng.choice([-1, 1])
        v = rng.uniform(3, 14) * (1 if lane < 0 else -1)
        z = lane * zr * rng.uniform(0.3, 0.5)
        x = rng.uniform(-L / 2 + 15, L / 2 - 15)
        if _car(
            rng,
            prims,
            placer,
            np.array([x, z]),
            yaw(math.pi / 2 if v > 0 else -math.pi / 2),
            np.array([v, 0.0, 0.0]),
            times,
        ):
            n_cars -= 1
    movers = _add_movers(
        rng,
        prims,
        placer,
        times,
        int(rng.integers(0, 3)) + _extra_movers(kind),
        [-L / 2 + 10, -zr - sw + 0.3],
        [L / 2 - 10, zr + sw - 0.3],
        0.15,
        (0.5, 2.0),
    )
    env, sun = _outdoor_env(rng)
    cam_x = c2w[:, 0, 3]
    lo = (float(cam_x.min()) - 70, -1.0, -zr - sw - 20)
    hi = (float(cam_x.max()) + 70, max_h + 1, zr + sw + 20)
    scene = Scene(
        "street", prims, [sun], env, (lo, hi), max_depth=200.0, info={"road_width": rw, "movers": movers}
    )
    return scene, c2w, traj


def _car(rng, prims, placer: Placer, xz, rot, velocity, times) -> bool:
    length, width = rng.uniform(3.8, 4.8), rng.uniform(1.7, 1.95)
    r = length / 2
    color = _tint(
        rng,
        [(0.6, 0.05, 0.05), (0.05, 0.1, 0.4), (0.7, 0.7, 0.72), (0.08, 0.08, 0.08), (0.9, 0.9, 0.88)][
            int(rng.integers(0, 5))
        ],
        0.2,
    )
    paint = Material("plaster", color, 1.0, specular=0.9, shininess=80)
    glass = Material("facade_glass", (0.6, 0.65, 0.75), 0.0, specular=1.0, shininess=120)
    motion = Motion(velocity=tuple(velocity)) if velocity is not None else None
    body_c = np.array([xz[0], 0.35 + 0.32, xz[1]])
    body = box(
        body_c, (length / 2, 0.32, width / 2), paint, rot=rot @ yaw(math.pi / 2), motion=motion, name="car"
    )
    if motion is not None:
        path = _moving_path(body, times)
        if not placer.path_free(path, r):
            return False
        for p in path[:: max(1, len(path) // 8)]:
            placer.add(p, r)
    else:
        if not placer.free(xz, r):
            return False
        placer.add(xz, r)
    prims.append(body)
    cab_off = rot @ yaw(math.pi / 2) @ np.array([-length * 0.05, 0.0, 0.0])
    prims.append(
        box(
            body_c + cab_off + np.array([0, 0.32 + 0.27, 0]),
            (length * 0.28, 0.27, width / 2 - 0.08),
            glass,
            rot=rot @ yaw(math.pi / 2),
            motion=motion,
            name="car_cabin",
        )
    )
    for sx in (-1, 1):
        for sz in (-1, 1):
            off = rot @ yaw(math.pi / 2) @ np.array([sx * length * 0.32, 0.0, sz * (width / 2 - 0.02)])
            prims.append(
                box(
                    body_c + off + np.array([0, -0.32, 0]),
                    (0.33, 0.33, 0.11),
                    Material("asphalt", (0.4, 0.4, 0.4), 0.0),
                    rot=rot @ yaw(math.pi / 2),
                    motion=motion,
                    name="wheel",
                )
            )
    return True
