"""Command-line options shared by `dav depth` and `dav eval` (parsing only; no torch import)."""

from __future__ import annotations

import argparse

from ..longvideo.plan import PASS_CHAINING


def add_sampling_options(p: argparse.ArgumentParser) -> None:
    """--steps, --seed, --max-resolution."""
    p.add_argument("--steps", type=int, default=3, help="Euler steps, 1..50 (default 3)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument(
        "--max-resolution",
        type=int,
        default=0,
        help="long side seen by the model; 0 (default): the model's own (64 for the bundled model, "
        "960 for the published one)",
    )


def add_keyframe_options(p: argparse.ArgumentParser) -> None:
    """--keyframes-per-pass, --pass-chaining."""
    p.add_argument(
        "--keyframes-per-pass", type=int, default=32, help="keyframes denoised jointly (default 32)"
    )
    p.add_argument(
        "--pass-chaining",
        default=PASS_CHAINING[0],
        choices=PASS_CHAINING,
        help="how keyframe passes after the first keep the earlier passes' depth scale: pin the shared "
        "keyframes along the flow (default), align by scale/shift afterwards, or none",
    )
