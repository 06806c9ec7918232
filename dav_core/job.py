"""One file-to-file job: depth of every selected frame of a source, streamed to depth files and a preview.

``dav depth``, the ComfyUI file-to-file node and ``dav bench`` all call :func:`write_depth`, so they share
one resume rule, one preview colour convention and one validation of the settings.

Resume rule: with ``resume``, sequence outputs (png16, exr) keep the valid frames already written, and
frames present in every requested sequence output are not computed again. A single-file output (npy,
the mp4 preview) needs every frame, so with one of those every frame is computed, and frames already in
the sequences are not rewritten. Without ``resume`` or ``overwrite`` an output folder that already holds
frames is refused. The folder's ``manifest.json`` says ``completed: true`` only once everything is written.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .choices import COLORMAPS, OUTPUT_FORMATS, SEQUENCE_FORMATS, check_choice
from .hooks import NO_HOOKS, Hooks
from .io.output_folder import OutputLock, prepare_output_folder
from .io.writers import DepthEncoding, make_writer, read_manifest, set_manifest_field
from .longvideo.runner import stream_depth
from .longvideo.settings import LongVideoSettings
from .longvideo.sources import FrameSource
from .models.loading import DAVModel

logger = logging.getLogger(__name__)

# Relative disparity in [0,1] (near = 1): what the pipeline produces and every output stores.
DISPARITY = DepthEncoding(kind="disparity", low=0.0, high=1.0, relative=True)
PREVIEW_FORMAT = "mp4"


@dataclass(frozen=True)
class JobResult:
    """What a job did: the folder, frames in the selection, frames computed now, frames kept from before."""

    output: Path
    num_frames: int
    computed: int
    kept: int
    seconds: float


def parse_formats(text: str | Sequence[str], name: str = "format") -> tuple[str, ...]:
    """``"png16,mp4"`` or a sequence -> validated, de-duplicated formats (errors name ``name``)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    formats = [f.strip() for f in items if f.strip()]
    bad = [f for f in formats if f not in OUTPUT_FORMATS]
    if bad or not formats:
        raise ValueError(f"{name} takes a comma-separated list of {', '.join(OUTPUT_FORMATS)}; got {text!r}")
    return tuple(dict.fromkeys(formats))


class DepthOutputs:
    """The depth files of one output folder, opened together under the module's resume rule.

    The folder is created and checked writable first, and locked until :meth:`close` or :meth:`abort`
    (a second run on it is refused). ``job`` (see :func:`job_identity`) is recorded in the manifest; a
    resumed run whose ``job`` differs from the recorded one is refused. ``kept``: frame numbers already
    present in every sequence output; ``needs_every_frame``: a single-file output (npy, mp4) is requested,
    so every frame must be passed to :meth:`write`. As a context manager an exception aborts every writer
    (frames written stay, manifest incomplete). ``names`` are how errors call the output, resume and
    overwrite options (the CLI's flags by default).
    """

    def __init__(
        self,
        output: str | Path,
        formats: Sequence[str],
        frame_numbers: Sequence[int],
        *,
        encoding: DepthEncoding = DISPARITY,
        fps: float = 24.0,
        colormap: str = "Spectral",
        resume: bool = False,
        overwrite: bool = False,
        job: dict | None = None,
        names: tuple[str, str, str] = ("--output", "--resume", "--overwrite"),
    ) -> None:
        formats = parse_formats(formats)
        check_choice("colormap", colormap, COLORMAPS)
        if resume and overwrite:
            raise ValueError(f"{names[1]} and {names[2]} exclude each other")
        self.output = prepare_output_folder(output, names[0])
        self.lock = OutputLock(self.output, names[0]).acquire()
        self.writers = {}
        try:
            if resume and job is not None:
                _check_same_job(self.output, job, names)
            for fmt in formats:
                if fmt in SEQUENCE_FORMATS:
                    options = {"resume": resume, "overwrite": overwrite}
                else:  # a single file is always written whole
                    options = {"overwrite": overwrite or resume}
                if fmt == PREVIEW_FORMAT:
                    options.update(fps=fps, colormap=colormap)
                self.writers[fmt] = make_writer(
                    fmt, self.output, encoding, expected_frames=frame_numbers, **options
                )
            if job is not None:
                set_manifest_field(self.output, "job", job)
        except BaseException:
            self.abort()
            raise
        sequences = [w.existing for fmt, w in self.writers.items() if fmt in SEQUENCE_FORMATS]
        self.kept = set(frame_numbers).intersection(*sequences) if sequences else set()
        self.needs_every_frame = any(fmt not in SEQUENCE_FORMATS for fmt in formats)

    def write(self, number: int, values) -> None:
        """One frame [H,W] to every output (sequence frames already present are not rewritten)."""
        for fmt, writer in self.writers.items():
            if fmt not in SEQUENCE_FORMATS or number not in writer.existing:
                writer.write(number, values)

    def close(self) -> None:
        try:
            for writer in self.writers.values():
                writer.close()
        finally:
            self.lock.release()

    def abort(self) -> None:
        try:
            for writer in self.writers.values():
                writer.abort()
        finally:
            self.lock.release()

    def __enter__(self) -> DepthOutputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def job_identity(source: FrameSource, settings: LongVideoSettings, model: DAVModel) -> dict:
    """What decides a run's frames: the input, the settings and the model (recorded for resume checks)."""
    return {
        "input": source.fingerprint(),
        "settings": asdict(settings),
        "model": {"source": str(model.source), "dtype": str(model.dtype).removeprefix("torch.")},
    }


def _check_same_job(folder: Path, job: dict, names: tuple[str, str, str]) -> None:
    recorded = (read_manifest(folder) or {}).get("job")
    if recorded is None:
        return  # a fresh folder, or frames from an earlier version: nothing to compare
    recorded = json.loads(json.dumps(recorded))
    job = json.loads(json.dumps(job))  # tuples vs lists, as stored
    where = f"{names[1]}: the frames in {folder}"
    restart = f"use {names[2]} to start again, or another folder"
    if recorded.get("input") != job["input"]:
        raise ValueError(f"{where} were made from another input; {restart}")
    if recorded.get("settings") != job["settings"]:
        old, new = recorded.get("settings") or {}, job["settings"]
        changed = ", ".join(f"{k}: {old.get(k)!r} -> {new[k]!r}" for k in new if old.get(k) != new[k])
        raise ValueError(f"{where} were made with other settings ({changed}); {restart}")
    if recorded.get("model") != job["model"]:
        raise ValueError(f"{where} were made with another model ({recorded.get('model')}); {restart}")


def _fit_memory(model, source, settings, output, resume, memory, free_bytes, name) -> LongVideoSettings:
    """``settings`` with the chunk sizes chosen for ``memory``; on resume, the sizes the run began with
    (when they are within the ones asked for), so that its frames are not a mix of two schedules."""
    from .memory.budget import parse_memory
    from .memory.plan import MEMORY_FIELDS, fit_settings

    if parse_memory(memory, name) == "off":
        return settings.for_model(model)
    recorded = ((read_manifest(output) or {}).get("job") or {}).get("settings") or {} if resume else {}
    kept = {f: recorded[f] for f in MEMORY_FIELDS if isinstance(recorded.get(f), int)}
    asked = settings.for_model(model)
    if len(kept) == len(MEMORY_FIELDS) and all(kept[f] <= getattr(asked, f) for f in MEMORY_FIELDS):
        logger.info("resuming with the chunk sizes the run started with: %s", kept)
        return replace(settings, **kept)
    return fit_settings(model, settings, source.frame_size, memory, free_bytes, name)[0]


def write_depth(
    model: DAVModel,
    source: FrameSource,
    settings: LongVideoSettings,
    output: str | Path,
    formats: Sequence[str] = ("png16", PREVIEW_FORMAT),
    *,
    colormap: str = "Spectral",
    resume: bool = False,
    overwrite: bool = False,
    frame_numbers: Sequence[int] | None = None,
    hooks: Hooks = NO_HOOKS,
    names: tuple[str, str, str] = ("--output", "--resume", "--overwrite"),
    memory: str = "off",
    free_bytes: int | None = None,
    memory_name: str = "--memory",
) -> JobResult:
    """Depth of every frame of ``source`` written to ``output`` in ``formats`` (see the module doc).

    Files are numbered by ``frame_numbers`` (default: the source's own frame numbers, else 0..N-1).
    On any error or interrupt the frames already written stay and the manifest says incomplete.
    ``names``: how errors call the output, resume and overwrite options. ``memory`` (``auto``, ``off``
    or a size such as ``8GB``, called ``memory_name`` in errors) lets ``dav_core.memory.plan`` lower
    the chunk sizes to fit (``free_bytes``: the free device memory, when the caller knows it); a resumed
    run keeps the sizes recorded when it started.
    """
    if not source.num_frames:
        raise ValueError("no frames selected: the frame range selects nothing")
    settings.for_model(model).plan(source.num_frames)  # validates the schedule before any file is touched
    settings = _fit_memory(model, source, settings, output, resume, memory, free_bytes, memory_name)  # window set
    numbers = list(frame_numbers or getattr(source, "frame_numbers", range(source.num_frames)))
    if len(numbers) != source.num_frames:
        raise ValueError(f"frame_numbers has {len(numbers)} entries for {source.num_frames} frames")
    outputs = DepthOutputs(
        output,
        formats,
        numbers,
        fps=source.fps or 24.0,
        colormap=colormap,
        resume=resume,
        overwrite=overwrite,
        job=job_identity(source, settings, model),
        names=names,
    )
    skip = set() if outputs.needs_every_frame else {i for i, n in enumerate(numbers) if n in outputs.kept}
    if resume:
        logger.info("resuming: %d of %d frames already written", len(outputs.kept), len(numbers))
    start = time.perf_counter()
    computed = 0
    with outputs:
        for frame in stream_depth(model, source, settings, hooks=hooks, skip_frames=skip):
            outputs.write(numbers[frame.index], frame.disparity)
            computed += 1
    seconds = time.perf_counter() - start
    logger.info("wrote %d frames to %s in %.1f s", computed, outputs.output, seconds)
    return JobResult(outputs.output, len(numbers), computed, len(numbers) - computed, seconds)
