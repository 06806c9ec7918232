"""One file-to-file job: depth of every selected frame of a source, streamed to depth files and a preview.

``dav depth``, the ComfyUI file-to-file node and ``dav bench`` all call :func:`write_depth`: the run is
resolved once (:func:`dav_core.run.resolve_run`), the output folder follows the one contract of
:mod:`dav_core.io.depth_outputs` (identity, resume, overwrite, lock), and the frames come from
:func:`dav_core.stages.stream_depth`. With ``resume`` only the frames missing from every sequence output
are computed (all of them when a single-file output is asked for, since it needs every frame).

Files carry the plate's identity (``source.plate``, :class:`dav_core.io.plate.PlateInfo`): frame numbers
(``first_frame`` + the source's frame number) padded as the plate's, the plate's storage size (depth made
at square pixels is resized back to it) and pixel aspect, windows and colourspace in EXR headers, and the
plate in the manifest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .hooks import NO_HOOKS, Hooks
from .io.depth_outputs import PREVIEW_FORMAT, DepthOutputs, parse_formats
from .io.exr import check_exr_type, parse_exr_layers
from .io.output_names import DEFAULT_NAME, check_name
from .io.plate import PlateInfo
from .io.writers import read_manifest
from .longvideo.sources import FrameSource
from .models.default import model_record
from .models.loading import DAVModel
from .resize import resize_frames
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
    """Where and how a job writes: the folder, the formats, the preview colours, the resume rule, the files'
    ``name`` (``<name>.<frame>.<ext>``), the number of a video's first frame (``first_frame`` + source frame
    number), and the EXR pixel type (``half``/``float``) and layers (``depth``, ``normals``)."""

    folder: str | Path
    formats: tuple[str, ...] = ("png16", PREVIEW_FORMAT)
    colormap: str = "Spectral"
    resume: bool = False
    overwrite: bool = False
    name: str = DEFAULT_NAME
    first_frame: int = 0
    exr_type: str = "float"
    exr_layers: tuple[str, ...] = ("depth",)


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
        "model": {**model_record(model.source), "dtype": str(model.dtype).removeprefix("torch.")},
    }


def recorded_settings(output: OutputSpec) -> dict | None:
    """The settings recorded by the run being resumed in ``output`` (None when not resuming)."""
    return ((read_manifest(output.folder) or {}).get("job") or {}).get("settings") if output.resume else None


def open_outputs(
    source: FrameSource, run: ResolvedRun, model, output: OutputSpec, formats, names: Mapping[str, str]
) -> tuple[DepthOutputs, list[int], set[int]]:
    """The output folder opened for ``run`` (locked, claimed under the contract): (outputs, the frame
    numbers of the selection as named in the files, the indices that need not be written: already there, or
    held over a hole of the plate).

    ``model`` needs only ``source`` and ``dtype`` (the job identity), so a process without the model can
    open the outputs of a run computed elsewhere. Write each frame with :func:`to_storage_size`."""
    layout = _output_layout(output, formats, names)
    plate: PlateInfo = getattr(source, "plate", None) or PlateInfo()
    _check_not_the_input(source, plate, output, names)
    numbers = [output.first_frame + n for n in getattr(source, "frame_numbers", range(source.num_frames))]
    missing = {output.first_frame + n for n in plate.missing}  # holes: read as the frame before, not written
    present = [n for n in numbers if n not in missing]
    if not present:
        raise ValueError(f"no frames selected: the frame range selects only missing frames ({numbers[0]}..{numbers[-1]})")
    outputs = DepthOutputs(
        output.folder,
        formats,
        present,
        {**job_identity(source, run, model), "output": layout},
        fps=source.fps,
        colormap=output.colormap,
        resume=output.resume,
        overwrite=output.overwrite,
        names=names,
        plate=plate,
        name=output.name,
        exr_type=output.exr_type,
        exr_layers=output.exr_layers,
    )
    kept = set() if outputs.needs_every_frame else outputs.kept
    skip = {i for i, n in enumerate(numbers) if n in kept or n in missing}
    if output.resume:
        logger.info("resuming: %d of %d frames already written", len(outputs.kept), len(present))
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
    size = plate_size(getattr(source, "plate", None))
    start = time.perf_counter()
    computed = 0
    with outputs:
        for frame in stream_depth(model, source, run, hooks=hooks, skip_frames=skip):
            outputs.write(numbers[frame.index], to_storage_size(frame.disparity, size))
            computed += 1
    seconds = time.perf_counter() - start
    logger.info("wrote %d frames to %s in %.1f s", computed, outputs.output, seconds)
    total = len(outputs.frame_numbers)
    return JobResult(outputs.output, total, computed, total - computed, seconds, run)


def plate_size(plate: PlateInfo | None) -> tuple[int, int] | None:
    """(H, W) a plate's depth is written at: its storage size, else its display window's, else None (the
    depth's own size)."""
    if plate is None:
        return None
    if plate.storage_size is not None:
        return tuple(plate.storage_size)
    if plate.display_window is not None:
        x0, y0, x1, y1 = plate.display_window
        return (y1 - y0 + 1, x1 - x0 + 1)
    return None


def to_storage_size(depth: np.ndarray, storage_size: tuple[int, int] | None) -> np.ndarray:
    """Depth [H,W] made at square pixels -> the plate's stored size (H,W) (anamorphic plates), resized with the
    frames' filter; unchanged when the sizes agree or the plate records none."""
    if storage_size is None or tuple(depth.shape) == tuple(storage_size):
        return depth
    resized = resize_frames(torch.from_numpy(np.ascontiguousarray(depth, np.float32))[None, None], tuple(storage_size))
    return resized[0, 0].numpy()  # [H,W] at storage size


def _output_layout(output: OutputSpec, formats: tuple[str, ...], names: Mapping[str, str]) -> dict:
    """The checked naming and EXR options, recorded with the job so a resume keeps them."""
    if isinstance(output.first_frame, bool) or not isinstance(output.first_frame, int):
        raise ValueError(f"{names.get('first_frame', 'first_frame')} must be an integer, got {output.first_frame!r}")
    layout = {"name": check_name(output.name, names.get("name", "name")), "first_frame": output.first_frame}
    exr_type = check_exr_type(output.exr_type, names.get("exr_type", "exr_type"))
    layers = parse_exr_layers(output.exr_layers, names.get("exr_layers", "exr_layers"))
    if "exr" in formats:
        layout.update(exr_type=exr_type, exr_layers=list(layers))
    return layout


def _check_not_the_input(source: FrameSource, plate: PlateInfo, output: OutputSpec, names: Mapping[str, str]) -> None:
    """Refuse output names that are the input sequence's own, in its own folder (an overwrite would delete it)."""
    path = getattr(source, "path", None)
    if path is None or plate.name != output.name:
        return
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if folder.resolve() == Path(output.folder).resolve():
        raise ValueError(
            f"{names.get('name', 'name')} {output.name!r} is the name of the input sequence in {folder}: choose "
            f"another name or another {names['output']}"
        )
