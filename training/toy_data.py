"""Tiny clips built directly (no renderer): textured planes and moving boxes with exact depth.

Used by the tests and handy for smoke runs; written in the ``dav_core.synthetic`` clip format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dav_core.synthetic import SyntheticClip, write_clip


def make_toy_clip(seed: int, frames: int = 8, size: tuple[int, int] = (64, 64)) -> SyntheticClip:
    """A slanted, striped background (4-8 m) with two moving rectangles (1.5-3.5 m) in front."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(0.2, 0.6, 3)
    slope = rng.uniform(-1, 1)
    boxes = []
    for _ in range(2):
        boxes.append(
            dict(
                depth=rng.uniform(1.5, 3.5),
                color=rng.uniform(0.3, 1.0, 3),
                hw=(rng.integers(h // 5, h // 3), rng.integers(w // 5, w // 3)),
                start=(rng.uniform(0.2, 0.6) * h, rng.uniform(0.2, 0.6) * w),
                vel=rng.uniform(-1.5, 1.5, 2) * (h / 64),
            )
        )
    boxes.sort(key=lambda b: -b["depth"])
    rgb = np.zeros((frames, h, w, 3), np.float32)
    depth = np.zeros((frames, h, w), np.float32)
    for t in range(frames):
        stripes = 0.1 * np.sin((xx + 1.5 * t) / 3.0) * np.cos(yy / 4.0)
        img = base[None, None] + stripes[..., None]
        dep = 6.0 + 2.0 * slope * (yy / h - 0.5) + 1.0 * (xx / w)
        for b in boxes:
            y0 = int(round(b["start"][0] + b["vel"][0] * t))
            x0 = int(round(b["start"][1] + b["vel"][1] * t))
            inside = (yy >= y0) & (yy < y0 + b["hw"][0]) & (xx >= x0) & (xx < x0 + b["hw"][1])
            check = 0.15 * (((xx - x0) // 4 + (yy - y0) // 4) % 2)
            img = np.where(inside[..., None], b["color"][None, None] - check[..., None], img)
            dep = np.where(inside, b["depth"], dep)
        rgb[t], depth[t] = img, dep
    rgb_u8 = (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)
    fx = 0.8 * w
    return SyntheticClip(
        rgb=rgb_u8,
        depth=depth,
        valid=np.ones_like(depth, bool),
        intrinsics=np.array([[fx, 0, (w - 1) / 2], [0, fx, (h - 1) / 2], [0, 0, 1]], np.float64),
        poses=np.tile(np.eye(4), (frames, 1, 1)),
        fps=10.0,
        scene_type="toy",
        seed=seed,
        timestamps=np.arange(frames) / 10.0,
        meta={"generator": "training.toy_data"},
    )


def write_toy_dataset(
    root: str | Path,
    clips: int,
    frames: int = 8,
    size: tuple[int, int] = (64, 64),
    seed: int = 0,
    sizes: list[tuple[int, int]] | None = None,
) -> Path:
    """``clips`` toy clips into ``root``/clip_XXXXXX (``sizes`` cycles resolutions over clips). PNG frames."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        clip_size = sizes[i % len(sizes)] if sizes else size
        write_clip(make_toy_clip(seed + i, frames, clip_size), root / f"clip_{i:06d}", rgb_format="png")
    return root
