"""The four procedural scene families (room, corridor, street, terrain) and their shared building blocks."""

from __future__ import annotations

from .corridor import corridor_scene
from .room import room_scene
from .street import street_scene
from .terrain import terrain_scene

__all__ = ["corridor_scene", "room_scene", "street_scene", "terrain_scene"]
