"""Sky, ambient and sun: the indoor and outdoor environments."""

from __future__ import annotations

import math

import numpy as np

from ..scene import Environment, Light
from .looks import tint

# mood -> sky zenith, sky horizon, sun colour, ambient
_MOODS = {
    "sunset": ((0.2, 0.25, 0.5), (1.0, 0.6, 0.35), (3.2, 1.9, 1.0), 0.35),
    "overcast": ((0.55, 0.58, 0.62), (0.75, 0.77, 0.8), (1.0, 1.0, 1.0), 0.8),
    "hazy": ((0.3, 0.45, 0.7), (0.8, 0.82, 0.85), (2.6, 2.4, 2.1), 0.5),
    "clear": ((0.12, 0.3, 0.75), (0.55, 0.7, 0.9), (3.2, 2.9, 2.5), 0.45),
}


def indoor_env(rng) -> Environment:
    """Soft warm or cool ambient light, no fog, no sun."""
    warm = rng.random() < 0.6
    return Environment(
        sky_zenith=tint(rng, (0.8, 0.8, 0.85), 0.1),
        sky_horizon=tint(rng, (0.9, 0.85, 0.8) if warm else (0.8, 0.85, 0.9), 0.1),
        ground=tint(rng, (0.35, 0.3, 0.25), 0.2),
        ambient=rng.uniform(0.25, 0.5),
        fog_density=0.0,
        exposure=rng.uniform(1.0, 1.6),
    )


def _sun_direction(rng, mood: str) -> np.ndarray:
    elev = math.radians(rng.uniform(12, 25) if mood == "sunset" else rng.uniform(25, 70))
    azim = rng.uniform(0, 2 * np.pi)
    return -np.array([math.cos(elev) * math.sin(azim), math.sin(elev), math.cos(elev) * math.cos(azim)])


def outdoor_env(rng) -> tuple[Environment, Light]:
    """Clear, hazy, sunset or overcast sky and its sun (the one shadow-casting light)."""
    mood = rng.choice(["clear", "clear", "hazy", "sunset", "overcast"])
    sun_dir = _sun_direction(rng, mood)
    zen, hor, sun_col, amb = _MOODS[str(mood)]
    env = Environment(
        sky_zenith=tint(rng, zen, 0.08),
        sky_horizon=tint(rng, hor, 0.06),
        ground=tint(rng, (0.3, 0.28, 0.22), 0.15),
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
