"""Building blocks shared by all scene families: primitives, prop placement, environments, camera paths."""

from __future__ import annotations

import math

import numpy as np

from ..camera import apply_shake, make_trajectory
from ..scene import Environment, Light, Material, Motion, Primitive, make_pose, quad_pose
from ..textures import GREY_PHOTOS, PHOTOS

UP = np.array([0.0, 1.0, 0.0])


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


def _pick_motion(rng) -> tuple[str, float, bool]:
    """Camera kind, hand-held shake strength (0 = none, 1 = normal, 2-3 = strong) and fast motion.

    A static (tripod) camera never shakes; the families add more moving objects to its clips."""
    kind = str(rng.choice(["orbit", "dolly", "pan", "tracking", "static"], p=[0.26, 0.3, 0.13, 0.18, 0.13]))
    shake = 0.0
    if kind != "static" and rng.random() < 0.4:
        shake = float(rng.uniform(2.0, 3.0)) if rng.random() < 0.3 else 1.0
    fast = bool(rng.random() < 0.2) and kind != "static"
    return kind, shake, fast


def _extra_movers(kind: str) -> int:
    """Moving objects added to static-camera clips (there only the objects move)."""
    return 2 if kind == "static" else 0


def _camera(rng, times, kind, shake: float, fast, **kw) -> tuple[np.ndarray, dict]:
    c2w, info = make_trajectory(kind, rng, times, **kw)
    if shake:
        amp = rng.uniform(0.5, 1.0) * shake
        c2w = apply_shake(rng, c2w, times, 0.02 * amp, 1.2 * amp)
    info.update(shake=bool(shake), shake_strength=float(shake), fast=fast)
    return c2w, info
