"""Keeping props apart from each other and from the camera path."""

from __future__ import annotations

import numpy as np

from ..scene import Primitive


class Placer:
    """2-D (xz) rejection sampler keeping props apart from each other and from the camera path."""

    def __init__(self, cam_xz: np.ndarray, clearance: float):
        self.cam = np.asarray(cam_xz, np.float64)  # [T,2]
        self.clear = clearance
        self.items: list[tuple[np.ndarray, float]] = []

    def free(self, xz, r: float, gap: float = 0.05) -> bool:
        xz = np.asarray(xz, np.float64)
        if np.min(np.linalg.norm(self.cam - xz, axis=1)) < r + self.clear:
            return False
        return all(np.linalg.norm(c - xz) >= r + rr + gap for c, rr in self.items)

    def add(self, xz, r: float) -> None:
        self.items.append((np.asarray(xz, np.float64), float(r)))

    def claim(self, xz, r: float, gap: float = 0.05) -> bool:
        """Take the spot at ``xz`` if it is free; returns whether it was."""
        if not self.free(xz, r, gap):
            return False
        self.add(xz, r)
        return True

    def sample(self, rng: np.random.Generator, lo, hi, r: float, tries: int = 40):
        for _ in range(tries):
            xz = rng.uniform(lo, hi)
            if self.free(xz, r):
                self.add(xz, r)
                return xz
        return None

    def path_free(self, path_xz: np.ndarray, r: float) -> bool:
        """Moving object: clear of the camera at each frame and of all static items at all frames."""
        if np.min(np.linalg.norm(self.cam - path_xz, axis=1)) < r + self.clear:
            return False
        for c, rr in self.items:
            if np.min(np.linalg.norm(path_xz - c, axis=1)) < r + rr + 0.05:
                return False
        return True

    def add_path(self, path_xz: np.ndarray, r: float) -> None:
        """Keep later props off a moving object's whole path (sampled at up to ~8 points)."""
        for p in path_xz[:: max(1, len(path_xz) // 8)]:
            self.add(p, r)


def moving_path(prim: Primitive, times: np.ndarray) -> np.ndarray:
    """The xz centre of ``prim`` at each of ``times``."""
    return np.array([prim.pose_at(float(t))[[0, 2], 3] for t in times])
