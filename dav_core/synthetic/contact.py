"""Contact sheets: RGB frames above colour-mapped depth for a few clips, as one PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

# anchor colours (near -> far) of a perceptually ordered map: yellow, orange, magenta, violet, deep blue
_ANCHORS = (
    np.array(
        [[252, 241, 160], [250, 170, 70], [226, 88, 90], [160, 40, 130], [80, 20, 130], [20, 10, 60]],
        np.float64,
    )
    / 255.0
)


def colorize_depth(
    depth: np.ndarray, valid: np.ndarray, lo: float | None = None, hi: float | None = None
) -> np.ndarray:
    """Depth [H,W] (metres) -> uint8 RGB [H,W,3] using inverse depth; invalid pixels black."""
    inv = np.where(valid, 1.0 / np.maximum(depth, 1e-6), 0.0)
    if lo is None or hi is None:
        vals = inv[valid]
        lo_i, hi_i = (np.percentile(vals, 1), np.percentile(vals, 99)) if vals.size else (0.0, 1.0)
    else:
        lo_i, hi_i = 1.0 / hi, 1.0 / lo
    x = 1.0 - np.clip((inv - lo_i) / max(hi_i - lo_i, 1e-9), 0, 1)  # 0 near, 1 far
    pos = x * (len(_ANCHORS) - 1)
    i0 = np.clip(np.floor(pos).astype(int), 0, len(_ANCHORS) - 2)
    f = (pos - i0)[..., None]
    rgb = _ANCHORS[i0] * (1 - f) + _ANCHORS[i0 + 1] * f
    rgb[~valid] = 0
    return (rgb * 255 + 0.5).astype(np.uint8)


def make_contact_sheet(clips: Sequence, path: str | Path, frames_per_clip: int = 4, scale: int = 1) -> Path:
    """Write a PNG: per clip one row of RGB frames and one row of depth (shared range per clip)."""
    from PIL import Image, ImageDraw

    rows = []
    for clip in clips:
        T = clip.rgb.shape[0]
        idx = np.unique(np.linspace(0, T - 1, frames_per_clip).round().astype(int))
        vals = clip.depth[clip.valid]
        lo, hi = (float(np.percentile(vals, 1)), float(np.percentile(vals, 99))) if vals.size else (0.1, 1.0)
        top = np.concatenate([clip.rgb[i] for i in idx], 1)
        bot = np.concatenate(
            [colorize_depth(clip.depth[i], clip.valid[i], lo, max(hi, lo + 1e-3)) for i in idx], 1
        )
        block = np.concatenate([top, bot], 0)
        if scale > 1:
            block = np.repeat(np.repeat(block, scale, 0), scale, 1)
        img = Image.fromarray(block)
        d = ImageDraw.Draw(img)
        label = f"{clip.scene_type} seed={clip.seed} {clip.fps:g}fps {clip.meta.get('trajectory', {}).get('kind', '')} {hi:.1f}m"
        d.rectangle([0, 0, 7 * len(label) + 4, 12], fill=(0, 0, 0))
        d.text((2, 0), label, fill=(255, 255, 255))
        rows.append(np.asarray(img))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(out)
    return out
