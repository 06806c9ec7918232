"""Scene description shared by the GL rasteriser and the torch ray caster.

World frame: right-handed, metres, **y up**. Every primitive is rigid: a local shape plus a local-to-world
pose (4x4) at ``t = 0`` and an optional :class:`Motion` giving the pose at time ``t`` (seconds).

Primitive kinds and their local frames:

``quad``    rectangle in the local z=0 plane, x in [-hx, hx], y in [-hy, hy]; texture row 0 at y = -hy
            (build with :func:`quad_pose` so local y points "down" on the picture).
``box``     axis-aligned box with half extents (hx, hy, hz) centred at the origin.
``sphere``  sphere of radius r centred at the origin (GL renders it exactly with a ray-cast impostor).
``mesh``    triangle mesh (vertices, faces, per-vertex normals, uvs and colours), e.g. terrain.

Shading is two-sided (normals are flipped to face the viewer), so winding never matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Material:
    texture: str = "plaster"
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    uv_tile: float = 0.0  # metres per texture repeat; 0 stretches the texture once over each face
    specular: float = 0.0
    shininess: float = 32.0


@dataclass
class Motion:
    """Rigid motion: linear velocity (m/s), angular velocity (axis * rad/s, world axes, about the object
    centre) and an optional bounce (|sin| vertical hop of ``bounce_height`` m at ``bounce_freq`` Hz)."""

    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    angular_velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    bounce_height: float = 0.0
    bounce_freq: float = 0.0

    def apply(self, pose: np.ndarray, t: float) -> np.ndarray:
        out = pose.copy()
        w = np.asarray(self.angular_velocity, np.float64)
        angle = float(np.linalg.norm(w)) * t
        if angle != 0:  # negative before t = 0 (motion-blur sub-frames of the first frame)
            out[:3, :3] = axis_angle(w / np.linalg.norm(w), angle) @ pose[:3, :3]
        out[:3, 3] = pose[:3, 3] + np.asarray(self.velocity, np.float64) * t
        if self.bounce_height:
            out[1, 3] += self.bounce_height * abs(math.sin(math.pi * self.bounce_freq * t))
        return out


@dataclass
class Mesh:
    vertices: np.ndarray  # [N,3] float32 local
    faces: np.ndarray  # [M,3] int32
    normals: np.ndarray  # [N,3] float32
    uvs: np.ndarray  # [N,2] float32
    colors: np.ndarray  # [N,3] float32 (multiplies the albedo)


@dataclass
class Primitive:
    kind: str  # "quad" | "box" | "sphere" | "mesh"
    size: tuple[float, ...]  # quad (hx, hy); box (hx, hy, hz); sphere (r,); mesh ()
    pose: np.ndarray  # [4,4] local-to-world at t=0
    material: Material = field(default_factory=Material)
    motion: Motion | None = None
    mesh: Mesh | None = None
    cast_shadow: bool = True
    name: str = ""

    def pose_at(self, t: float) -> np.ndarray:
        return self.motion.apply(self.pose, t) if self.motion is not None else self.pose

    def bounding_radius(self) -> float:
        if self.kind == "sphere":
            return float(self.size[0])
        if self.kind in ("quad", "box"):
            return float(np.linalg.norm(self.size))
        v = self.mesh.vertices
        return float(np.linalg.norm(v, axis=1).max())


@dataclass
class Light:
    kind: str  # "directional" | "point"
    vector: tuple[float, float, float]  # direction of travel (directional) or position (point)
    color: tuple[float, float, float]  # linear RGB intensity
    cast_shadow: bool = False
    range: float = 6.0  # point light attenuation 1 / (1 + (d / range)^2)


@dataclass
class Environment:
    sky_zenith: tuple[float, float, float] = (0.15, 0.3, 0.7)
    sky_horizon: tuple[float, float, float] = (0.6, 0.7, 0.85)
    ground: tuple[float, float, float] = (0.25, 0.22, 0.2)  # ambient from below
    ambient: float = 0.35
    fog_density: float = 0.0  # 1/m, RGB only
    exposure: float = 1.2
    sun_dir: tuple[float, float, float] | None = None  # for the sky's sun glow
    sun_color: tuple[float, float, float] = (1.0, 0.9, 0.7)


@dataclass
class Scene:
    scene_type: str
    primitives: list[Primitive]
    lights: list[Light]
    env: Environment
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]]  # world AABB (for shadow maps)
    max_depth: float = 100.0  # depth beyond this is marked invalid
    info: dict = field(default_factory=dict)

    @property
    def shadow_light(self) -> Light | None:
        for light in self.lights:
            if light.cast_shadow:
                return light
        return None


# ----------------------------------------------------------------------------------------------- geometry


def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = np.asarray(axis, np.float64)
    axis = axis / np.linalg.norm(axis)
    x, y, z = axis
    c, s = math.cos(angle), math.sin(angle)
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) * c + s * k + (1 - c) * np.outer(axis, axis)


def make_pose(rotation: np.ndarray | None = None, translation=(0.0, 0.0, 0.0)) -> np.ndarray:
    pose = np.eye(4)
    if rotation is not None:
        pose[:3, :3] = rotation
    pose[:3, 3] = translation
    return pose


def yaw(angle: float) -> np.ndarray:
    """Rotation about world y."""
    return axis_angle(np.array([0.0, 1.0, 0.0]), angle)


def quad_pose(center, right, down) -> np.ndarray:
    """Pose of a quad whose local x runs along ``right`` and local y along ``down`` (picture upright)."""
    r = np.asarray(right, np.float64)
    r = r / np.linalg.norm(r)
    d = np.asarray(down, np.float64)
    d = d - r * (d @ r)
    d = d / np.linalg.norm(d)
    n = np.cross(r, d)
    rot = np.stack([r, d, n], axis=1)
    return make_pose(rot, center)


def box_face_frames(half: tuple[float, float, float]):
    """Per face: (axis, sign, a_axis, a_sign, b_axis, b_sign) giving face-local picture coordinates.

    The uv of a point p on the face is a = a_sign * p[a_axis], b = b_sign * p[b_axis] (b grows downwards on
    the side faces). Shared by the tessellator and the ray caster so both use identical texture mapping."""
    return [
        (0, 1, 2, -1, 1, -1),
        (0, -1, 2, 1, 1, -1),
        (1, 1, 0, 1, 2, 1),
        (1, -1, 0, 1, 2, -1),
        (2, 1, 0, 1, 1, -1),
        (2, -1, 0, -1, 1, -1),
    ]


def face_uv(a, b, ha: float, hb: float, tile: float):
    """uv from face-local coordinates (a in [-ha, ha], b in [-hb, hb])."""
    if tile > 0:
        return (a + ha) / tile, (b + hb) / tile
    return (a + ha) / (2 * ha), (b + hb) / (2 * hb)


def tessellate(prim: Primitive) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of a quad/box/mesh in local coordinates: (vertex data [N,11] = pos3 normal3 uv2 colour3,
    indices [M,3])."""
    tile = prim.material.uv_tile
    if prim.kind == "quad":
        hx, hy = prim.size
        corners = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]], np.float64)
        verts = []
        for x, y in corners:
            u, v = face_uv(x, y, hx, hy, tile)
            verts.append([x, y, 0, 0, 0, 1, u, v, 1, 1, 1])
        return np.array(verts, np.float32), np.array([[0, 1, 2], [0, 2, 3]], np.int32)
    if prim.kind == "box":
        half = np.asarray(prim.size, np.float64)
        verts, idx = [], []
        for axis, sign, a_ax, a_s, b_ax, b_s in box_face_frames(tuple(half)):
            n = np.zeros(3)
            n[axis] = sign
            base = len(verts)
            for ca, cb in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                p = np.zeros(3)
                p[axis] = sign * half[axis]
                p[a_ax] = a_s * ca * half[a_ax]
                p[b_ax] = b_s * cb * half[b_ax]
                u, v = face_uv(ca * half[a_ax], cb * half[b_ax], half[a_ax], half[b_ax], tile)
                verts.append([*p, *n, u, v, 1, 1, 1])
            idx += [[base, base + 1, base + 2], [base, base + 2, base + 3]]
        return np.array(verts, np.float32), np.array(idx, np.int32)
    if prim.kind == "mesh":
        m = prim.mesh
        data = np.concatenate([m.vertices, m.normals, m.uvs, m.colors], axis=1).astype(np.float32)
        return data, m.faces.astype(np.int32)
    if prim.kind == "sphere":
        return uv_sphere(prim.size[0], 32, 16)
    raise ValueError(f"unknown primitive kind {prim.kind!r}")


def uv_sphere(radius: float, n_u: int, n_v: int) -> tuple[np.ndarray, np.ndarray]:
    """Circumscribed UV sphere (used only for shadow maps; the visible sphere is exact)."""
    # enlarge so the polyhedron contains the true sphere
    scale = 1.0 / (math.cos(math.pi / n_u) * math.cos(math.pi / (2 * n_v)))
    verts = []
    for j in range(n_v + 1):
        th = math.pi * j / n_v
        for i in range(n_u + 1):
            ph = 2 * math.pi * i / n_u
            n = np.array([math.sin(th) * math.sin(ph), math.cos(th), math.sin(th) * math.cos(ph)])
            verts.append([*(n * radius * scale), *n, i / n_u, j / n_v, 1, 1, 1])
    idx = []
    for j in range(n_v):
        for i in range(n_u):
            a = j * (n_u + 1) + i
            b = a + n_u + 1
            idx += [[a, b, a + 1], [a + 1, b, b + 1]]
    return np.array(verts, np.float32), np.array(idx, np.int32)
