"""The procedural scene families (room, corridor, street, terrain, tabletop, outdoor, showroom) and their
shared building blocks."""

from __future__ import annotations

from .corridor import corridor_scene
from .outdoor import outdoor_scene
from .room import room_scene
from .showroom import showroom_scene
from .street import street_scene
from .tabletop import tabletop_scene
from .terrain import terrain_scene

__all__ = [
    "corridor_scene",
    "outdoor_scene",
    "room_scene",
    "showroom_scene",
    "street_scene",
    "tabletop_scene",
    "terrain_scene",
]
