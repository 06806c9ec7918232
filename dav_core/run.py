"""A run resolved once: the settings for this model and memory, the frame geometry and the plan.

Every front end builds :class:`~dav_core.settings.LongVideoSettings`; :func:`resolve_run` turns them,
with the model and the clip's size and length, into one frozen :class:`ResolvedRun`. The job, the
streaming composition and the stages take that object, so nothing is planned twice, and the same object
can be handed to another process to compute part of the run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .longvideo.plan import VideoPlan, plan_long_video
from .memory.plan import MEMORY_FIELDS, MemoryPlan, fit_settings
from .resize import MIN_SINGLE_FRAME_SIZE, FrameGeometry
from .settings import LongVideoSettings, model_resolution

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedRun:
    """Settings with the window and chunk sizes set for the model and memory, and what follows from them."""

    settings: LongVideoSettings
    geometry: FrameGeometry  # input size -> the model's resized and padded size
    plan: VideoPlan  # keyframes, keyframe passes and interpolation windows of every frame
    memory: MemoryPlan | None = None  # the sizes chosen for the memory budget (None: memory off or kept)

    @property
    def num_frames(self) -> int:
        return self.plan.num_frames


def resolve_run(
    model,
    settings: LongVideoSettings,
    num_frames: int,
    frame_size: tuple[int, int] | None = None,
    *,
    geometry: FrameGeometry | None = None,
    free_bytes: int | None = None,
    kept_sizes: Mapping[str, int] | None = None,
    names: Mapping[str, str] | None = None,
) -> ResolvedRun:
    """``settings`` resolved for ``model`` and a clip of ``num_frames`` frames of ``frame_size`` (H, W)
    (or already encoded at ``geometry``).

    ``window`` 0 becomes the model's own; ``settings.memory`` lowers the chunk sizes to fit (``free_bytes``:
    free device memory when the caller knows it better than torch). ``kept_sizes``: the sizes a resumed
    run started with; they are kept when within the ones asked for, so its frames are not a mix of two
    schedules. ``names`` maps fields to the front end's options in errors.
    """
    names = names or {}
    if num_frames < 1:
        raise ValueError("no frames selected: the frame range selects nothing")
    if geometry is None:
        if frame_size is None:
            raise ValueError("resolve_run needs the frame size or the geometry of the frames")
        geometry = frame_geometry(model, settings, frame_size, num_frames)
    settings, memory = _fit(model, settings, geometry, free_bytes, kept_sizes, names)
    plan = plan_long_video(
        num_frames,
        window=settings.window,
        overlap=settings.overlap,
        max_keyframes_per_pass=settings.max_keyframes_per_pass,
        pass_overlap=settings.keyframe_pass_overlap,
    )
    if plan.windows and model.unet_interp is None:
        raise ValueError(
            f"{num_frames} frames need interpolation windows but this checkpoint has no unet_interp; use a "
            f"full Depth Any Video checkpoint or raise {names.get('max_keyframes_per_pass', 'max_keyframes_per_pass')}"
        )
    return ResolvedRun(settings, geometry, plan, memory)


def frame_geometry(model, settings, frame_size: tuple[int, int], num_frames: int) -> FrameGeometry:
    """How frames of ``frame_size`` (H, W) are resized and padded for ``model`` under ``settings``."""
    min_size = MIN_SINGLE_FRAME_SIZE if num_frames == 1 else 0
    return FrameGeometry.for_input(*frame_size, model_resolution(settings.max_resolution, model), min_size=min_size)


def _fit(model, settings, geometry, free_bytes, kept_sizes, names) -> tuple[LongVideoSettings, MemoryPlan | None]:
    """The settings for the model with the chunk sizes for the memory budget (or the kept ones)."""
    asked = settings.for_model(model)
    kept = {f: kept_sizes[f] for f in MEMORY_FIELDS if isinstance((kept_sizes or {}).get(f), int)}
    if len(kept) == len(MEMORY_FIELDS) and all(kept[f] <= getattr(asked, f) for f in MEMORY_FIELDS):
        if kept != {f: getattr(asked, f) for f in MEMORY_FIELDS}:
            logger.info("resuming with the chunk sizes the run started with: %s", kept)
        return replace(asked, **kept), None
    return fit_settings(model, settings, geometry, settings.memory, free_bytes, names.get("memory", "memory"))
