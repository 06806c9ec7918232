"""256-entry RGB colormap lookup tables for depth previews, without matplotlib.

Spectral, viridis and inferno are piecewise-linear through their published reference colours (ColorBrewer
Spectral 11-class; the 10-stop viridis and inferno palettes), so they match the originals closely but not
bit-exactly. Turbo is the degree-5 polynomial approximation published with the colormap (Mikhailov, Google
AI blog, 2019). A ``_r`` suffix reverses any map.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..choices import COLORMAPS

__all__ = ["COLORMAP_NAMES", "apply_colormap", "depth_colors", "get_colormap"]

_STOPS: dict[str, tuple[str, ...]] = {
    # ColorBrewer Spectral, 11 classes, low values red -> high values blue (as in matplotlib)
    "spectral": (
        "9e0142", "d53e4f", "f46d43", "fdae61", "fee08b", "ffffbf", "e6f598", "abdda4", "66c2a5", "3288bd", "5e4fa2",
    ),
    "viridis": ("440154", "482878", "3e4989", "31688e", "26828e", "1f9e89", "35b779", "6ece58", "b5de2b", "fde725"),
    "inferno": ("000004", "1b0c41", "4a0c6b", "781c6d", "a52c60", "cf4446", "ed6925", "fb9b06", "f7d13d", "fcffa4"),
    "gray": ("000000", "ffffff"),
}  # fmt: skip

# Turbo polynomial coefficients, highest degree last, per channel
_TURBO = (
    (0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943),
    (0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604),
    (0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973),
)

COLORMAP_NAMES = COLORMAPS


def _from_stops(stops: tuple[str, ...]) -> np.ndarray:
    """Linear interpolation through equally spaced hex colours -> uint8 [256, 3]."""
    colours = np.array([[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in stops], dtype=np.float64)
    positions = np.linspace(0.0, 1.0, len(stops))
    t = np.linspace(0.0, 1.0, 256)
    lut = np.stack([np.interp(t, positions, colours[:, c]) for c in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


def _turbo() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 256)
    channels = [np.polynomial.polynomial.polyval(t, coeffs) for coeffs in _TURBO]
    return np.round(np.clip(np.stack(channels, axis=1), 0.0, 1.0) * 255.0).astype(np.uint8)


@cache
def _lut(base: str) -> np.ndarray:
    lut = _turbo() if base == "turbo" else _from_stops(_STOPS[base])
    lut.setflags(write=False)
    return lut


def get_colormap(name: str) -> np.ndarray:
    """Read-only uint8 LUT ``[256, 3]`` for ``name`` (case-insensitive; ``grey`` = ``gray``; ``_r`` reverses)."""
    key = name.lower().replace("grey", "gray")
    reverse = key.endswith("_r")
    base = key[:-2] if reverse else key
    if base != "turbo" and base not in _STOPS:
        allowed = ", ".join(COLORMAP_NAMES)
        raise ValueError(f"colormap must be one of {allowed} (optionally with _r), got {name!r}")
    lut = _lut(base)
    return lut[::-1] if reverse else lut


def apply_colormap(values: np.ndarray, colormap: str | np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (clipped; NaN -> 0) ``[H, W]`` to uint8 RGB ``[H, W, 3]``."""
    lut = get_colormap(colormap) if isinstance(colormap, str) else np.asarray(colormap, dtype=np.uint8)
    if lut.ndim != 2 or lut.shape[1] != 3 or lut.shape[0] < 2:
        raise ValueError(f"colormap LUT must have shape [K>=2, 3], got {lut.shape}")
    scaled = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0) * np.float32(lut.shape[0] - 1)
    index = np.clip(np.rint(scaled), 0, lut.shape[0] - 1).astype(np.intp)
    return lut[index]


# Colormaps whose warm end comes first: near is drawn with their first colour (red for Spectral).
_WARM_FIRST = frozenset({"spectral"})


def depth_colors(nearness: np.ndarray, colormap: str = "Spectral", invert: bool = False) -> np.ndarray:
    """The one preview convention: ``nearness`` in [0,1] (1 = nearest, e.g. disparity) -> uint8 RGB
    ``[..., 3]`` with the nearest at the colormap's warm or bright end (red for Spectral and turbo, as in
    the paper's figures; bright for inferno and viridis; white for gray); ``invert`` swaps near and far."""
    flipped = colormap.lower().endswith("_r")
    base = colormap[:-2] if flipped else colormap
    values = np.asarray(nearness, dtype=np.float32)
    if (base.lower() in _WARM_FIRST) ^ flipped ^ invert:
        values = 1.0 - values
    return apply_colormap(values, base)


def colorize_values(values: np.ndarray, colormap: str, invert: bool = False, range: str = "shot") -> np.ndarray:
    """Values [N,H,W] (1 = nearest, e.g. disparity) -> uint8 RGB [N,H,W,3] by :func:`depth_colors`.

    ``range``: "shot" stretches the batch's min..max to 0..1 (no flicker), "per-frame" each frame's own
    min..max, "none" takes the values as they are.
    """
    values = np.asarray(values, dtype=np.float32)
    get_colormap(colormap)  # validates the name
    low, high = float(values.min()), float(values.max())
    out = np.empty((*values.shape, 3), dtype=np.uint8)
    for i, frame in enumerate(values):
        if range == "per-frame":
            low, high = float(frame.min()), float(frame.max())
        if range != "none":
            frame = (frame - low) / max(high - low, 1e-6)
        out[i] = depth_colors(frame, colormap, invert)
    return out
