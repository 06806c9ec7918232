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

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .choices import COLORMAPS, OUTPUT_FORMATS, SEQUENCE_FORMATS, check_choice
from .hooks import NO_HOOKS, Hooks
from .io.writers import DepthEncoding, make_writer
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

    ``kept``: frame numbers already present in every sequence output (resume); ``needs_every_frame``:
    a single-file output (npy, mp4) is requested, so every frame must be passed to :meth:`write`.
    Use as a context manager: an exception aborts every writer (frames written stay, manifest incomplete).
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
    ) -> None:
        formats = parse_formats(formats)
        check_choice("colormap", colormap, COLORMAPS)
        if resume and overwrite:
            raise ValueError("resume and overwrite exclude each other")
        self.output = Path(output)
        self.writers = {}
        try:
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
        for writer in self.writers.values():
            writer.close()

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()

    def __enter__(self) -> DepthOutputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort() if exc_type is not None else self.close()


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
) -> JobResult:
    """Depth of every frame of ``source`` written to ``output`` in ``formats`` (see the module doc).

    Files are numbered by ``frame_numbers`` (default: the source's own frame numbers, else 0..N-1).
    On any error or interrupt the frames already written stay and the manifest says incomplete.
    """
    if not source.num_frames:
        raise ValueError("no frames selected: the frame range selects nothing")
    settings.plan(source.num_frames)  # validates the schedule before any file is touched
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
