"""Texture library shared by both renderers.

Textures are every photograph and material scan shipped inside scikit-image (``skimage.data``; these load
offline), zoomed crops of the larger photographs (``"retina~2"``), plus procedural materials (wood planks,
plaster, facades with windows, asphalt, marble, concrete, cobblestones, foliage, brushed metal, painted
stripes and patterns). :func:`remix_textures` swaps a clip's textures for others of the same kind, so a
model cannot learn which texture goes with which geometry. When scikit-image is missing every name falls back to a deterministic procedural texture, so the
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

# More photographs scikit-image ships (drawn by remix_textures; the scene families keep the lists above).
EXTRA_PHOTOS = ("colorwheel", "retina", "logo", "motorcycle_left", "motorcycle_right")
EXTRA_GREY_PHOTOS = ("clock", "cell", "microaneurysms", "checkerboard", "horse", "shepp_logan_phantom")
# Zoomed crops ("name~k": crop k of 3, half the short side, placed by a seed of the name).
CROP_SOURCES = ("astronaut", "coffee", "rocket", "hubble_deep_field", "retina", "motorcycle_left", "chelsea")
PHOTO_CROPS = tuple(f"{name}~{k}" for name in CROP_SOURCES for k in range(3))
EXTRA_MATERIALS = (
    "marble",
    "concrete",
    "cobblestone",
    "foliage",
    "brushed_metal",
    "stripes",
    "checker",
    "paint",
    "carpet",
)

ALL_TEXTURES = PHOTOS + GREY_PHOTOS + MATERIALS
ALL_PHOTOS = PHOTOS + GREY_PHOTOS + EXTRA_PHOTOS + EXTRA_GREY_PHOTOS + PHOTO_CROPS
ALL_MATERIALS = MATERIALS + EXTRA_MATERIALS
EVERY_TEXTURE = ALL_PHOTOS + ALL_MATERIALS


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

        if name.startswith("motorcycle_"):
            left, right, _ = data.stereo_motorcycle()
            img = left if name == "motorcycle_left" else right
        else:
            img = getattr(data, name)()
    except Exception as err:  # missing package or data file
        log.debug("skimage.data.%s unavailable: %s", name, err)
        return None
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] == 4:  # RGBA logo: composite over white
        alpha = img[..., 3:4].astype(np.float32) / 255.0
        img = (img[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
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
    if name in PHOTO_CROPS:
        return _photo_crop(name, size)
    if name in EXTRA_MATERIALS:
        return _procedural_material(name, rng, size)
    if name in ALL_PHOTOS or name in ("brick", "grass", "gravel"):
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


def _photo_crop(name: str, size: int) -> np.ndarray:
    source, k = name.split("~")
    img = _skimage(source)
    if img is None:
        return _procedural_fallback(name, size)
    h, w = img.shape[:2]
    s = min(h, w) // 2
    rng = np.random.default_rng([sum(map(ord, source)), int(k)])
    y0, x0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
    return _resize(img[y0 : y0 + s, x0 : x0 + s], size)


def _cells(rng: np.random.Generator, size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Tileable Voronoi cells: (cell id [S,S], distance to the cell border proxy [S,S] in texels)."""
    pts = rng.random((count, 2)) * size  # [N,2]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    d = np.full((2, size, size), np.inf, np.float32)  # nearest, second nearest
    ids = np.zeros((size, size), np.int64)
    for i, (py, px) in enumerate(pts):
        dy = np.abs(yy - py)
        dx = np.abs(xx - px)
        dist = np.hypot(np.minimum(dy, size - dy), np.minimum(dx, size - dx))  # wrap-around: tileable
        closer = dist < d[0]
        d[1] = np.where(closer, d[0], np.minimum(d[1], dist))
        d[0] = np.where(closer, dist, d[0])
        ids = np.where(closer, i, ids)
    return ids, d[1] - d[0]


def _procedural_material(name: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """The procedural materials of ``EXTRA_MATERIALS`` in sRGB [size,size,3], deterministic per name."""
    xs = np.arange(size, dtype=np.float32)
    n = _value_noise(rng, size, octaves=6, base=4)
    if name == "marble":
        veins = np.abs(np.sin((xs[None, :] / size * 6 + xs[:, None] / size * 3 + 4 * n) * np.pi))
        v = 0.55 + 0.4 * veins**0.3
        return np.clip(v[..., None] * np.array([0.95, 0.93, 0.9]), 0, 1).astype(np.float32)
    if name == "concrete":
        fine = _value_noise(rng, size, octaves=3, base=32)
        v = 0.5 + 0.25 * (n - 0.5) + 0.2 * (fine - 0.5)
        return np.clip(np.repeat(v[..., None], 3, -1), 0, 1).astype(np.float32)
    if name == "cobblestone":
        ids, border = _cells(rng, size, 28)
        shade = 0.35 + 0.35 * rng.random(28)[ids]
        v = np.where(border < 3.0, 0.12, shade + 0.15 * (n - 0.5))
        return np.clip(v[..., None] * np.array([1.0, 0.92, 0.8]), 0, 1).astype(np.float32)
    if name == "foliage":
        ids, border = _cells(rng, size, 90)
        leaf = 0.25 + 0.5 * rng.random(90)[ids] * np.clip(border / 4, 0.2, 1)
        hue = np.stack([0.35 + 0.3 * rng.random(90), 0.7 + 0.3 * rng.random(90), 0.2 + 0.2 * rng.random(90)], -1)
        return np.clip(leaf[..., None] * hue[ids], 0, 1).astype(np.float32)
    if name == "brushed_metal":
        streaks = _value_noise(rng, size, octaves=5, base=64).mean(axis=1, keepdims=True)
        v = 0.6 + 0.5 * (streaks - streaks.mean()) + 0.05 * (n - 0.5)
        return np.clip(np.broadcast_to(v, (size, size))[..., None] * np.array([0.9, 0.92, 0.95]), 0, 1).astype(
            np.float32
        )
    if name == "stripes":
        colours = rng.random((6, 3)) * 0.8 + 0.1
        band = (xs[:, None] * 6 // size).astype(int) % 6
        img = colours[np.broadcast_to(band, (size, size))]
        return np.clip(img * (0.9 + 0.2 * n[..., None]), 0, 1).astype(np.float32)
    if name == "checker":
        colours = rng.random((2, 3)) * 0.8 + 0.1
        cell = ((xs[:, None] * 8 // size + xs[None, :] * 8 // size) % 2).astype(int)
        return np.clip(colours[cell] * (0.92 + 0.16 * n[..., None]), 0, 1).astype(np.float32)
    if name == "paint":
        ids, _ = _cells(rng, size, 12)
        colours = rng.random((12, 3)) * 0.85 + 0.1
        return np.clip(colours[ids] * (0.85 + 0.3 * n[..., None]), 0, 1).astype(np.float32)
    if name == "carpet":
        fibres = rng.random((size, size, 3)).astype(np.float32)
        base = rng.random(3) * 0.6 + 0.2
        return np.clip(base * (0.75 + 0.3 * n[..., None]) + 0.12 * (fibres - 0.5), 0, 1).astype(np.float32)
    raise ValueError(f"unknown procedural material {name!r}")


def remix_textures(materials: list, rng: np.random.Generator, probability: float = 0.5) -> dict[str, str]:
    """A per-clip substitution ``{old: new}`` for the texture names of ``materials``.

    Each distinct name is replaced, with ``probability``, by a random texture of the same kind
    (photograph for photograph, material for material), so texture statistics say nothing about a
    surface's shape or distance. Names of neither kind are kept.
    """
    names = sorted({m.texture for m in materials})
    mapping = {}
    for name in names:
        pool = ALL_PHOTOS if name in ALL_PHOTOS else ALL_MATERIALS if name in ALL_MATERIALS else None
        if pool is not None and rng.random() < probability:
            mapping[name] = str(rng.choice(pool))
    return mapping


@functools.lru_cache(maxsize=128)
def get_texture(name: str, size: int = TEX_SIZE) -> np.ndarray:
    """Linear-RGB float32 texture ``[size, size, 3]`` (cached per process; treat as read-only)."""
    tex = _srgb_to_linear(_srgb_texture(name, size))
    tex.setflags(write=False)
    return tex


def have_photographs() -> bool:
    """True when scikit-image's bundled photographs can be loaded."""
    return _skimage("astronaut") is not None
