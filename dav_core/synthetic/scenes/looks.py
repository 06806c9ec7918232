"""Random colours and photo materials."""

from __future__ import annotations

import numpy as np

from ..scene import Material
from ..textures import GREY_PHOTOS, PHOTOS


def tint(rng: np.random.Generator, base, spread: float) -> tuple[float, float, float]:
    """``base`` colour scaled per channel by a log-normal factor of width ``spread``."""
    c = np.asarray(base, np.float64) * np.exp(rng.normal(0, spread, 3))
    return tuple(float(x) for x in np.clip(c, 0.02, 1.6))


def photo(rng: np.random.Generator) -> Material:
    """A photograph stretched over the face (a warm-tinted grey one in a quarter of the draws)."""
    if rng.random() < 0.75:
        return Material(str(rng.choice(PHOTOS)))
    return Material(str(rng.choice(GREY_PHOTOS)), tint=tint(rng, (1.0, 0.95, 0.85), 0.1))
