"""Trees, bushes and rocks for the outdoor families."""

from __future__ import annotations

from ..scene import Material, Primitive
from .looks import tint
from .shapes import box, tumbled_sphere

BARK = (0.45, 0.35, 0.25)
LEAVES = (0.25, 0.45, 0.15)


def trunk(rng, center, half_width: float, half_height: float, colour=BARK, uv_tile: float = 0.6) -> Primitive:
    """Square wooden tree trunk."""
    bark = Material("wood", tint(rng, colour, 0.2), uv_tile)
    return box(center, (half_width, half_height, half_width), bark, name="trunk")


def foliage(rng, center, r: float, colour=LEAVES, spread: float = 0.2, name: str = "canopy") -> Primitive:
    """Ball of leaves: a tree's canopy or a bush."""
    return tumbled_sphere(rng, center, r, Material("grass", tint(rng, colour, spread)), name)


def rock_material(rng) -> Material:
    """Grey gravel or moon-rock surface."""
    return Material(str(rng.choice(["gravel", "moon"])), tint(rng, (0.6, 0.58, 0.55), 0.15), 0.8)
