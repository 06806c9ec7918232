"""Choosing chunk sizes for a memory budget, before a run starts.

Three settings decide the peak memory of a long-video run (see :mod:`.estimate`):

    chunk_size              frames per VAE encode call and per VAE decode chunk
    window_batch            interpolation windows per UNet call
    max_keyframes_per_pass  keyframes per UNet pass (also the longest clip done in one pass)

Each is chosen on its own, the largest value of a 1-2-3 ladder (32, 24, 16, 12, 8, 6, 4, 3, 2, 1) up to
the value asked for whose stage fits ``(1 - MARGIN) * budget``, weights included. ``auto`` therefore
never raises a setting, and leaves the settings unchanged when they fit. All three change the result
(the math of a call depends on its batch; the temporal decoder mixes the frames of a chunk), so they
are fixed here, once, and a resumed run keeps the sizes it started with (``dav_core.job``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from ..choices import parse_memory
from ..models.loading import DAVModel
from ..resize import FrameGeometry
from ..settings import LongVideoSettings, model_resolution, model_window
from .budget import GIB, format_bytes, free_memory
from .estimate import ModelSpec, stage_peak

logger = logging.getLogger(__name__)

MARGIN = 0.15  # allocator rounding and fragmentation, kernel workspaces, the CUDA context
MEMORY_FIELDS = ("chunk_size", "window_batch", "max_keyframes_per_pass", "window")  # what a plan sets


@dataclass(frozen=True)
class MemoryPlan:
    """Sizes chosen for a budget and the estimated peak of each stage with them (bytes)."""

    budget: int
    weights: int
    padded_size: tuple[int, int]
    chunk_size: int
    window_batch: int
    max_keyframes_per_pass: int
    peaks: dict[str, int]
    fits: bool
    window: int  # the interpolation window the windows peak is for

    @property
    def usable(self) -> int:
        return int(self.budget * (1 - MARGIN))

    def apply(self, settings: LongVideoSettings) -> LongVideoSettings:
        return replace(settings, **{f: getattr(self, f) for f in MEMORY_FIELDS})

    def summary(self) -> str:
        ph, pw = self.padded_size
        peaks = ", ".join(f"{stage} {format_bytes(b)}" for stage, b in self.peaks.items())
        return (
            f"memory budget {format_bytes(self.budget)} at {pw}x{ph}: chunk_size {self.chunk_size}, window_batch "
            f"{self.window_batch} of {self.window} frames, keyframes per pass {self.max_keyframes_per_pass} (estimated peaks: {peaks}; "
            f"weights {format_bytes(self.weights)})"
        )


def ladder(limit: int) -> list[int]:
    """``limit`` and the values 2**k and 3*2**k below it, largest first: 32 -> 32, 24, 16, 12, ..., 2, 1."""
    values = {limit}
    k = 1
    while k < limit:
        values.update(v for v in (k, 3 * k // 2) if v < limit)
        k *= 2
    return sorted((v for v in values if v >= 1), reverse=True)


def plan_memory(
    spec: ModelSpec,
    padded_size: tuple[int, int],
    budget: int,
    settings: LongVideoSettings | None = None,
    device_type: str = "cuda",
    lower_window: bool = False,
) -> MemoryPlan:
    """The largest sizes up to ``settings``' (default: the defaults) whose stages fit ``budget`` bytes at
    the padded frame size, estimated for a ``device_type`` device. ``lower_window``: when one window
    does not fit, shorter interpolation windows may be used too (for a window the user did not set).

    When even the smallest sizes do not fit, they are returned with ``fits`` False.
    """
    settings = LongVideoSettings() if settings is None else settings
    usable = budget * (1 - MARGIN)
    window = model_window(settings.window, None)  # callers with a model pass settings.for_model(model)
    if lower_window:  # the longest window whose single-window batch fits (the shortest if none does)
        windows = [w for w in ladder(window) if w >= 3 + settings.overlap]

        def one_window_fits(length: int) -> bool:
            return stage_peak(spec, "windows", 1, padded_size, length, device_type) <= usable

        window = next((w for w in windows if one_window_fits(w)), windows[-1])

    def peak(stage: str, n: int) -> int:
        return stage_peak(spec, stage, n, padded_size, window, device_type)

    def largest(limit: int, stages: tuple[str, ...], floor: int = 1) -> tuple[int, bool]:
        candidates = [n for n in ladder(limit) if n >= floor]
        for n in candidates:
            if max(peak(s, n) for s in stages) <= usable:
                return n, True
        return candidates[-1], False

    chunk, chunk_fits = largest(settings.chunk_size, ("encode", "decode"))
    kf_floor = 2 if settings.pass_overlap is None else settings.pass_overlap + 1
    keyframes, key_fits = largest(settings.max_keyframes_per_pass, ("keyframes",), max(2, kf_floor))
    batch, batch_fits = (settings.window_batch, True)
    peaks = {"encode": peak("encode", chunk), "keyframes": peak("keyframes", keyframes)}
    if spec.unet_interp is not None:
        batch, batch_fits = largest(settings.window_batch, ("windows",))
        peaks["windows"] = peak("windows", batch)
    peaks["decode"] = peak("decode", chunk)
    return MemoryPlan(
        budget=budget,
        weights=spec.weight_bytes,
        padded_size=tuple(padded_size),
        chunk_size=chunk,
        window_batch=batch,
        max_keyframes_per_pass=keyframes,
        peaks=peaks,
        fits=chunk_fits and key_fits and batch_fits,
        window=window,
    )


def padded_size(model: DAVModel, height: int, width: int, settings: LongVideoSettings) -> tuple[int, int]:
    """The size frames of ``height`` x ``width`` have inside the model (resized and padded)."""
    resolution = model_resolution(settings.max_resolution, model)
    return FrameGeometry.for_input(height, width, resolution).padded_size


def fit_settings(
    model: DAVModel,
    settings: LongVideoSettings,
    frames: tuple[int, int] | FrameGeometry,
    memory: str = "auto",
    free_bytes: int | None = None,
    name: str = "memory",
) -> tuple[LongVideoSettings, MemoryPlan | None]:
    """``settings`` with the sizes :func:`plan_memory` chooses for ``memory`` (see ``parse_memory``)
    and ``frames`` (their input size (H, W), or their geometry), and the plan; ``off`` returns them
    unchanged and no plan.

    ``auto`` budgets the memory free on the model's device (``free_bytes`` if the caller knows better,
    e.g. ComfyUI's model management) plus the model's weights, which already sit there. An explicit
    size that cannot hold the smallest sizes is an error; ``auto`` then runs at the smallest sizes
    and relies on the out-of-memory retry.
    """
    value = parse_memory(memory, name)
    own_window = settings.window == 0  # the model's own window may be shortened to fit; a set one is not
    settings = settings.for_model(model)
    if value == "off":
        return settings, None
    spec = ModelSpec.from_model(model)
    if value == "auto":
        free = free_memory(model.device) if free_bytes is None else free_bytes
        budget = free + spec.weight_bytes
    else:
        budget = value
    size = frames.padded_size if isinstance(frames, FrameGeometry) else padded_size(model, *frames, settings)
    plan = plan_memory(spec, size, budget, settings, model.device.type, lower_window=own_window)
    if not plan.fits:
        need = max(plan.peaks.values()) / (1 - MARGIN)
        message = (
            f"{name} {memory}: the smallest sizes need about {format_bytes(int(need))} at {size[1]}x{size[0]} in "
            f"{str(spec.dtype).removeprefix('torch.')} (weights {format_bytes(spec.weight_bytes)})"
        )
        if value != "auto":
            raise ValueError(f"{message}; give more memory, a lower max_resolution or a lower precision")
        logger.warning("%s, more than the %s free: trying anyway", message, format_bytes(budget))
    logger.info(plan.summary())
    return plan.apply(settings), plan


__all__ = [
    "GIB",
    "MARGIN",
    "MEMORY_FIELDS",
    "MemoryPlan",
    "fit_settings",
    "ladder",
    "padded_size",
    "plan_memory",
]
