"""Placed primitives every scene family builds from: wall and floor quads, boxes, spheres."""

from __future__ import annotations

import numpy as np

from ..scene import Material, Motion, Primitive, make_pose, quad_pose

UP = np.array([0.0, 1.0, 0.0])


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


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly random 3x3 rotation (from a normalised Gaussian quaternion)."""
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


def tumbled_sphere(rng: np.random.Generator, center, r: float, material: Material, name: str) -> Primitive:
    """Sphere turned at random, so its texture shows no preferred direction."""
    return sphere(center, r, material, rot=random_rotation(rng), name=name)


def facing(inward) -> np.ndarray:
    """Rotation whose local z points along ``inward`` (horizontal) and local y up."""
    inward = np.asarray(inward, np.float64)
    return np.stack([np.cross(UP, inward), UP, inward], 1)
