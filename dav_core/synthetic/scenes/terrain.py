"""Terrain scenes: open heightfield landscape with trees, bushes, rocks and boulders under the sky."""

from __future__ import annotations

import numpy as np

from ..scene import Material, Mesh, Primitive
from ..textures import _value_noise
from .environments import outdoor_env
from .looks import tint
from .nature import foliage, rock_material, trunk
from .shapes import box, random_rotation, tumbled_sphere
from .shots import pick_move, travel_speed
from .stage import Built, Stage

SIZE, GRID = 200.0, 64  # side of the heightfield (m) and its cells per side
PROP_LIMIT = 70.0  # props and movers stay within +-PROP_LIMIT m of the centre
FOOTPRINT = {"rock": 0.8, "boulder": 1.6, "bush": 0.9}  # radius kept free around each kind of prop


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
    grass = np.array(tint(rng, (0.35, 0.55, 0.22), 0.12))
    dry = np.array(tint(rng, (0.6, 0.55, 0.35), 0.12))
    rock = np.array(tint(rng, (0.55, 0.52, 0.5), 0.08))
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


def _fly_or_walk(rng, stage: Stage, ground) -> None:
    """Drone flight (3-12 m above ground) or a walk, following the relief."""
    move = pick_move(rng)
    drone = rng.random() < 0.5
    h_above = rng.uniform(3, 12) if drone else rng.uniform(1.4, 2.5)
    speed = travel_speed(rng, move, (3, 8) if drone else (1, 2.5), 3, pan=(0.2, 0.7))

    def eye_height(xz):
        return ground(xz) + h_above

    def clamp(e):
        e = e.copy()
        e[:, [0, 2]] = np.clip(e[:, [0, 2]], -SIZE / 2 + 30, SIZE / 2 - 30)
        e[:, 1] = np.maximum(e[:, 1], ground(e[:, [0, 2]]) + 1.2)
        return e

    stage.shoot(
        move,
        clearance=0.8,
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
    stage.traj["drone"] = bool(drone)


def _prop(rng, what: str, xz: np.ndarray, gy: float, th: float, cr: float) -> list[Primitive]:
    """A tree (trunk ``th`` m, canopy radius ``cr``), bush, rock or boulder standing on the ground at ``gy``."""
    if what == "tree":
        return [
            trunk(rng, (xz[0], gy + th / 2 - 0.3, xz[1]), 0.15, th / 2),
            foliage(rng, (xz[0], gy + th + cr * 0.7, xz[1]), cr),
        ]
    if what == "bush":
        rr = rng.uniform(0.4, 0.9)
        return [foliage(rng, (xz[0], gy + rr * 0.5, xz[1]), rr, (0.3, 0.45, 0.2), 0.25, "bush")]
    if what == "rock":
        half = rng.uniform(0.3, 0.8, 3)
        centre = (xz[0], gy + half[1] * 0.5, xz[1])
        mat = rock_material(rng)
        return [box(centre, half, mat, rot=random_rotation(rng), name="rock")]
    rr = rng.uniform(0.8, 1.6)
    moon = Material("moon", tint(rng, (0.7, 0.68, 0.65), 0.1))
    return [tumbled_sphere(rng, (xz[0], gy + rr * 0.3, xz[1]), rr, moon, "boulder")]


def _vegetation(rng, stage: Stage, ground) -> None:
    """Trees, bushes, rocks and boulders: two in three near the camera path, the rest anywhere."""
    lim = PROP_LIMIT
    path_lo = np.clip(stage.c2w[:, [0, 2], 3].min(0) - 30, -lim, lim)
    path_hi = np.clip(stage.c2w[:, [0, 2], 3].max(0) + 30, -lim, lim)
    for k in range(int(rng.integers(40, 90))):
        what = str(rng.choice(["tree", "tree", "tree", "rock", "boulder", "bush", "bush"]))
        th, cr = rng.uniform(2, 6), rng.uniform(1.5, 3.5)
        r = cr + 0.3 if what == "tree" else FOOTPRINT[what]  # keeps the camera out of canopies
        lo, hi = (path_lo, path_hi) if k % 3 else ([-lim, -lim], [lim, lim])
        xz = stage.placer.sample(rng, lo, hi, r)
        if xz is not None:
            stage.add(*_prop(rng, what, xz, float(ground(xz[None])[0]), th, cr))


def terrain_scene(rng: np.random.Generator, times: np.ndarray) -> Built:
    xs, hgt, ground = terrain_heightfield(rng, SIZE, GRID)
    tex = str(rng.choice(["grass", "gravel", "grass"]))
    mesh = terrain_mesh(rng, xs, hgt, rng.uniform(2.0, 4.0))
    stage = Stage(rng, times)
    stage.add(Primitive("mesh", (), np.eye(4), Material(tex, (1.0, 1.0, 1.0)), mesh=mesh, name="terrain"))
    _fly_or_walk(rng, stage, ground)
    _vegetation(rng, stage, ground)
    lim = PROP_LIMIT
    stage.add_movers((1, 4), [-lim, -lim], [lim, lim], ground, (1.0, 4.0), flying=True)
    env, sun = outdoor_env(rng)
    cam = stage.c2w[:, :3, 3]
    lo = (float(cam[:, 0].min()) - 60, float(hgt.min()) - 1, float(cam[:, 2].min()) - 60)
    hi = (float(cam[:, 0].max()) + 60, float(hgt.max()) + 8, float(cam[:, 2].max()) + 60)
    return stage.finish("terrain", [sun], env, (lo, hi), 150.0, relief=float(np.ptp(hgt)))
