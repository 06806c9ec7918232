"""One file-to-file job: depth of every selected frame of a source, streamed to depth files and a preview.

``dav depth``, the ComfyUI file-to-file node and ``dav bench`` all call :func:`write_depth`: the run is
resolved once (:func:`dav_core.run.resolve_run`), the output folder follows the one contract of
:mod:`dav_core.io.depth_outputs` (identity, resume, overwrite, lock), and the frames come from
:func:`dav_core.stages.stream_depth`. With ``resume`` only the frames missing from every sequence output
are computed (all of them when a single-file output is asked for, since it needs every frame).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .hooks import NO_HOOKS, Hooks
from .io.depth_outputs import PREVIEW_FORMAT, DepthOutputs, parse_formats
from .io.writers import read_manifest
from .longvideo.sources import FrameSource
from .models.loading import DAVModel
from .run import ResolvedRun, resolve_run
from .settings import LongVideoSettings
from .stages import stream_depth

logger = logging.getLogger(__name__)

__all__ = [
    "PREVIEW_FORMAT",
    "JobResult",
    "OutputSpec",
    "job_identity",
    "open_outputs",
    "parse_formats",
    "recorded_settings",
    "write_depth",
]


@dataclass(frozen=True)
class OutputSpec:
    """Where and how a job writes: the folder, the formats, the preview colours and the resume rule."""

    folder: str | Path
    formats: tuple[str, ...] = ("png16", PREVIEW_FORMAT)
    colormap: str = "Spectral"
    resume: bool = False
    overwrite: bool = False


@dataclass(frozen=True)
class JobResult:
    """What a job did: the folder, frames in the selection, frames computed now, frames kept from before."""

    output: Path
    num_frames: int
    computed: int
    kept: int
    seconds: float
    run: ResolvedRun


def job_identity(source: FrameSource, run: ResolvedRun, model: DAVModel) -> dict:
    """What decides a run's frames: the input, the resolved settings and the model (recorded for resume)."""
    return {
        "input": source.fingerprint(),
        "settings": run.settings.identity(),
        "model": {"source": str(model.source), "dtype": str(model.dtype).removeprefix("torch.")},
    }


def recorded_settings(output: OutputSpec) -> dict | None:
    """The settings recorded by the run being resumed in ``output`` (None when not resuming)."""
    return ((read_manifest(output.folder) or {}).get("job") or {}).get("settings") if output.resume else None


def open_outputs(
    source: FrameSource, run: ResolvedRun, model, output: OutputSpec, formats, names: Mapping[str, str]
) -> tuple[DepthOutputs, list[int], set[int]]:
    """The output folder opened for ``run`` (locked, claimed under the contract): (outputs, the frame
    numbers of the selection, the indices already written that need not be computed).

    ``model`` needs only ``source`` and ``dtype`` (the job identity), so a process without the model can
    open the outputs of a run computed elsewhere."""
    numbers = list(getattr(source, "frame_numbers", range(source.num_frames)))
    outputs = DepthOutputs(
        output.folder,
        formats,
        numbers,
        job_identity(source, run, model),
        fps=source.fps or 24.0,
        colormap=output.colormap,
        resume=output.resume,
        overwrite=output.overwrite,
        names=names,
    )
    skip = set() if outputs.needs_every_frame else {i for i, n in enumerate(numbers) if n in outputs.kept}
    if output.resume:
        logger.info("resuming: %d of %d frames already written", len(outputs.kept), len(numbers))
    return outputs, numbers, skip


def write_depth(
    model: DAVModel,
    source: FrameSource,
    settings: LongVideoSettings,
    output: OutputSpec,
    *,
    hooks: Hooks = NO_HOOKS,
    names: Mapping[str, str] | None = None,
    free_bytes: int | None = None,
) -> JobResult:
    """Depth of every frame of ``source`` written under ``output`` (see the module doc).

    Files are numbered by the source's frame numbers (else 0..N-1). On any error or interrupt the frames
    already written stay and the manifest says incomplete. ``names`` maps settings and output fields to
    the front end's options in errors; ``free_bytes``: free device memory when the caller knows it.
    """
    names = {"output": "output", "resume": "resume", "overwrite": "overwrite", **(names or {})}
    formats = parse_formats(output.formats, names.get("format", "format"))
    if not source.num_frames:
        raise ValueError("no frames selected: the frame range selects nothing")
    run = resolve_run(
        model,
        settings,
        source.num_frames,
        source.frame_size,
        free_bytes=free_bytes,
        kept_sizes=recorded_settings(output),
        names=names,
    )
    outputs, numbers, skip = open_outputs(source, run, model, output, formats, names)
    start = time.perf_counter()
    computed = 0
    with outputs:
        for frame in stream_depth(model, source, run, hooks=hooks, skip_frames=skip):
            outputs.write(numbers[frame.index], frame.disparity)
            computed += 1
    seconds = time.perf_counter() - start
    logger.info("wrote %d frames to %s in %.1f s", computed, outputs.output, seconds)
    return JobResult(outputs.output, len(numbers), computed, len(numbers) - computed, seconds, run)
