"""How a scene is filmed: the camera move, its speed and heading, and the room it may move in."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..camera import apply_shake, make_trajectory

PAN_FAST_GAIN = 2.5  # how much faster a "fast" pan turns


class Move(NamedTuple):
    """Camera kind, hand-held shake strength (0 = none, 1 = normal, 2-3 = strong) and fast motion."""

    kind: str
    shake: float
    fast: bool


def pick_move(rng) -> Move:
    """Orbit, dolly, pan, tracking or static camera, with optional shake and fast motion.

    A static (tripod) camera never shakes; the families add more moving objects to its clips."""
    kind = str(rng.choice(["orbit", "dolly", "pan", "tracking", "static"], p=[0.26, 0.3, 0.13, 0.18, 0.13]))
    shake = 0.0
    if kind != "static" and rng.random() < 0.4:
        shake = float(rng.uniform(2.0, 3.0)) if rng.random() < 0.3 else 1.0
    fast = bool(rng.random() < 0.2) and kind != "static"
    return Move(kind, shake, fast)


def extra_movers(kind: str) -> int:
    """Moving objects added to static-camera clips (there only the objects move)."""
    return 2 if kind == "static" else 0


def shoot(rng, times, move: Move, kind: str | None = None, **kw) -> tuple[np.ndarray, dict]:
    """Camera-to-world poses for ``times`` along a ``kind`` trajectory (``move.kind`` unless given), shaken
    if the move is hand-held; returns the poses and the trajectory's description."""
    c2w, info = make_trajectory(move.kind if kind is None else kind, rng, times, **kw)
    if move.shake:
        amp = rng.uniform(0.5, 1.0) * move.shake
        c2w = apply_shake(rng, c2w, times, 0.02 * amp, 1.2 * amp)
    info.update(shake=bool(move.shake), shake_strength=float(move.shake), fast=move.fast)
    return c2w, info


def travel_speed(rng, move: Move, cruise: tuple[float, float], fast_gain: float, pan: tuple[float, float]):
    """Speed of the camera: m/s drawn from ``cruise`` (times ``fast_gain`` for a fast move), or rad/s drawn
    from ``pan`` for a pan."""
    speed = rng.uniform(*cruise) * (fast_gain if move.fast else 1)
    if move.kind == "pan":
        speed = rng.uniform(*pan) * (PAN_FAST_GAIN if move.fast else 1)
    return speed


def heading_along_x(rng, spread: float) -> float:
    """Heading (radians about y) towards +x or -x, off by a normal angle of width ``spread``."""
    return (math.pi / 2 if rng.random() < 0.5 else -math.pi / 2) + rng.normal(0, spread)


def box_clamp(x_lo: float, x_hi: float, z_lo: float, z_hi: float):
    """A clamp for camera positions ``[T,3]`` that keeps them inside an xz rectangle."""

    def clamp(e: np.ndarray) -> np.ndarray:
        e = e.copy()
        e[:, 0] = np.clip(e[:, 0], x_lo, x_hi)
        e[:, 2] = np.clip(e[:, 2], z_lo, z_hi)
        return e

    return clamp
