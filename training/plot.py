"""Loss curve PNG from the JSONL log: matplotlib when installed, else drawn with PIL."""

from __future__ import annotations

import json
import math
from pathlib import Path


def read_log(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_loss(log_path: Path, png_path: Path, key: str = "loss") -> Path | None:
    records = [r for r in read_log(log_path) if key in r and math.isfinite(r[key])]
    if not records:
        return None
    series: dict[str, list[tuple[int, float]]] = {}
    for r in records:
        series.setdefault(r.get("phase", "train"), []).append((r["step"], r[key]))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return _plot_pil(series, png_path, key)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for name, pts in series.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name)
    ax.set_xlabel("step")
    ax.set_ylabel(key)
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path)
    plt.close(fig)
    return png_path


def _plot_pil(series: dict[str, list[tuple[int, float]]], png_path: Path, key: str) -> Path:
    from PIL import Image, ImageDraw

    w, h, pad = 700, 400, 50
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    pts_all = [p for pts in series.values() for p in pts]
    x0, x1 = min(p[0] for p in pts_all), max(p[0] for p in pts_all)
    ys = [math.log10(max(p[1], 1e-12)) for p in pts_all]
    y0, y1 = min(ys), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1e-3)

    def xy(step: float, value: float) -> tuple[float, float]:
        ly = math.log10(max(value, 1e-12))
        return pad + (step - x0) / (x1 - x0) * (w - 2 * pad), h - pad - (ly - y0) / (y1 - y0) * (h - 2 * pad)

    draw.rectangle([pad, pad, w - pad, h - pad], outline="black")
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for i, (name, pts) in enumerate(series.items()):
        color = colors[i % len(colors)]
        if len(pts) > 1:
            draw.line([xy(*p) for p in pts], fill=color, width=2)
        else:
            x, y = xy(*pts[0])
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=color)
        draw.text((pad + 5, pad + 5 + 12 * i), name, fill=color)
    draw.text((pad, h - pad + 8), f"step {x0}", fill="black")
    draw.text((w - pad - 60, h - pad + 8), f"{x1}", fill="black")
    draw.text((5, pad - 15), f"{key} (log) {10**y1:.3g}", fill="black")
    draw.text((5, h - pad + 20), f"{10**y0:.3g}", fill="black")
    img.save(png_path)
    return png_path
