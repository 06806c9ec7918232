"""Measure ClipFilter on a folder of clean synthetic clips and on corrupted copies of them.

    python -m training.calibrate_filter --data data/synth_calib --out calib.json [--filter key=value ...]

Every clip of the folder is clean by construction (exact depth), so each rejection of a clean clip is a
false positive. Each clip is also corrupted the ways bad training data are (spliced with the next clip
of the same size, depth 2 frames late or early, depth shifted 4 px along x or y, depth of another clip),
and the share of corruptions caught is reported. Printed per scene family; the JSON holds every score,
so thresholds can be chosen from the score ranges (``docs/clip_filter_calibration.md``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from dav_core.filtering import ClipFilter
from dav_core.synthetic import clip_dirs, load_clip, load_meta

from .config import parse_override

LAG = 2
SHIFT_PX = 4
VARIANTS = ("clean", "splice", "lag+2", "lag-2", "shift_x", "shift_y", "foreign")


def shift_depth(depth: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Depth [T,H,W] moved by (dy, dx) >= 0 px; uncovered pixels become invalid (inf)."""
    out = np.full_like(depth, np.inf)
    h, w = depth.shape[1:]
    out[:, dy:, dx:] = depth[:, : h - dy, : w - dx]
    return out


def variants(rgb: np.ndarray, depth: np.ndarray, other_rgb: np.ndarray, other_depth: np.ndarray) -> dict:
    """The clean clip and its corruptions, each (rgb [T,H,W,3], depth [T,H,W]); ``other`` has the same size."""
    n = min(len(rgb), len(other_rgb)) - LAG  # every variant has n frames
    half = n // 2
    return {
        "clean": (rgb[:n], depth[:n]),
        "splice": (
            np.concatenate([rgb[:half], other_rgb[half:n]]),
            np.concatenate([depth[:half], other_depth[half:n]]),
        ),
        "lag+2": (rgb[:n], depth[LAG : n + LAG]),
        "lag-2": (rgb[LAG : n + LAG], depth[:n]),
        "shift_x": (rgb[:n], shift_depth(depth[:n], 0, SHIFT_PX)),
        "shift_y": (rgb[:n], shift_depth(depth[:n], SHIFT_PX, 0)),
        "foreign": (rgb[:n], other_depth[:n]),
    }


def _clip_arrays(path: Path) -> tuple[str, np.ndarray, np.ndarray]:
    clip = load_clip(path)
    depth = np.where(clip.valid, clip.depth, np.inf).astype(np.float32)  # as the trainer passes it
    return clip.scene_type, clip.rgb, depth


def calibrate(data: Path, clip_filter: ClipFilter, limit: int | None = None) -> list[dict]:
    """One record per clip: family, size, frames, and per variant passed / reasons / scores.

    Clips are read one pair at a time (the clip and the next one of the same size), never all at once.
    """
    dirs = clip_dirs(data)[:limit]
    if len(dirs) < 2:
        raise ValueError(f"--data {data} needs at least 2 clips, found {len(dirs)}")
    sizes = [(load_meta(p)["height"], load_meta(p)["width"]) for p in dirs]
    records = []
    for i, path in enumerate(dirs):
        partners = [j for j in [*range(i + 1, len(dirs)), *range(i)] if sizes[j] == sizes[i]]
        if not partners:
            continue
        family, rgb, depth = _clip_arrays(path)
        _, other_rgb, other_depth = _clip_arrays(dirs[partners[0]])
        if min(len(rgb), len(other_rgb)) <= LAG + 4:
            continue
        record = {"clip": path.name, "family": family, "size": list(rgb.shape[1:3]), "frames": len(rgb)}
        for name, (r, d) in variants(rgb, depth, other_rgb, other_depth).items():
            report = clip_filter.check_clip(r, d)
            record[name] = {"passed": report.passed, "reasons": report.reasons, "scores": report.scores}
        records.append(record)
        verdict = "pass" if record["clean"]["passed"] else "REJECT"
        print(
            f"{i + 1}/{len(dirs)} {path.name} {family}: clean {verdict} {record['clean']['reasons']}",
            file=sys.stderr,
        )
    return records


def summary_table(records: list[dict]) -> str:
    """Markdown: per family, clean clips kept and corruptions caught (counts)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[r["family"]].append(r)
    groups["all"] = records
    head = "| family | clips | clean kept | " + " | ".join(f"{v} caught" for v in VARIANTS[1:]) + " |"
    lines = [head, "|" + "---|" * (3 + len(VARIANTS) - 1)]
    for family, rs in sorted(groups.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        kept = sum(r["clean"]["passed"] for r in rs)
        caught = [sum(not r[v]["passed"] for r in rs) for v in VARIANTS[1:]]
        lines.append(f"| {family} | {len(rs)} | {kept} | " + " | ".join(str(c) for c in caught) + " |")
    return "\n".join(lines)


def reason_counts(records: list[dict], variant: str = "clean") -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        for reason in r[variant]["reasons"]:
            counts[reason] += 1
    return dict(counts)


def score_ranges(records: list[dict]) -> dict[str, dict[str, list[float]]]:
    """score -> variant -> [min, median, max] over clips (NaN scores left out)."""
    out: dict[str, dict[str, list[float]]] = defaultdict(dict)
    keys = sorted({k for r in records for k in r["clean"]["scores"]})
    for key in keys:
        for v in VARIANTS:
            values = [r[v]["scores"].get(key, math.nan) for r in records]
            values = [float(x) for x in values if isinstance(x, int | float) and math.isfinite(x)]
            if values:
                out[key][v] = [min(values), float(np.median(values)), max(values)]
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.calibrate_filter", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, required=True, help="folder of clean clips (dav synth output)")
    parser.add_argument("--out", type=Path, help="JSON with every score")
    parser.add_argument("--limit", type=int, help="only the first N clips")
    parser.add_argument(
        "--filter", nargs="*", default=[], help="ClipFilter settings, e.g. min_edge_contrast=1.05"
    )
    args = parser.parse_args(argv)
    settings = dict(parse_override(item) for item in args.filter)
    clip_filter = ClipFilter(**settings)
    records = calibrate(args.data, clip_filter, args.limit)
    print(summary_table(records))
    print("clean rejections by reason:", reason_counts(records))
    if args.out:
        args.out.write_text(
            json.dumps({"settings": settings, "records": records, "ranges": score_ranges(records)}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
