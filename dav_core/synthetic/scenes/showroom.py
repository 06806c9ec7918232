"""Showroom scenes: one to three large objects (boxes, drums, balls, vehicle-like blocks, 0.5-2 m) standing on
a floor that recedes to a back wall with shelves and pictures 4-30 m away (a hall, garage or studio) or, in
about half the clips, to the horizon and the sky.

The camera stands at eye height (1.2-1.8 m) or low (0.4-1 m), pitched 0-20° down at the objects 1-6 m
away, on a tripod (sometimes panning very slowly), a slow dolly or a slow orbit, so the nearest thing is in
the middle of the picture and the far background at its top and edges (the opposite of a corridor). A row
of identical props (posts, boxes, bollards, trees) recedes along the floor and shrinks with distance. The
main light is a sun or a broad fill from a random side, never a lamp near the camera, so brightness says
nothing about depth. Depth spans ~1 m to the back wall (or the horizon; the sky is invalid).
"""

from __future__ import annotations

import math

import numpy as np

from ..scene import Environment, Light, Material, Primitive, make_pose, quad_pose, yaw
from .environments import indoor_env, outdoor_env
from .interior import framed_picture
from .looks import photo, tint
from .shapes import UP, box, floor_quad, random_rotation, sphere, tumbled_sphere, wall_quad
from .shots import Move
from .stage import Built, Stage
from .tabletop import cylinder_mesh

CLEARANCE = 0.3  # closest a prop comes to the camera path
HALL_MAX_DEPTH = 100.0
OPEN_MAX_DEPTH = 200.0
ROW_KINDS = ("post", "box", "bollard", "tree")


class _Frame:
    """The set's own 2-D frame: ``a`` metres to the right of the mean camera position, ``b`` metres along
    the mean (horizontal) viewing direction."""

    def __init__(self, c2w: np.ndarray):
        self.origin = c2w[:, [0, 2], 3].mean(0)
        f = c2w[:, [0, 2], 2].mean(0)
        self.f = f / max(np.linalg.norm(f), 1e-9)
        self.s = np.cross(self.dir3(self.f), UP)[[0, 2]]  # right of the view (OpenCV x = -up x forward)

    @staticmethod
    def dir3(v2) -> np.ndarray:
        return np.array([v2[0], 0.0, v2[1]])

    def xz(self, a: float, b: float) -> np.ndarray:
        return self.origin + self.s * a + self.f * b

    def at(self, a: float, b: float, y: float) -> np.ndarray:
        p = self.xz(a, b)
        return np.array([p[0], y, p[1]])

    @property
    def heading(self) -> float:
        return math.atan2(self.f[0], self.f[1])


def _surface(rng, photo_p: float, textures: list[str], colour, uv_tile) -> Material:
    """A photograph (probability ``photo_p``) or a tinted material."""
    if rng.random() < photo_p:
        return photo(rng)
    return Material(
        str(rng.choice(textures)),
        tint(rng, colour, 0.3),
        rng.uniform(*uv_tile),
        specular=rng.uniform(0, 0.4),
    )


def _draw_object(rng) -> tuple[str, dict]:
    """Kind and size of a large object (drawn before the camera so the camera keeps clear of it)."""
    kind = str(rng.choice(["box", "box", "drum", "ball", "vehicle"]))
    if kind == "box":
        half = rng.uniform([0.25, 0.25, 0.25], [1.0, 1.0, 1.0])
        return kind, {"half": half, "r": float(np.hypot(half[0], half[2])), "h": float(2 * half[1])}
    if kind == "drum":
        r, h = rng.uniform(0.25, 0.8), rng.uniform(0.5, 2.0)
        return kind, {"radius": r, "r": r, "h": h}
    if kind == "ball":
        r = rng.uniform(0.25, 0.9)
        return kind, {"radius": r, "r": r, "h": 2 * r}
    length, width = rng.uniform(1.4, 2.0), rng.uniform(0.6, 1.0)
    wheel, body = rng.uniform(0.2, 0.35), rng.uniform(0.35, 0.6)
    cabin = rng.uniform(0.25, 0.5)
    h = wheel * 0.9 + body + cabin
    dims = {"length": length, "width": width, "wheel": wheel, "body": body, "cabin": cabin}
    return kind, {**dims, "r": float(math.hypot(length, width) / 2), "h": h}


def _build_object(rng, kind: str, size: dict, xz: np.ndarray, prims: list[Primitive]) -> None:
    """The object of ``kind`` and ``size`` standing on the floor at ``xz``."""
    mat = _surface(rng, 0.7, ["wood", "fabric", "plaster", "tiles", "brick"], (0.8, 0.6, 0.5), (0.3, 1.0))
    turn = rng.uniform(0, 2 * np.pi)
    if kind == "box":
        half = size["half"]
        prims.append(box((xz[0], half[1], xz[1]), half, mat, yaw(turn), "showpiece_box"))
    elif kind == "drum":
        mesh = cylinder_mesh(size["radius"], size["h"], 28)
        prims.append(
            Primitive(
                "mesh", (), make_pose(yaw(turn), (xz[0], 0.0, xz[1])), mat, mesh=mesh, name="showpiece_drum"
            )
        )
    elif kind == "ball":
        r = size["radius"]
        prims.append(sphere((xz[0], r, xz[1]), r, photo(rng), random_rotation(rng), "showpiece_ball"))
    else:
        _vehicle(rng, size, xz, turn, mat, prims)


def _vehicle(rng, size: dict, xz: np.ndarray, turn: float, mat: Material, prims: list[Primitive]) -> None:
    """A car- or cart-like block: body and cabin boxes on four wheels."""
    L, W, wr, bh, ch = (size[k] for k in ("length", "width", "wheel", "body", "cabin"))
    rot = yaw(turn)
    base = np.array([xz[0], 0.0, xz[1]])
    bottom = wr * 0.9
    prims.append(box(base + rot @ [0, bottom + bh / 2, 0], (W / 2, bh / 2, L / 2), mat, rot, "vehicle_body"))
    cabin_mat = _surface(rng, 0.5, ["facade_glass", "plaster"], (0.6, 0.65, 0.7), (0.5, 1.5))
    shift = rng.uniform(-0.2, 0.2) * L
    prims.append(
        box(
            base + rot @ [0, bottom + bh + ch / 2, shift],
            (W * 0.42, ch / 2, L * rng.uniform(0.2, 0.35)),
            cabin_mat,
            rot,
            "vehicle_cabin",
        )
    )
    tyre = Material("asphalt", tint(rng, (0.12, 0.12, 0.12), 0.2), 0.3, specular=0.2)
    side_down = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # cylinder axis y -> x
    mesh = cylinder_mesh(wr, 0.16, 16)
    for sx in (-1, 1):
        for sz in (-1, 1):
            local = [W / 2 - 0.04 if sx > 0 else -W / 2 - 0.12, wr, sz * L * 0.33]
            prims.append(
                Primitive(
                    "mesh", (), make_pose(rot @ side_down, base + rot @ local), tyre, mesh=mesh, name="wheel"
                )
            )


def _film(rng, stage: Stage, size: dict) -> float:
    """Tripod (often panning very slowly), slow dolly or slow orbit, looking at the main object at the
    origin from 1-6 m, 0-20° down; returns the subject distance."""
    kind = str(rng.choice(["static", "dolly", "orbit"], p=[0.45, 0.35, 0.2]))
    shake = 1.0 if kind != "static" and rng.random() < 0.25 else 0.0
    move = Move(kind, shake, False)
    low = rng.random() < 0.3
    eye_h = rng.uniform(0.4, 1.0) if low else rng.uniform(1.2, 1.8)
    dist = rng.uniform(max(1.5, 1.6 * (size["r"] + 0.5)), 4.5)
    poi = np.array([0.0, size["h"] * rng.uniform(0.3, 0.6), 0.0])
    kw = dict(height=eye_h, look_height=float(poi[1]), min_dist=1.0, pitch_range=(-20.0, 0.0))
    if kind == "dolly":  # in or out along the view, always looking at the object
        toward = rng.uniform(0, 2 * np.pi)
        view = np.array([math.sin(toward), 0.0, math.cos(toward)])
        sign = 1.0 if rng.random() < 0.5 else -1.0
        stage.shoot(
            move,
            CLEARANCE,
            "tracking",
            center=poi - view * dist,
            radius=0.4,
            speed=rng.uniform(0.1, 0.4),
            max_length=max(0.05, min(1.5, 2 * (dist - size["r"] - 0.9))),
            heading=toward if sign > 0 else toward + math.pi,
            look_ahead=sign * dist,
            **kw,
        )
        stage.traj.update(kind="dolly", dolly="in" if sign > 0 else "out")
    else:  # tripod at 0.56-1.19 x dist, or a slow orbit
        stage.shoot(move, CLEARANCE, center=poi, radius=dist / 0.8, speed=rng.uniform(0.1, 0.4), **kw)
    stage.traj.update(low=bool(low), subject_distance=float(dist))
    return dist


def _companions(rng, stage: Stage, frame: _Frame, main_r: float) -> list:
    """Zero to two more large objects beside the main one; returns their (kind, size, xz)."""
    out = []
    for k in range(int(rng.integers(0, 3))):
        kind, size = _draw_object(rng)
        side = -1.0 if k % 2 else 1.0
        a = side * (main_r + size["r"] + rng.uniform(0.3, 1.5))
        xz = frame.s * a + frame.f * rng.uniform(-0.5, 2.0)  # beside the main object at the origin
        if stage.placer.claim(xz, size["r"]):
            out.append((kind, size, xz))
    return out


def _row(rng, stage: Stage, frame: _Frame, far_b: float, half_w: float, open_air: bool) -> dict:
    """A row of identical props receding along the floor, 1-3.5 m to one side of the camera."""
    kind = str(rng.choice(ROW_KINDS if open_air else ROW_KINDS[:3]))
    side = 1.0 if rng.random() < 0.5 else -1.0
    a0 = side * min(rng.uniform(1.2, 3.5), half_w - 0.6)
    b0, spacing = rng.uniform(1.5, 3.5), rng.uniform(1.2, 3.5)
    skew = rng.normal(0, 0.08)
    d = np.array([math.sin(skew), math.cos(skew)])  # (a, b) direction of the row
    if kind == "post":
        h, w = rng.uniform(0.8, 2.5), rng.uniform(0.05, 0.12)
        r = w * 1.5
    elif kind == "box":
        h, w = rng.uniform(0.3, 1.0), rng.uniform(0.2, 0.5)
        r = w * 1.5
    elif kind == "bollard":
        h, w = rng.uniform(0.5, 1.2), rng.uniform(0.08, 0.2)
        r = w
    else:
        h, w = rng.uniform(2.0, 5.0), rng.uniform(0.1, 0.25)
        r = w
    canopy = rng.uniform(0.8, 1.6)
    mat = (
        Material("wood", tint(rng, (0.45, 0.35, 0.25), 0.2), 0.6)
        if kind == "tree"
        else _surface(rng, 0.3, ["wood", "plaster", "brick", "tiles"], (0.7, 0.6, 0.5), (0.3, 0.8))
    )
    leaves = Material("grass", tint(rng, (0.25, 0.45, 0.15), 0.2))  # one colour for the whole row
    mesh = cylinder_mesh(w, h, 16) if kind in ("bollard", "tree") else None
    spots = []
    for k in range(14):
        ab = np.array([a0, b0]) + d * spacing * k
        if ab[1] > far_b:
            break
        xz = frame.xz(*ab)
        if not stage.placer.claim(xz, r):
            continue
        if mesh is not None:
            stage.add(
                Primitive(
                    "mesh", (), make_pose(None, (xz[0], 0.0, xz[1])), mat, mesh=mesh, name="row_" + kind
                )
            )
            if kind == "tree":
                stage.add(tumbled_sphere(rng, (xz[0], h + canopy * 0.6, xz[1]), canopy, leaves, "row_canopy"))
        else:
            rot = yaw(frame.heading + skew)
            stage.add(box((xz[0], h / 2, xz[1]), (w, h / 2, w), mat, rot, "row_" + kind))
        spots.append([float(xz[0]), float(xz[1])])
    return {"kind": kind, "height": float(h), "width": float(w), "positions": spots}


def _hall(rng, stage: Stage, frame: _Frame, back: float, top: float) -> tuple[float, float]:
    """Floor, back wall, side walls and ceiling of a hall, garage or studio; shelves and pictures on the
    back wall. Returns the half width and the height."""
    half_w = rng.uniform(4.0, 15.0)
    h = max(rng.uniform(3.5, 9.0), top + 1.0)
    floor_tex = str(rng.choice(["tiles", "wood", "asphalt", "plaster", "gravel"]))
    stage.add(
        floor_quad(
            (frame.origin[0], 0, frame.origin[1]),
            4 * (back + half_w),
            4 * (back + half_w),
            Material(floor_tex, tint(rng, (0.9, 0.88, 0.85), 0.25), rng.uniform(1.0, 3.0)),
            name="floor",
        )
    )
    f3, s3 = frame.dir3(frame.f), frame.dir3(frame.s)
    if rng.random() < 0.35:  # a printed backdrop: one photograph over the whole wall
        back_mat = photo(rng)
    else:
        back_mat = Material(
            str(rng.choice(["plaster", "brick", "tiles", "facade", "wood"])),
            tint(rng, (0.9, 0.88, 0.85), 0.25),
            rng.uniform(1.0, 3.0),
        )
    side_mat = Material(
        str(rng.choice(["plaster", "brick", "tiles"])), tint(rng, (0.9, 0.88, 0.85), 0.2), 2.0
    )
    walls = [
        wall_quad(frame.at(0, back, h / 2), -f3, 2 * half_w, h, back_mat, "back_wall"),
        wall_quad(frame.at(half_w, (back - 6) / 2, h / 2), -s3, back + 6, h, side_mat, "side_wall"),
        wall_quad(frame.at(-half_w, (back - 6) / 2, h / 2), s3, back + 6, h, side_mat, "side_wall"),
        Primitive(
            "quad",
            (half_w, (back + 6) / 2),
            quad_pose(frame.at(0, (back - 6) / 2, h), s3, f3),
            Material("plaster", tint(rng, (0.9, 0.9, 0.9), 0.1), 2.0),
            name="ceiling",
        ),
    ]
    for wall in walls:
        wall.cast_shadow = False  # the main light is a sun through the roof / a broad fill
        stage.add(wall)
    for _ in range(int(rng.integers(1, 5))):  # shelves / cabinets against the back wall
        cw, cd, ch = rng.uniform(0.8, 3.0), rng.uniform(0.35, 0.7), rng.uniform(1.0, min(2.6, h - 0.3))
        a = rng.uniform(-half_w + cw / 2, half_w - cw / 2)
        xz = frame.xz(a, back - cd / 2 - 0.01)
        if not stage.placer.claim(xz, math.hypot(cw, cd) / 2):
            continue
        mat = _surface(rng, 0.5, ["wood", "facade_glass", "plaster"], (0.9, 0.85, 0.8), (0.5, 1.5))
        stage.add(box((xz[0], ch / 2, xz[1]), (cw / 2, ch / 2, cd / 2), mat, yaw(frame.heading), "shelf"))
    for _ in range(int(rng.integers(0, 4))):
        pw = rng.uniform(0.5, min(2.5, half_w / 2))
        pos = frame.at(
            rng.uniform(-half_w + pw, half_w - pw), back - 0.02, rng.uniform(1.6, max(1.7, h - 1.2))
        )
        framed_picture(rng, pos, -f3, pw, pw * rng.uniform(0.6, 1.3), stage.prims)
    return half_w, h


def _open_ground(rng, stage: Stage, frame: _Frame, back: float) -> None:
    """Ground to the horizon; sometimes buildings, containers or a billboard across the view."""
    tex = str(rng.choice(["asphalt", "gravel", "grass", "tiles"]))
    stage.add(
        floor_quad(
            (frame.origin[0], 0, frame.origin[1]),
            400,
            400,
            Material(tex, tint(rng, (0.75, 0.72, 0.65), 0.2), rng.uniform(1.5, 3.0)),
            name="ground",
        )
    )
    if rng.random() < 0.5:
        return
    for _ in range(int(rng.integers(1, 5))):
        b = back + rng.uniform(0, 30)
        a = rng.uniform(-1.0, 1.0) * b
        bw, bd, bh = rng.uniform(3, 15), rng.uniform(3, 10), rng.uniform(2, 15)
        xz = frame.xz(a, b)
        if not stage.placer.claim(xz, math.hypot(bw, bd) / 2, gap=0.5):
            continue
        mat = _surface(
            rng, 0.25, ["facade", "facade_glass", "brick", "plaster"], (0.85, 0.8, 0.75), (2.5, 3.6)
        )
        stage.add(box((xz[0], bh / 2, xz[1]), (bw / 2, bh / 2, bd / 2), mat, yaw(frame.heading), "building"))


def _main_light(rng, frame: _Frame, env: Environment) -> list[Light]:
    """A sun through skylights or a broad studio fill from the left or the right (never from the camera),
    so which side is brighter is random and brightness does not fall off with distance."""
    side = 1.0 if rng.random() < 0.5 else -1.0
    az = side * rng.uniform(0.35, 2.8)  # from the view axis, towards the right (+) or left (-)
    elev = rng.uniform(0.5, 1.3)
    horiz = frame.f * math.cos(az) + frame.s * math.sin(az)
    to_light = np.array([horiz[0] * math.cos(elev), math.sin(elev), horiz[1] * math.cos(elev)])
    colour = tint(rng, (1.0, 0.95, 0.88) if rng.random() < 0.6 else (0.88, 0.93, 1.0), 0.05)
    gain = rng.uniform(1.4, 2.6)
    shadow = rng.random() < 0.75
    env.sun_dir = None
    return [Light("directional", tuple(-to_light), tuple(c * gain for c in colour), cast_shadow=shadow)]


def showroom_scene(rng: np.random.Generator, times: np.ndarray) -> Built:
    stage = Stage(rng, times)
    kind, size = _draw_object(rng)
    dist = _film(rng, stage, size)
    frame = _Frame(stage.c2w)
    stage.placer.add(np.zeros(2), size["r"])
    _build_object(rng, kind, size, np.zeros(2), stage.prims)
    objects = [(kind, size, np.zeros(2))]
    for k, sz, xz in _companions(rng, stage, frame, size["r"]):
        _build_object(rng, k, sz, xz, stage.prims)
        objects.append((k, sz, xz))
    subject_b = float(np.dot(-frame.origin, frame.f))  # the main object along the view
    open_air = rng.random() < 0.5
    back = max(rng.uniform(4.0, 30.0), subject_b + size["r"] + rng.uniform(1.5, 4.0))
    top = max(sz["h"] for _, sz, _ in objects)
    if open_air:
        _open_ground(rng, stage, frame, back)
        half_w, far_b = 40.0, 45.0
    else:
        half_w, _h = _hall(rng, stage, frame, back, top)
        far_b = back - 1.0
    row = _row(rng, stage, frame, far_b, half_w, open_air)
    corners = np.array(
        [frame.xz(a, b) for a in (-half_w + 0.5, half_w - 0.5) for b in (subject_b - 1, far_b)]
    )
    lo, hi = corners.min(0), corners.max(0)
    count = (0, 1) if stage.move.kind == "static" else (0, 3)  # 0-2 movers in all
    stage.add_movers(count, lo, hi, 0.0, (0.3, 1.2))
    if open_air:
        env, sun = outdoor_env(rng)
        lights = [sun]
    else:
        env = indoor_env(rng)
        env.ambient = rng.uniform(0.3, 0.6)
        lights = _main_light(rng, frame, env)
    cam = stage.c2w[:, [0, 2], 3]
    reach = 60.0 if open_air else back + 8.0
    bounds = (
        (float(cam[:, 0].min()) - reach, -1.0, float(cam[:, 1].min()) - reach),
        (float(cam[:, 0].max()) + reach, max(top, 10.0) + 1, float(cam[:, 1].max()) + reach),
    )
    return stage.finish(
        "showroom",
        lights,
        env,
        bounds,
        OPEN_MAX_DEPTH if open_air else HALL_MAX_DEPTH,
        sky=bool(open_air),
        backdrop_distance=float(back),
        subject_distance=float(dist),
        objects=[k for k, _, _ in objects],
        row=row,
    )
