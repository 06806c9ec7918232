"""The skeleton every scene family fills in: a static set, a camera move filming it, props kept off the
camera path, moving objects, lights and the finished :class:`Scene`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..scene import Environment, Light, Primitive, Scene
from .movers import add_movers
from .placement import Placer
from .shots import Move, extra_movers, shoot

Built = tuple[Scene, np.ndarray, dict]  # the scene, camera-to-world poses [T,4,4], trajectory description


@dataclass
class Stage:
    """A scene under construction: its primitives, then the camera path and the placer that keeps props
    clear of it, then the count of moving objects."""

    rng: np.random.Generator
    times: np.ndarray
    prims: list[Primitive] = field(default_factory=list)
    move: Move | None = None
    c2w: np.ndarray | None = None
    traj: dict = field(default_factory=dict)
    placer: Placer | None = None
    movers: int = 0

    def add(self, *prims: Primitive) -> None:
        self.prims.extend(prims)

    def shoot(self, move: Move, clearance: float, kind: str | None = None, **path) -> None:
        """Film the set with ``move`` (see :func:`shots.shoot`); props will keep ``clearance`` m from it."""
        self.move = move
        self.c2w, self.traj = shoot(self.rng, self.times, move, kind, **path)
        self.placer = Placer(self.c2w[:, [0, 2], 3], clearance=clearance)

    def add_movers(self, count: tuple[int, int], lo, hi, ground_y, speed: tuple[float, float], **kw) -> None:
        """Moving objects (``count`` is the range of how many, two more for a static camera); see
        :func:`movers.add_movers` for the rest."""
        n = int(self.rng.integers(*count)) + extra_movers(self.move.kind)
        self.movers = add_movers(
            self.rng, self.prims, self.placer, self.times, n, lo, hi, ground_y, speed, **kw
        )

    def finish(
        self, scene_type: str, lights: list[Light], env: Environment, bounds, max_depth: float, **info
    ) -> Built:
        scene = Scene(
            scene_type,
            self.prims,
            lights,
            env,
            bounds,
            max_depth=max_depth,
            info={**info, "movers": self.movers},
        )
        return scene, self.c2w, self.traj
