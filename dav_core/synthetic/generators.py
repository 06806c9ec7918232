"""Procedural scenes and clips: rooms, indoor corridors, streets and open terrain.

Everything is drawn from one ``numpy.random.Generator`` seeded by the clip seed, so a clip is a pure
function of ``(seed, frames, height, width)``. Order of construction: scene shell -> camera path -> static
props placed away from the camera path -> moving objects whose whole trajectory keeps clear of the camera
and of the static props.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .camera import CameraTrack, apply_shake, intrinsics_from_fov, make_trajectory
from .scene import (
    Environment,
    Light,
    Material,
    Mesh,
    Motion,
    Primitive,
    Scene,
    make_pose,
    quad_pose,
    yaw,
)
from .textures import GREY_PHOTOS, PHOTOS, _value_noise

SCENE_TYPES = ("room", "corridor", "street", "terrain")
FPS_CHOICES = (10, 12, 15, 24, 25, 30)
UP = np.array([0.0, 1.0, 0.0])


@dataclass
class ClipSpec:
    """A scene plus the camera that films it (no pixels yet)."""

    seed: int
    scene: Scene
    track: CameraTrack
    fps: float
    trajectory: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ helpers


def _tint(rng: np.random.Generator, base, spread: float) -> tuple[float, float, float]:
    c = np.asarray(base, np.float64) * np.exp(rng.normal(0, spread, 3))
    return tuple(float(x) for x in np.clip(c, 0.02, 1.6))


def _photo(rng: np.random.Generator) -> Material:
    if rng.random() < 0.75:
        return Material(str(rng.choice(PHOTOS)))
    return Material(str(rng.choice(GREY_PHOTOS)), tint=_tint(rng, (1.0, 0.95, 0.85), 0.1))


def wall_quad(center, inward, width: float, height: float, material: Material, name: str = "") -> Primitive:
    """Vertical quad facing ``inward`` with its picture upright for a viewer in front of it."""
    inward = np.asarray(inward, np.float64)
    right = np.cross(UP, inward)
    return Primitive("quad", (width / 2, height / 2), quad_pose(center, right, -UP), material, name=name)


def floor_quad(center, size_x: float, size_z: float, material: Material, name: str = "") -> Primitive:
    return Primitive(
        "quad", (size_x / 2, size_z / 2), quad_pose(center, (1, 0, 0), (0, 0, 1)), material, name=name
    )


def box(
    center,
    half,
    material: Material,
    rot: np.ndarray | None = None,
    name: str = "",
    motion: Motion | None = None,
) -> Primitive:
    return Primitive(
        "box", tuple(float(h) for h in half), make_pose(rot, center), material, motion=motion, name=name
    )


def sphere(
    center,
    r: float,
    material: Material,
    rot: np.ndarray | None = None,
    name: str = "",
    motion: Motion | None = None,
) -> Primitive:
    return Primitive("sphere", (float(r),), make_pose(rot, center), material, motion=motion, name=name)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


class Placer:
    """2-D (xz) rejection sampler keeping props apart from each other and from the camera path."""

    def __init__(self, cam_xz: np.ndarray, clearance: float):
        self.cam = np.asarray(cam_xz, np.float64)  # [T,2]
        self.clear = clearance
        self.items: list[tuple[np.ndarray, float]] = []

    def free(self, xz, r: float, gap: float = 0.05) -> bool:
        xz = np.asarray(xz, np.float64)
        if np.min(np.linalg.norm(self.cam - xz, axis=1)) < r + self.clear:
            return False
        return all(np.linalg.norm(c - xz) >= r + rr + gap for c, rr in self.items)

    def add(self, xz, r: float) -> None:
        self.items.append((np.asarray(xz, np.float64), float(r)))

    def sample(self, rng: np.random.Generator, lo, hi, r: float, tries: int = 40):
        for _ in range(tries):
            xz = rng.uniform(lo, hi)
            if self.free(xz, r):
                self.add(xz, r)
                return xz
        return None

    def path_free(self, path_xz: np.ndarray, r: float) -> bool:
        """Moving object: clear of the camera at each frame and of all static items at all frames."""
        if np.min(np.linalg.norm(self.cam - path_xz, axis=1)) < r + self.clear:
            return False
        for c, rr in self.items:
            if np.min(np.linalg.norm(path_xz - c, axis=1)) < r + rr + 0.05:
                return False
        return True


def _moving_path(prim: Primitive, times: np.ndarray) -> np.ndarray:
    return np.array([prim.pose_at(float(t))[[0, 2], 3] for t in times])


def _rolling(v: np.ndarray, r: float) -> tuple[float, float, float]:
    w = np.cross(UP, v) / r
    return tuple(float(x) for x in w)


def _add_movers(
    rng: np.random.Generator,
    prims: list[Primitive],
    placer: Placer,
    times: np.ndarray,
    count: int,
    lo,
    hi,
    ground_y,
    speed: tuple[float, float],
    flying: bool = False,
) -> int:
    """Balls rolling/bouncing, spinning/sliding crates; returns how many were placed."""
    placed = 0
    ground = ground_y if callable(ground_y) else (lambda xz: np.full(len(xz), float(ground_y)))
    for _ in range(count * 6):
        if placed >= count:
            break
        kind = rng.choice(["roll", "bounce", "spin", "slide"] + (["fly", "fly"] if flying else []))
        start = rng.uniform(lo, hi)
        heading = rng.uniform(0, 2 * np.pi)
        v = rng.uniform(*speed) * np.array([math.sin(heading), 0.0, math.cos(heading)])
        gy = float(ground(start[None])[0])
        if kind in ("roll", "bounce"):
            r = rng.uniform(0.12, 0.45)
            mat = (
                _photo(rng)
                if rng.random() < 0.6
                else Material(
                    str(rng.choice(["fabric", "gravel", "tiles"])),
                    tint=_tint(rng, (0.8, 0.4, 0.3), 0.5),
                    specular=0.3,
                    shininess=40,
                )
            )
            if kind == "roll":
                prim = sphere(
                    (start[0], gy + r, start[1]),
                    r,
                    mat,
                    motion=Motion(velocity=tuple(v), angular_velocity=_rolling(v, r)),
                )
            else:
                f = rng.uniform(0.6, 1.8)
                prim = sphere(
                    (start[0], gy + r, start[1]),
                    r,
                    mat,
                    motion=Motion(
                        velocity=tuple(v * 0.3),
                        angular_velocity=tuple(rng.normal(0, 2, 3)),
                        bounce_height=rng.uniform(0.3, 1.2),
                        bounce_freq=f,
                    ),
                )
        elif kind in ("spin", "slide"):
            half = rng.uniform(0.12, 0.45, 3)
            mat = (
                _photo(rng)
                if rng.random() < 0.5
                else Material("wood", tint=_tint(rng, (1, 1, 1), 0.2), uv_tile=0.5)
            )
            spin = (0.0, rng.uniform(-3, 3), 0.0) if kind == "spin" else (0.0, 0.0, 0.0)
            lift = rng.uniform(0.3, 1.2) if kind == "spin" else 0.0
            vel = v * (0.2 if kind == "spin" else 1.0)
            prim = box(
                (start[0], gy + half[1] + lift, start[1]),
                half,
                mat,
                rot=yaw(rng.uniform(0, 6.3)),
                motion=Motion(velocity=tuple(vel), angular_velocity=spin),
            )
            r = float(np.linalg.norm(half[[0, 2]]))
        else:  # fly: drone-like object at a few metres, spinning about a random axis
            half = rng.uniform(0.2, 0.6, 3)
            mat = _photo(rng)
            vel = v * 2 + np.array([0.0, rng.uniform(-0.3, 0.3), 0.0])
            prim = box(
                (start[0], gy + rng.uniform(2.0, 5.0), start[1]),
                half,
                mat,
                rot=_random_rotation(rng),
                motion=Motion(velocity=tuple(vel), angular_velocity=tuple(rng.normal(0, 1.5, 3))),
            )
            r = float(np.linalg.norm(half))
        path = _moving_path(prim, times)
        if np.any(path < np.asarray(lo)) or np.any(path > np.asarray(hi)):
            continue
        if kind in ("roll", "slide") and callable(ground_y):
            continue  # would float/sink on uneven ground
        if not placer.path_free(path, r):
            continue
        prim.name = f"mover_{kind}"
        prims.append(prim)
        # keep later movers off this one's whole path
        for p in path[:: max(1, len(path) // 8)]:
            placer.add(p, r)
        placed += 1
    return placed


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


def _framed_picture(rng, center, inward, width, height, prims) -> None:
    inward = np.asarray(inward, np.float64)
    depth = 0.02
    frame_mat = Material("wood", tint=_tint(rng, (0.5, 0.4, 0.3), 0.4), uv_tile=0.3)
    fw, fh = width + 0.08, height + 0.08
    rot = np.stack([np.cross(UP, inward), UP, inward], 1)  # local z along inward
    prims.append(
        box(np.asarray(center) + inward * depth, (fw / 2, fh / 2, depth), frame_mat, rot=rot, name="frame")
    )
    prims.append(
        wall_quad(
            np.asarray(center) + inward * (2 * depth + 0.004),
            inward,
            width,
            height,
            _photo(rng),
            name="picture",
        )
    )


def _indoor_env(rng) -> Environment:
    warm = rng.random() < 0.6
    return Environment(
        sky_zenith=_tint(rng, (0.8, 0.8, 0.85), 0.1),
        sky_horizon=_tint(rng, (0.9, 0.85, 0.8) if warm else (0.8, 0.85, 0.9), 0.1),
        ground=_tint(rng, (0.35, 0.3, 0.25), 0.2),
        ambient=rng.uniform(0.25, 0.5),
        fog_density=0.0,
        exposure=rng.uniform(1.0, 1.6),
    )


def _outdoor_env(rng) -> tuple[Environment, Light]:
    mood = rng.choice(["clear", "clear", "hazy", "sunset", "overcast"])
    elev = math.radians(rng.uniform(12, 25) if mood == "sunset" else rng.uniform(25, 70))
    azim = rng.uniform(0, 2 * np.pi)
    sun_dir = -np.array([math.cos(elev) * math.sin(azim), math.sin(elev), math.cos(elev) * math.cos(azim)])
    if mood == "sunset":
        zen, hor, sun_col, amb = (0.2, 0.25, 0.5), (1.0, 0.6, 0.35), (3.2, 1.9, 1.0), 0.35
    elif mood == "overcast":
        zen, hor, sun_col, amb = (0.55, 0.58, 0.62), (0.75, 0.77, 0.8), (1.0, 1.0, 1.0), 0.8
    elif mood == "hazy":
        zen, hor, sun_col, amb = (0.3, 0.45, 0.7), (0.8, 0.82, 0.85), (2.6, 2.4, 2.1), 0.5
    else:
        zen, hor, sun_col, amb = (0.12, 0.3, 0.75), (0.55, 0.7, 0.9), (3.2, 2.9, 2.5), 0.45
    env = Environment(
        sky_zenith=_tint(rng, zen, 0.08),
        sky_horizon=_tint(rng, hor, 0.06),
        ground=_tint(rng, (0.3, 0.28, 0.22), 0.15),
        ambient=amb * rng.uniform(0.8, 1.2),
        fog_density={"hazy": rng.uniform(0.004, 0.012), "overcast": rng.uniform(0.002, 0.007)}.get(
            mood, rng.uniform(0.0005, 0.004)
        ),
        exposure=rng.uniform(0.9, 1.3),
        sun_dir=tuple(sun_dir) if mood != "overcast" else None,
        sun_color=tuple(np.asarray(sun_col) / 3),
    )
    sun = Light(
        "directional",
        tuple(sun_dir),
        tuple(float(c) * rng.uniform(0.85, 1.1) for c in sun_col),
        cast_shadow=mood != "overcast",
    )
    if mood == "overcast":
        sun = Light("directional", tuple(sun_dir), (0.6, 0.6, 0.62), cast_shadow=True)
    return env, sun


def _pick_motion(rng) -> tuple[str, bool, bool]:
    kind = str(rng.choice(["orbit", "dolly", "pan", "tracking"], p=[0.3, 0.35, 0.15, 0.2]))
    shake = bool(rng.random() < 0.4)
    fast = bool(rng.random() < 0.2)
    return kind, shake, fast


def _camera(rng, times, kind, shake, fast, **kw) -> tuple[np.ndarray, dict]:
    c2w, info = make_trajectory(kind, rng, times, **kw)
    if shake:
        amp = rng.uniform(0.5, 1.0)
        c2w = apply_shake(rng, c2w, times, 0.02 * amp, 1.2 * amp)
    info.update(shake=shake, fast=fast)
    return c2w, info


# ------------------------------------------------------------------------------------------------ scenes


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
        int(rng.integers(1, 4)),
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
        int(rng.integers(1, 4)),
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
        int(rng.integers(0, 3)),
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


def terrain_heightfield(rng: np.random.Generator, size: float, n: int):
    """Heights on an (n+1)^2 grid covering [-size/2, size/2]^2 and a bilinear sampler."""
    amp = rng.uniform(4, 22)
    noise = _value_noise(rng, 256, octaves=6, base=2).astype(np.float64)
    idx = np.linspace(0, 255, n + 1).astype(int)
    hgt = (noise[np.ix_(idx, idx)] - 0.5) * 2 * amp
    xs = np.linspace(-size / 2, size / 2, n + 1)
    # flatten a clearing at the centre so the camera has room
    rr = np.sqrt(xs[None, :] ** 2 + xs[:, None] ** 2)
    w = np.clip(rr / (size * 0.15), 0, 1) ** 2
    hgt = hgt * (0.4 + 0.6 * w)
    hgt -= hgt[n // 2, n // 2]

    def sample(xz: np.ndarray) -> np.ndarray:
        xz = np.atleast_2d(xz)
        f = (xz + size / 2) / size * n
        f = np.clip(f, 0, n - 1e-6)
        i0 = np.floor(f).astype(int)
        t = f - i0
        # grid rows are z, columns x
        h00 = hgt[i0[:, 1], i0[:, 0]]
        h01 = hgt[i0[:, 1], i0[:, 0] + 1]
        h10 = hgt[i0[:, 1] + 1, i0[:, 0]]
        h11 = hgt[i0[:, 1] + 1, i0[:, 0] + 1]
        return (h00 * (1 - t[:, 0]) + h01 * t[:, 0]) * (1 - t[:, 1]) + (
            h10 * (1 - t[:, 0]) + h11 * t[:, 0]
        ) * t[:, 1]

    return xs, hgt, sample


def terrain_mesh(rng: np.random.Generator, xs: np.ndarray, hgt: np.ndarray, uv_tile: float) -> Mesh:
    n = len(xs) - 1
    X, Z = np.meshgrid(xs, xs)
    verts = np.stack([X, hgt, Z], -1).reshape(-1, 3)
    step = xs[1] - xs[0]
    gz, gx = np.gradient(hgt, step)
    normals = np.stack([-gx, np.ones_like(gx), -gz], -1)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    slope = 1 - normals[..., 1]
    hn = (hgt - hgt.min()) / max(np.ptp(hgt), 1e-6)
    grass = np.array(_tint(rng, (0.35, 0.55, 0.22), 0.12))
    dry = np.array(_tint(rng, (0.6, 0.55, 0.35), 0.12))
    rock = np.array(_tint(rng, (0.55, 0.52, 0.5), 0.08))
    patch = _value_noise(rng, 256, 4, 4).astype(np.float64)[
        np.ix_(np.linspace(0, 255, n + 1).astype(int), np.linspace(0, 255, n + 1).astype(int))
    ]
    base = grass[None, None] * (1 - patch[..., None]) + dry[None, None] * patch[..., None]
    rk = np.clip((slope - 0.12) * 6 + (hn - 0.8) * 3, 0, 1)[..., None]
    colors = base * (1 - rk) + rock[None, None] * rk
    uvs = np.stack([X / uv_tile, Z / uv_tile], -1).reshape(-1, 2)
    ii = np.arange(n)
    a = (ii[:, None] * (n + 1) + ii[None, :]).reshape(-1)
    faces = np.concatenate(
        [np.stack([a, a + n + 1, a + 1], 1), np.stack([a + 1, a + n + 1, a + n + 2], 1)], 0
    )
    return Mesh(
        verts.astype(np.float32),
        faces.astype(np.int32),
        normals.reshape(-1, 3).astype(np.float32),
        uvs.astype(np.float32),
        colors.reshape(-1, 3).astype(np.float32) * 1.6,
    )


def terrain_scene(rng: np.random.Generator, times: np.ndarray):
    size, n = 200.0, 64
    xs, hgt, ground = terrain_heightfield(rng, size, n)
    tex = str(rng.choice(["grass", "gravel", "grass"]))
    mesh = terrain_mesh(rng, xs, hgt, rng.uniform(2.0, 4.0))
    prims: list[Primitive] = [
        Primitive("mesh", (), np.eye(4), Material(tex, (1.0, 1.0, 1.0)), mesh=mesh, name="terrain")
    ]
    kind, shake, fast = _pick_motion(rng)
    drone = rng.random() < 0.5
    h_above = rng.uniform(3, 12) if drone else rng.uniform(1.4, 2.5)
    speed = (rng.uniform(3, 8) if drone else rng.uniform(1, 2.5)) * (3 if fast else 1)
    if kind == "pan":
        speed = rng.uniform(0.2, 0.7) * (2.5 if fast else 1)

    def eye_height(xz):
        return ground(xz) + h_above

    def clamp(e):
        e = e.copy()
        e[:, [0, 2]] = np.clip(e[:, [0, 2]], -size / 2 + 30, size / 2 - 30)
        e[:, 1] = np.maximum(e[:, 1], ground(e[:, [0, 2]]) + 1.2)
        return e

    c2w, traj = _camera(
        rng,
        times,
        kind,
        shake,
        fast,
        center=np.array([0.0, float(ground(np.zeros((1, 2)))[0]) + 1.0, 0.0]),
        radius=rng.uniform(8, 25),
        height=eye_height,
        speed=speed,
        clamp=clamp,
        max_length=60.0,
        look_height=float(ground(np.zeros((1, 2)))[0]) + rng.uniform(0, 2),
        min_dist=10.0,
        pitch_range=(-30.0, 10.0),
    )
    traj["drone"] = bool(drone)
    placer = Placer(c2w[:, [0, 2], 3], clearance=0.8)
    lim = 70.0
    path_lo = np.clip(c2w[:, [0, 2], 3].min(0) - 30, -lim, lim)
    path_hi = np.clip(c2w[:, [0, 2], 3].max(0) + 30, -lim, lim)
    for k in range(int(rng.integers(40, 90))):
        what = rng.choice(["tree", "tree", "tree", "rock", "boulder", "bush", "bush"])
        th, cr = rng.uniform(2, 6), rng.uniform(1.5, 3.5)
        r = {"tree": cr + 0.3, "rock": 0.8, "boulder": 1.6, "bush": 0.9}[
            str(what)
        ]  # keeps the camera out of canopies
        lo, hi = (path_lo, path_hi) if k % 3 else ([-lim, -lim], [lim, lim])
        xz = placer.sample(rng, lo, hi, r)
        if xz is None:
            continue
        gy = float(ground(xz[None])[0])
        if what == "tree":
            prims.append(
                box(
                    (xz[0], gy + th / 2 - 0.3, xz[1]),
                    (0.15, th / 2, 0.15),
                    Material("wood", _tint(rng, (0.45, 0.35, 0.25), 0.2), 0.6),
                    name="trunk",
                )
            )
            prims.append(
                sphere(
                    (xz[0], gy + th + cr * 0.7, xz[1]),
                    cr,
                    Material("grass", _tint(rng, (0.25, 0.45, 0.15), 0.2)),
                    rot=_random_rotation(rng),
                    name="canopy",
                )
            )
        elif what == "bush":
            rr = rng.uniform(0.4, 0.9)
            prims.append(
                sphere(
                    (xz[0], gy + rr * 0.5, xz[1]),
                    rr,
                    Material("grass", _tint(rng, (0.3, 0.45, 0.2), 0.25)),
                    rot=_random_rotation(rng),
                    name="bush",
                )
            )
        elif what == "rock":
            half = rng.uniform(0.3, 0.8, 3)
            prims.append(
                box(
                    (xz[0], gy + half[1] * 0.5, xz[1]),
                    half,
                    Material(str(rng.choice(["gravel", "moon"])), _tint(rng, (0.6, 0.58, 0.55), 0.15), 0.8),
                    rot=_random_rotation(rng),
                    name="rock",
                )
            )
        else:
            rr = rng.uniform(0.8, 1.6)
            prims.append(
                sphere(
                    (xz[0], gy + rr * 0.3, xz[1]),
                    rr,
                    Material("moon", _tint(rng, (0.7, 0.68, 0.65), 0.1)),
                    rot=_random_rotation(rng),
                    name="boulder",
                )
            )
    movers = _add_movers(
        rng,
        prims,
        placer,
        times,
        int(rng.integers(1, 4)),
        [-lim, -lim],
        [lim, lim],
        ground,
        (1.0, 4.0),
        flying=True,
    )
    env, sun = _outdoor_env(rng)
    cam = c2w[:, :3, 3]
    lo = (float(cam[:, 0].min()) - 60, float(hgt.min()) - 1, float(cam[:, 2].min()) - 60)
    hi = (float(cam[:, 0].max()) + 60, float(hgt.max()) + 8, float(cam[:, 2].max()) + 60)
    scene = Scene(
        "terrain",
        prims,
        [sun],
        env,
        (lo, hi),
        max_depth=150.0,
        info={"relief": float(np.ptp(hgt)), "movers": movers},
    )
    return scene, c2w, traj


_BUILDERS = {"room": room_scene, "corridor": corridor_scene, "street": street_scene, "terrain": terrain_scene}


def sample_clip(
    seed: int,
    frames: int | tuple[int, int] = 32,
    height: int = 128,
    width: int = 128,
    scene_type: str | None = None,
) -> ClipSpec:
    """Deterministic clip description for ``seed``: scene, camera path, frame times, intrinsics.

    ``frames`` may be a (min, max) range for variable clip length; ``scene_type`` forces the kind of scene.
    """
    rng = np.random.default_rng(seed)
    kind = str(rng.choice(SCENE_TYPES, p=[0.3, 0.2, 0.25, 0.25])) if scene_type is None else scene_type
    if kind not in _BUILDERS:
        raise ValueError(f"unknown scene type {kind!r}; choose from {', '.join(SCENE_TYPES)}")
    n = int(rng.integers(frames[0], frames[1] + 1)) if isinstance(frames, tuple) else int(frames)
    fps = float(rng.choice(FPS_CHOICES))
    times = np.arange(n) / fps
    scene, c2w, traj = _BUILDERS[kind](rng, times)
    fov = rng.uniform(50, 85)
    K = intrinsics_from_fov(width, height, fov)
    track = CameraTrack(K=K, c2w=c2w, times=times, height=height, width=width)
    traj["fov_x_deg"] = float(fov)
    return ClipSpec(seed=seed, scene=scene, track=track, fps=fps, trajectory=traj)


__all__ = [
    "ClipSpec",
    "SCENE_TYPES",
    "sample_clip",
    "room_scene",
    "corridor_scene",
    "street_scene",
    "terrain_scene",
]
