"""Texture library shared by both renderers.

Textures are real photographs and material scans shipped inside scikit-image (``skimage.data``; these load
offline), plus a few procedural materials (wood planks, plaster, facades with windows, asphalt) derived from
them. When scikit-image is missing every name falls back to a deterministic procedural texture, so the
engine still works (with less realistic images).

All textures are returned as float32 arrays ``[S, S, 3]`` in *linear* RGB (sRGB decoded), ``S`` a power of
two, so the GL renderer can mipmap them and the ray caster samples exactly the same texels.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

log = logging.getLogger(__name__)

TEX_SIZE = 256

# Colour photographs usable as posters, billboards, paintings, box prints.
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")
# Grey-level photographs usable as posters once tinted.
GREY_PHOTOS = ("camera", "moon", "coins", "text", "page")
# Tileable-ish material scans / procedural materials.
MATERIALS = (
    "brick",
    "grass",
    "gravel",
    "wood",
    "plaster",
    "asphalt",
    "tiles",
    "facade",
    "facade_glass",
    "fabric",
)

ALL_TEXTURES = PHOTOS + GREY_PHOTOS + MATERIALS


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    """Area-style resize (float image [h,w,c]) to [size,size,c] via PIL."""
    from PIL import Image

    chans = []
    for c in range(img.shape[2]):
        im = Image.fromarray(img[..., c].astype(np.float32), mode="F")
        chans.append(
            np.asarray(
                im.resize(
                    (size, size),
                    Image.Resampling.LANCZOS if size < min(img.shape[:2]) else Image.Resampling.BILINEAR,
                )
            )
        )
    return np.clip(np.stack(chans, -1), 0.0, 1.0).astype(np.float32)


def _center_square(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return img[y0 : y0 + s, x0 : x0 + s]


def _value_noise(rng: np.random.Generator, size: int, octaves: int = 5, base: int = 4) -> np.ndarray:
    """Tileable fractal value noise in [0,1], shape [size,size]."""
    out = np.zeros((size, size), np.float64)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        n = base * 2**o
        grid = rng.random((n, n))
        coords = np.arange(size) * n / size
        i0 = np.floor(coords).astype(int)
        f = coords - i0
        f = f * f * (3 - 2 * f)
        i1 = (i0 + 1) % n
        g00 = grid[i0][:, i0]
        g01 = grid[i0][:, i1]
        g10 = grid[i1][:, i0]
        g11 = grid[i1][:, i1]
        fy, fx = f[:, None], f[None, :]
        layer = (g00 * (1 - fx) + g01 * fx) * (1 - fy) + (g10 * (1 - fx) + g11 * fx) * fy
        out += amp * layer
        total += amp
        amp *= 0.5
    return (out / total).astype(np.float32)


def _skimage(name: str) -> np.ndarray | None:
    try:
        import skimage.data as data  # noqa: PLC0415

        img = getattr(data, name)()
    except Exception as err:  # missing package or data file
        log.debug("skimage.data.%s unavailable: %s", name, err)
        return None
    img = np.asarray(img)
    if name == "brick":  # courses run vertically in the scan; make them horizontal
        img = np.rot90(img)
    if img.dtype == bool:
        img = img.astype(np.float32)
    elif img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    else:
        img = img.astype(np.float32)
        img = (img - img.min()) / max(float(img.max() - img.min()), 1e-6)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    return img[..., :3]


def _procedural_fallback(name: str, size: int) -> np.ndarray:
    rng = np.random.default_rng(sum(map(ord, name)) * 7919)
    n = _value_noise(rng, size, octaves=6, base=4)
    col = 0.3 + 0.6 * rng.random(3)
    return np.clip(n[..., None] * col[None, None, :] * 1.4, 0, 1).astype(np.float32)


def _normalise_grey(g: np.ndarray, mean: float = 0.6, contrast: float = 1.0) -> np.ndarray:
    g = g.astype(np.float32)
    g = (g - g.mean()) * contrast + mean
    return np.clip(g, 0, 1)


def _srgb_texture(name: str, size: int) -> np.ndarray:
    """Texture in sRGB [size,size,3] float in [0,1]."""
    rng = np.random.default_rng(sum(map(ord, name)) * 104729)
    if name in PHOTOS or name in GREY_PHOTOS or name in ("brick", "grass", "gravel"):
        img = _skimage(name)
        if img is None:
            return _procedural_fallback(name, size)
        img = _resize(_center_square(img), size)
        if name in ("brick", "grass", "gravel"):
            img = _normalise_grey(img, 0.55, 1.2)
        return img
    if name == "wood":
        # planks: stretched noise along x with per-plank offsets, warm brown
        n = _value_noise(rng, size, octaves=5, base=2)
        grain = np.sin(np.arange(size)[:, None] / size * 60 + n * 18) * 0.5 + 0.5
        planks = 8
        y = np.arange(size)[:, None] * planks // size
        offs = rng.random(planks)[y]
        seams = ((np.arange(size)[:, None] * planks) % size < 2).astype(np.float32)
        v = 0.55 + 0.25 * grain * 0.6 + 0.2 * (offs - 0.5) + 0.15 * (n - 0.5)
        v = v * (1 - 0.6 * seams)
        col = np.array([0.62, 0.42, 0.25], np.float32)
        return np.clip(v[..., None] * col * 1.3, 0, 1)
    if name == "plaster":
        n = _value_noise(rng, size, octaves=6, base=8)
        v = 0.82 + 0.12 * (n - 0.5)
        return np.clip(np.repeat(v[..., None], 3, -1), 0, 1)
    if name == "fabric":
        n = _value_noise(rng, size, octaves=4, base=8)
        xs = np.arange(size)
        weave = 0.5 + 0.25 * np.sin(xs[:, None] * np.pi / 2) * np.sin(xs[None, :] * np.pi / 2)
        v = 0.5 + 0.3 * weave + 0.2 * (n - 0.5)
        return np.clip(np.repeat(v[..., None], 3, -1), 0, 1)
    if name == "asphalt":
        g = _skimage("gravel")
        g = _resize(_center_square(g), size) if g is not None else _procedural_fallback(name, size)
        n = _value_noise(rng, size, octaves=5, base=2)[..., None]
        return np.clip(0.18 + 0.35 * (g - g.mean()) + 0.08 * (n - 0.5), 0, 1)
    if name == "tiles":
        n = _value_noise(rng, size, octaves=5, base=8)
        k = 4
        cell = np.arange(size) * k // size
        shade = 0.75 + 0.15 * rng.random((k, k))[cell[:, None], cell[None, :]]
        grout = ((np.arange(size) * k) % size < 3)[:, None] | ((np.arange(size) * k) % size < 3)[None, :]
        v = np.where(grout, 0.35, shade + 0.06 * (n - 0.5))
        return np.clip(np.repeat(v[..., None], 3, -1), 0, 1)
    if name in ("facade", "facade_glass"):
        b = _skimage("brick")
        b = _resize(_center_square(b), size) if b is not None else _procedural_fallback("brick", size)
        b = _normalise_grey(b, 0.6, 1.0)
        img = b.copy()
        # one storey per texture repeat: two windows side by side
        ys = np.arange(size)[:, None] / size
        xs = np.arange(size)[None, :] / size
        win = ((ys > 0.25) & (ys < 0.8)) & (((xs > 0.1) & (xs < 0.4)) | ((xs > 0.6) & (xs < 0.9)))
        frame = (
            ((ys > 0.22) & (ys < 0.83)) & (((xs > 0.08) & (xs < 0.42)) | ((xs > 0.58) & (xs < 0.92))) & ~win
        )
        glass = 0.12 + 0.35 * (1 - ys) * np.ones_like(xs)
        if name == "facade_glass":
            glass = glass + 0.15 * _value_noise(rng, size, 4, 4)
        img = np.where(win[..., None], np.stack([glass * 0.8, glass * 0.9, glass * 1.1], -1), img)
        img = np.where(frame[..., None], 0.85, img)
        return np.clip(img, 0, 1).astype(np.float32)
    return _procedural_fallback(name, size)


@functools.lru_cache(maxsize=64)
def get_texture(name: str, size: int = TEX_SIZE) -> np.ndarray:
    """Linear-RGB float32 texture ``[size, size, 3]`` (cached per process; treat as read-only)."""
    tex = _srgb_to_linear(_srgb_texture(name, size))
    tex.setflags(write=False)
    return tex


def have_photographs() -> bool:
    """True when scikit-image's bundled photographs can be loaded."""
    return _skimage("astronaut") is not None
