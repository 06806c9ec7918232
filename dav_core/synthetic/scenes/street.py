"""Street scenes: a road between building rows with street furniture and parked and moving cars."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Material, Motion, yaw
from .environments import outdoor_env
from .looks import photo, tint
from .nature import foliage, trunk
from .placement import Placer, moving_path
from .shapes import box, floor_quad, sphere, wall_quad
from .shots import box_clamp, heading_along_x, pick_move, travel_speed
from .stage import Built, Stage

LENGTH = 140.0  # of the road, m


def _road(rng, stage: Stage, rw: float, sw: float) -> None:
    """Asphalt road of width ``rw`` with raised sidewalks of width ``sw`` on both sides and ground around."""
    asphalt = Material("asphalt", tint(rng, (1, 1, 1), 0.15), rng.uniform(3, 6))
    stage.add(floor_quad((0, 0, 0), LENGTH, rw, asphalt, name="road"))
    side_mat = Material(
        str(rng.choice(["tiles", "gravel", "brick"])),
        tint(rng, (0.8, 0.78, 0.75), 0.15),
        rng.uniform(1.0, 2.5),
    )
    for s in (-1, 1):
        stage.add(
            box((0, 0.075, s * (rw / 2 + sw / 2)), (LENGTH / 2, 0.075, sw / 2), side_mat, name="sidewalk")
        )
    ground_mat = Material(str(rng.choice(["grass", "gravel"])), tint(rng, (0.45, 0.55, 0.3), 0.2), 4.0)
    stage.add(floor_quad((0, -0.02, 0), LENGTH + 60, 160, ground_mat, name="ground"))


def _building(rng, stage: Stage, x: float, side: int, front_z: float, facade_tints) -> tuple[float, float]:
    """One building (sometimes with a billboard) whose row starts at ``x``; returns its width and height."""
    bw = rng.uniform(6, 16)
    bd = rng.uniform(8, 16)
    bh = rng.uniform(6, 30)
    setback = rng.uniform(0, 3) if rng.random() < 0.3 else 0.0
    zc = side * (front_z + setback + bd / 2)
    storey = rng.uniform(3.0, 3.6)
    mat = Material(
        str(rng.choice(["facade", "facade", "facade_glass"])),
        facade_tints[int(rng.integers(0, 4))],
        storey,
    )
    stage.add(box((x + bw / 2, bh / 2, zc), (bw / 2 - 0.05, bh / 2, bd / 2), mat, name="building"))
    if rng.random() < 0.3:  # billboard on the facade
        bbw = min(bw * 0.6, rng.uniform(2, 5))
        front = np.array([0, 0, -side], np.float64)
        center = np.array([x + bw / 2, rng.uniform(3, min(8, bh - 1)), zc - side * (bd / 2 + 0.02)])
        stage.add(wall_quad(center, front, bbw, bbw * rng.uniform(0.5, 0.8), photo(rng), name="billboard"))
    return bw, bh


def _buildings(rng, stage: Stage, front_z: float) -> float:
    """Rows of buildings on both sides, fronts ``front_z`` m from the centre line; returns the tallest height."""
    facade_tints = [
        tint(rng, c, 0.15) for c in ((0.95, 0.6, 0.45), (0.85, 0.85, 0.8), (0.7, 0.65, 0.6), (0.9, 0.8, 0.6))
    ]
    max_h = 0.0
    for side in (-1, 1):
        x = -LENGTH / 2
        while x < LENGTH / 2:
            bw, bh = _building(rng, stage, x, side, front_z, facade_tints)
            max_h = max(max_h, bh)
            x += bw + (rng.uniform(0.5, 4) if rng.random() < 0.4 else 0.1)
    return max_h


def _film(rng, stage: Stage, zmax: float) -> bool:
    """Walk or drive along the street (dolly, tracking), orbit, pan or tripod, at eye height or from a
    drone; returns whether it is a drone shot."""
    move = pick_move(rng)
    speed = travel_speed(rng, move, (1.0, 3.0), 4, pan=(0.3, 0.8))
    drone = rng.random() < 0.25
    eye_h = rng.uniform(4, 9) if drone else rng.uniform(1.3, 2.2)
    heading = heading_along_x(rng, 0.15) if move.kind in ("dolly", "tracking") else None
    stage.shoot(
        move,
        clearance=1.0 if not drone else 0.3,
        center=np.array([rng.uniform(-20, 20), 1.5, 0.0]),
        radius=zmax,
        height=eye_h,
        speed=speed,
        clamp=box_clamp(-LENGTH / 2 + 10, LENGTH / 2 - 10, -zmax, zmax),
        max_length=LENGTH * 0.6,
        heading=heading,
        look_height=rng.uniform(1.0, 4.0),
        min_dist=6.0,
        look_ahead=rng.uniform(10, 30),
    )
    stage.traj["drone"] = bool(drone)
    return drone


def _lamp(rng, stage: Stage, x: float, z: float) -> None:
    if not stage.placer.claim((x, z), 0.3):
        return
    ph = rng.uniform(3.5, 5.5)
    metal = Material("plaster", tint(rng, (0.25, 0.25, 0.27), 0.2), 1.0, specular=0.5, shininess=50)
    bulb = Material("plaster", (1.4, 1.35, 1.2), 1.0, specular=0.8)
    stage.add(
        box((x, 0.15 + ph / 2, z), (0.06, ph / 2, 0.06), metal, name="lamp_post"),
        sphere((x, 0.15 + ph + 0.18, z), 0.22, bulb, name="lamp"),
    )


def _tree(rng, stage: Stage, x: float, z: float, r: float) -> None:
    if not stage.placer.claim((x, z), r + 0.2):
        return
    th = rng.uniform(1.8, 3.0)
    stage.add(trunk(rng, (x, 0.15 + th / 2, z), 0.12, th / 2, (0.5, 0.4, 0.3), 0.5))
    stage.add(foliage(rng, (x, 0.15 + th + r * 0.8, z), r, (0.3, 0.5, 0.2)))


def _street_furniture(rng, stage: Stage, rw: float, sw: float) -> None:
    """Lamps, trees, parked cars and bollards along both kerbs."""
    zr = rw / 2
    for _ in range(int(rng.integers(6, 16))):
        s = rng.choice([-1, 1])
        x = rng.uniform(-LENGTH / 2 + 5, LENGTH / 2 - 5)
        what = rng.choice(["lamp", "tree", "car", "car", "bollard"])
        if what == "lamp":
            _lamp(rng, stage, x, s * (zr + 0.4))
        elif what == "tree":
            z = s * (zr + sw * rng.uniform(0.5, 0.8))
            _tree(rng, stage, x, z, rng.uniform(1.0, 2.2))
        elif what == "car":
            z = s * (zr - rng.uniform(1.0, 1.3))
            rot = yaw(math.pi / 2 + rng.normal(0, 0.03))
            _car(rng, stage.prims, stage.placer, np.array([x, z]), rot, None, stage.times)
        elif stage.placer.claim((x, s * (zr + 0.3)), 0.15):
            grey = Material("plaster", tint(rng, (0.6, 0.6, 0.6), 0.4), 1.0)
            stage.add(box((x, 0.15 + 0.45, s * (zr + 0.3)), (0.1, 0.45, 0.1), grey, name="bollard"))


def _traffic(rng, stage: Stage, zr: float) -> None:
    """One to three cars driving along the lanes (right-hand traffic), clear of the camera and the props."""
    n_cars = int(rng.integers(1, 4))
    for _ in range(n_cars * 4):
        if n_cars <= 0:
            break
        lane = rng.choice([-1, 1])
        v = rng.uniform(3, 14) * (1 if lane < 0 else -1)
        z = lane * zr * rng.uniform(0.3, 0.5)
        x = rng.uniform(-LENGTH / 2 + 15, LENGTH / 2 - 15)
        rot = yaw(math.pi / 2 if v > 0 else -math.pi / 2)
        if _car(rng, stage.prims, stage.placer, np.array([x, z]), rot, np.array([v, 0.0, 0.0]), stage.times):
            n_cars -= 1


def street_scene(rng: np.random.Generator, times: np.ndarray) -> Built:
    rw, sw = rng.uniform(6, 12), rng.uniform(2, 4)
    zr = rw / 2
    stage = Stage(rng, times)
    _road(rng, stage, rw, sw)
    max_h = _buildings(rng, stage, zr + sw)
    _film(rng, stage, zr + sw - 0.6)
    _street_furniture(rng, stage, rw, sw)
    _traffic(rng, stage, zr)
    stage.add_movers(
        (0, 3), [-LENGTH / 2 + 10, -zr - sw + 0.3], [LENGTH / 2 - 10, zr + sw - 0.3], 0.15, (0.5, 2.0)
    )
    env, sun = outdoor_env(rng)
    cam_x = stage.c2w[:, 0, 3]
    lo = (float(cam_x.min()) - 70, -1.0, -zr - sw - 20)
    hi = (float(cam_x.max()) + 70, max_h + 1, zr + sw + 20)
    return stage.finish("street", [sun], env, (lo, hi), 200.0, road_width=rw)


def _car(rng, prims, placer: Placer, xz, rot, velocity, times) -> bool:
    length, width = rng.uniform(3.8, 4.8), rng.uniform(1.7, 1.95)
    r = length / 2
    color = tint(
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
        path = moving_path(body, times)
        if not placer.path_free(path, r):
            return False
        placer.add_path(path, r)
    elif not placer.claim(xz, r):
        return False
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
