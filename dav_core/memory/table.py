"""The planner's choices for a model on GPU budgets, as a Markdown table (the README's).

    python -m dav_core.memory.table CONFIGS [--precision fp16] [--budgets 8,12,16,24]

CONFIGS is a model folder (``unet/config.json``, ``vae/config.json``, ...) or a JSON file with a
``config`` per component, like ``full_size_state_dict_manifest.json``: no weights are needed. The
settings are the defaults of ``dav depth`` with the published model's interpolation window.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..models.loading import DTYPES
from ..resize import FrameGeometry
from ..settings import LongVideoSettings
from .budget import GIB, format_bytes
from .estimate import ModelSpec
from .plan import plan_memory

# (input H, W, long side the model works at): the published model's 960, and 1080p at full size
CASES = ((540, 960, 960), (1080, 1920, 960), (1080, 1920, 1920))


def read_configs(path: Path) -> dict[str, dict]:
    if path.is_dir():
        return {
            name: json.loads((path / name / "config.json").read_text())
            for name in ("unet", "vae", "unet_interp")
            if (path / name / "config.json").is_file()
        }
    return {name: entry["config"] for name, entry in json.loads(path.read_text()).items()}


def table(spec: ModelSpec, budgets: list[int], cases=CASES) -> str:
    lines = [
        "| input | model works at | budget | chunk_size | window | window_batch | keyframes per pass | estimated peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for height, width, long_side in cases:
        size = FrameGeometry.for_input(height, width, long_side).padded_size
        for budget in budgets:
            own = LongVideoSettings(window=0)  # the model's window, shortened where it does not fit
            plan = plan_memory(spec, size, budget * GIB, own, lower_window=True)
            sizes = f"{plan.chunk_size} | {plan.window} | {plan.window_batch} | {plan.max_keyframes_per_pass}"
            peak = format_bytes(max(plan.peaks.values()))
            if not plan.fits:
                sizes, peak = "– | – | – | –", f"does not fit (smallest sizes: {peak})"
            lines.append(f"| {width}×{height} | {size[1]}×{size[0]} | {budget} GB | {sizes} | {peak} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", type=Path, help="model folder or JSON with a config per component")
    parser.add_argument("--precision", default="fp16", choices=sorted(DTYPES))
    parser.add_argument("--budgets", default="8,12,16,24", help="GB, comma-separated")
    args = parser.parse_args()
    spec = ModelSpec.from_configs(read_configs(args.configs), DTYPES[args.precision])
    budgets = [int(b) for b in args.budgets.split(",")]
    print(f"weights: {format_bytes(spec.weight_bytes)} ({args.precision})\n")
    print(table(spec, budgets))


if __name__ == "__main__":
    main()
