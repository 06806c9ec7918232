"""Streaming depth writers: 16-bit PNG / float EXR sequences, one .npy array, a colormapped MP4 preview.

Frames arrive one at a time, in order, as float32 ``[H, W]``, with one :class:`DepthEncoding` fixed up
front for the whole shot (values are never normalised per frame).

Protocol: ``write(frame_index, depth)``, ``close()``, context manager. ``frame_index`` is the output frame
number (the plate's, may be negative); sequence files are named ``<name>.<frame>.<ext>`` with the plate's
padding (:mod:`dav_core.io.output_names`), EXRs laid out as :mod:`dav_core.io.exr` describes. Completion:

* Every writer records itself in ``output_dir/manifest.json`` under ``outputs[<name>]`` when it opens, with
  ``completed: false``. Only ``close()`` after every expected frame was written sets ``completed: true``; the
  top-level ``completed`` is true only when all outputs recorded there are complete. Several writers may
  share one folder if their ``name`` (default: the format) differs.
* If the ``with`` body raises (KeyboardInterrupt included) the writer aborts: sequence frames already written
  stay (each frame is written to a temp name, then renamed), single-file outputs stay under their
  ``*.partial.*`` temp name and the manifest keeps ``completed: false``.
* :func:`existing_frames` lists the valid frames of a sequence output so a rerun with ``resume=True`` can
  skip them.
"""

from __future__ import annotations

import json
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal

import numpy as np
from PIL import Image

from .colormaps import depth_colors, get_colormap
from .exr import (
    check_exr_type,
    frame_windows,
    parse_exr_layers,
    read_depth_exr_file,
    valid_depth_exr,
    write_depth_exr,
)
from .output_names import (
    DEFAULT_NAME,
    array_filename,
    check_name,
    frame_filename,
    frame_number,
    preview_filename,
    sequence_pattern,
)
from .plate import DEFAULT_PADDING, PlateInfo

__all__ = [
    "MANIFEST_NAME",
    "WRITER_FORMATS",
    "DepthEncoding",
    "DepthWriter",
    "ExrSequenceWriter",
    "NpyWriter",
    "Png16SequenceWriter",
    "PreviewMp4Writer",
    "existing_frames",
    "output_is_complete",
    "make_writer",
    "read_depth_exr",
    "read_depth_png16",
    "read_manifest",
    "set_manifest_field",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
DepthKind = Literal["disparity", "depth"]


# --------------------------------------------------------------------------- normalisation


@dataclass(frozen=True)
class DepthEncoding:
    """What the written values mean and the value range used for integer/colormap outputs.

    ``kind``: "disparity" (larger = nearer) or "depth" (larger = farther). ``relative``: values are only
    defined up to scale and shift (not metric). ``low``/``high``: the value range mapped to ``[0, 1]``
    (PNG 0..65535, colormap ends); the same for every frame of the shot.
    """

    kind: DepthKind = "disparity"
    low: float = 0.0
    high: float = 1.0
    relative: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("disparity", "depth"):
            raise ValueError(f"kind must be 'disparity' or 'depth', got {self.kind!r}")
        if not (np.isfinite(self.low) and np.isfinite(self.high)) or self.high <= self.low:
            raise ValueError(f"high must be finite and > low, got low={self.low}, high={self.high}")

    @property
    def near(self) -> float:
        return self.low if self.kind == "depth" else self.high

    @property
    def far(self) -> float:
        return self.high if self.kind == "depth" else self.low

    def to_unit(self, depth: np.ndarray) -> np.ndarray:
        """float32 ``[H, W]`` values -> ``[0, 1]`` (clipped, NaN -> 0)."""
        scale = np.float32(1.0 / (self.high - self.low))
        unit = (np.asarray(depth, dtype=np.float32) - np.float32(self.low)) * scale
        return np.clip(np.nan_to_num(unit, nan=0.0), 0.0, 1.0)

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        return np.float32(self.low) + np.asarray(unit, dtype=np.float32) * np.float32(self.high - self.low)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DepthEncoding:
        return cls(kind=data["kind"], low=data["low"], high=data["high"], relative=data["relative"])


# --------------------------------------------------------------------------- manifest


def read_manifest(output_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The folder's manifest, or None when missing or unreadable."""
    try:
        return json.loads((Path(output_dir) / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None


def output_is_complete(output_dir: str | os.PathLike, name: str | None = None) -> bool:
    """True when the manifest marks output ``name`` (or, for None, every output) complete."""
    manifest = read_manifest(output_dir)
    if manifest is None:
        return False
    if name is None:
        return bool(manifest.get("completed"))
    return bool(manifest.get("outputs", {}).get(name, {}).get("completed"))


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _update_manifest(output_dir: Path, name: str, entry: dict[str, Any]) -> None:
    """Merge ``entry`` into ``outputs[name]`` and recompute the top-level ``completed``."""
    manifest = read_manifest(output_dir) or {}
    outputs = manifest.get("outputs", {})
    outputs[name] = entry
    manifest.update(completed=all(o.get("completed") for o in outputs.values()), outputs=outputs)
    _atomic_write_bytes(output_dir / MANIFEST_NAME, json.dumps(manifest, indent=1).encode())


def set_manifest_field(output_dir: str | os.PathLike, key: str, value: Any) -> None:
    """Record ``value`` under top-level ``key`` of the folder's manifest (kept by the writers)."""
    manifest = read_manifest(output_dir) or {"completed": False, "outputs": {}}
    manifest[key] = value
    _atomic_write_bytes(Path(output_dir) / MANIFEST_NAME, json.dumps(manifest, indent=1).encode())


# --------------------------------------------------------------------------- writer base


class DepthWriter(ABC):
    """Common bookkeeping: validation, expected frames, manifest, context manager."""

    format: ClassVar[str]

    def __init__(
        self,
        output_dir: str | os.PathLike,
        encoding: DepthEncoding,
        *,
        expected_frames: int | Iterable[int] | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(encoding, DepthEncoding):
            raise ValueError(
                f"encoding must be a DepthEncoding, got {type(encoding).__name__}"
            )
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.encoding = encoding
        self.name = name or self.format
        self.expected_count, self.expected_set = _expected(expected_frames)
        self.written: list[int] = []  # frame indices written by this writer, in order
        self._written_set: set[int] = set()
        self.size: tuple[int, int] | None = None  # (height, width)
        self.closed = False

    # -- public protocol

    def write(self, frame_index: int, depth: np.ndarray) -> None:
        """Write one depth frame (float ``[H, W]``) for source frame ``frame_index``."""
        if self.closed:
            raise ValueError(f"{type(self).__name__} for {self.output_dir} is closed")
        depth = self._check_frame(frame_index, depth)
        self._write_frame(int(frame_index), depth)
        self.written.append(int(frame_index))
        self._written_set.add(int(frame_index))

    def close(self) -> None:
        """Finish the output; marks it complete only if every expected frame is present."""
        if self.closed:
            return
        self.closed = True
        completed = self._is_complete()
        self._finish(completed)
        self._record(completed)
        if completed:
            log.info("%s: wrote %d frames to %s", self.name, self.frame_count, self.output_dir)
        else:
            log.warning("%s: closed incomplete (%d frames present)", self.name, self.frame_count)

    def abort(self) -> None:
        """Stop after an error: keep what was written, mark the output incomplete."""
        if self.closed:
            return
        self.closed = True
        try:
            self._finish(False)
            self._record(False)
        except OSError as err:  # e.g. the disk is full: the manifest on disk still says incomplete
            log.warning("%s: could not finish the manifest after an error: %s", self.name, err)
        log.warning("%s: aborted after %d frames; output marked incomplete", self.name, len(self.written))

    def __enter__(self):
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- shared helpers

    @property
    def present(self) -> list[int]:
        """Frame indices present in the output (this run plus resumed ones)."""
        return list(self.written)

    @property
    def frame_count(self) -> int:
        return len(self.present)

    def _is_complete(self) -> bool:
        present = set(self.present)
        if self.expected_set is not None:
            return self.expected_set <= present
        return self.expected_count is None or len(present) == self.expected_count

    def _check_frame(self, frame_index: int, depth: np.ndarray) -> np.ndarray:
        if isinstance(frame_index, bool) or not isinstance(frame_index, (int, np.integer)):
            raise ValueError(f"frame_index must be an integer, got {frame_index!r}")
        if self.expected_set is not None and frame_index not in self.expected_set:
            raise ValueError(f"frame_index {frame_index} is not among the expected frames")
        if self.expected_count is not None and len(self.written) >= self.expected_count:
            raise ValueError(f"more frames than expected_frames={self.expected_count}")
        depth = np.asarray(depth, dtype=np.float32)
        if depth.ndim != 2 or depth.shape[0] < 1 or depth.shape[1] < 1:
            raise ValueError(f"depth must be a 2-D [H, W] array, got shape {depth.shape}")
        if not np.isfinite(depth).all():
            raise ValueError(f"depth frame {frame_index} holds NaN or infinite values; it was not written")
        if self.size is None:
            self.size = (depth.shape[0], depth.shape[1])
        elif depth.shape != self.size:
            raise ValueError(f"depth frame {frame_index} has shape {depth.shape}, expected {self.size}")
        return depth

    def _entry(self, completed: bool) -> dict[str, Any]:
        height, width = self.size or (None, None)
        return {
            "format": self.format,
            "completed": completed,
            "frame_count": self.frame_count,
            "expected_frames": self.expected_count,
            "width": width,
            "height": height,
            "normalization": self.encoding.to_dict(),
            "frame_indices": sorted(self.present),
            **self._extra_manifest(),
        }

    def _record(self, completed: bool) -> None:
        _update_manifest(self.output_dir, self.name, self._entry(completed))

    def _extra_manifest(self) -> dict[str, Any]:
        return {}

    @abstractmethod
    def _write_frame(self, frame_index: int, depth: np.ndarray) -> None: ...

    def _finish(self, completed: bool) -> None:  # noqa: B027 - optional hook
        """Flush/close/rename; ``completed`` says whether the output is whole."""


def _expected(expected: int | Iterable[int] | None) -> tuple[int | None, frozenset[int] | None]:
    """``expected_frames`` -> (count, set of indices or None)."""
    if expected is None:
        return None, None
    if isinstance(expected, (int, np.integer)) and not isinstance(expected, bool):
        if expected < 0:
            raise ValueError(f"expected_frames must be >= 0, got {expected}")
        return int(expected), None
    indices = frozenset(int(i) for i in expected)
    return len(indices), indices


# --------------------------------------------------------------------------- per-frame sequences


class _SequenceWriter(DepthWriter):
    """One file per frame, ``<stem>.<frame>.<ext>`` padded to ``plate.padding``, written atomically; supports
    resume."""

    extension: ClassVar[str]

    def __init__(
        self,
        output_dir: str | os.PathLike,
        encoding: DepthEncoding,
        *,
        expected_frames: int | Iterable[int] | None = None,
        stem: str = DEFAULT_NAME,
        plate: PlateInfo | None = None,
        resume: bool = False,
        overwrite: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(output_dir, encoding, expected_frames=expected_frames, name=name)
        self.stem = check_name(stem, "stem")
        self.plate = plate or PlateInfo()
        self.padding = self.plate.padding
        self.existing: frozenset[int] = frozenset()
        for stale in self.output_dir.glob(f".{stem}.*{self.extension}.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)
        found = _frame_files(self.output_dir, stem, self.extension)  # any padding
        if resume:
            self._check_resumable()
            self.existing = frozenset(
                existing_frames(self.output_dir, self.format, stem=stem, padding=self.padding, name=self.name)
            )
        elif found and overwrite:
            for path in found:
                path.unlink()
        elif found:
            raise ValueError(
                f"{self.output_dir} already holds {len(found)} {self.format} frames from another run: "
                "resume it (resume=True) or replace it (overwrite=True)"
            )
        self._record(False)

    def _check_resumable(self) -> None:
        """The previous run must have used the same normalisation (else values are not comparable)."""
        entry = (read_manifest(self.output_dir) or {}).get("outputs", {}).get(self.name)
        if entry is None:
            return
        if DepthEncoding.from_dict(entry["normalization"]) != self.encoding:
            raise ValueError(
                f"value encoding {self.encoding} differs from the one recorded in {self.output_dir} "
                f"({entry['normalization']}); cannot resume"
            )
        if entry.get("width") and entry.get("height"):
            self.size = (entry["height"], entry["width"])

    @property
    def present(self) -> list[int]:
        return sorted(self.existing | self._written_set)

    def path_for(self, frame_index: int) -> Path:
        return self.output_dir / frame_filename(self.stem, frame_index, self.padding, self.extension)

    def _check_frame(self, frame_index: int, depth: np.ndarray) -> np.ndarray:
        if frame_index in self._written_set:
            raise ValueError(f"frame_index {frame_index} was already written")
        return super()._check_frame(frame_index, depth)

    def _write_frame(self, frame_index: int, depth: np.ndarray) -> None:
        path = self.path_for(frame_index)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            self._encode(tmp, frame_index, depth)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def _extra_manifest(self) -> dict[str, Any]:
        return {"files": sequence_pattern(self.stem, self.padding, self.extension)}

    @abstractmethod
    def _encode(self, path: Path, frame_index: int, depth: np.ndarray) -> None: ...


class Png16SequenceWriter(_SequenceWriter):
    """16-bit grayscale PNG per frame: ``round((value - low) / (high - low) * 65535)``, clipped."""

    format = "png16"
    extension = ".png"
    compress_level: int = 3

    def _encode(self, path: Path, frame_index: int, depth: np.ndarray) -> None:
        quantised = np.rint(self.encoding.to_unit(depth) * np.float32(65535.0)).astype(
            np.uint16
        )  # [H, W]
        Image.fromarray(quantised).save(path, format="PNG", compress_level=self.compress_level)


class ExrSequenceWriter(_SequenceWriter):
    """An EXR per frame holding the raw values as the ``depth`` layer (``depth.Z``), ``half`` or ``float``
    (``exr_type``), with an ``N`` layer of normals when ``layers`` holds "normals"; the plate's windows, pixel
    aspect, frame number and colourspace, and ``attributes`` (e.g. ``dav:model``) in the header (see
    :mod:`dav_core.io.exr`)."""

    format = "exr"
    extension = ".exr"

    def __init__(
        self,
        output_dir: str | os.PathLike,
        encoding: DepthEncoding,
        *,
        exr_type: str = "float",
        layers: Iterable[str] = ("depth",),
        attributes: dict[str, str] | None = None,
        fps: float | None = None,
        **options,
    ) -> None:
        self.exr_type = check_exr_type(exr_type)
        self.layers = parse_exr_layers(tuple(layers))
        self.attributes = dict(attributes or {})
        self.fps = fps
        super().__init__(output_dir, encoding, **options)

    def _encode(self, path: Path, frame_index: int, depth: np.ndarray) -> None:
        attributes = {
            **self.attributes,
            "davKind": self.encoding.kind,
            "davRelative": int(self.encoding.relative),
            "davNormalization": json.dumps(self.encoding.to_dict()),
            "davFrame": int(frame_index),
        }
        write_depth_exr(
            path, depth, frame=frame_index, plate=self.plate, exr_type=self.exr_type,
            normals=self._normals(depth) if "normals" in self.layers else None, attributes=attributes, fps=self.fps,
        )

    def _normals(self, depth: np.ndarray) -> np.ndarray:
        """Unit camera-space normals [3,H,W] of one frame, as the relighting path computes them."""
        import torch

        from ..relight import normals_from_values

        values = torch.from_numpy(self.encoding.to_unit(depth))[None]  # [1,H,W] relative, in [0,1]
        normals = normals_from_values(values, self.encoding.kind, pixel_aspect=self.plate.pixel_aspect)
        return normals[0].numpy()  # [3,H,W]

    def _extra_manifest(self) -> dict[str, Any]:
        entry = {**super()._extra_manifest(), "exr_type": self.exr_type, "layers": list(self.layers)}
        if self.size is not None:
            try:
                entry["display_window"], entry["data_window"] = frame_windows(self.plate, self.size, 0)
            except ValueError:  # windows that do not fit the frames: refused when the first frame was written
                pass
        return entry


# --------------------------------------------------------------------------- single-file outputs


def _partial_path(final: Path) -> Path:
    return final.with_name(f"{final.stem}.partial{final.suffix}")


class _SingleFileWriter(DepthWriter):
    """Writes to ``<stem>.partial<suffix>`` and renames to ``filename`` once complete."""

    def __init__(
        self,
        output_dir: str | os.PathLike,
        encoding: DepthEncoding,
        *,
        filename: str,
        expected_frames: int | Iterable[int] | None = None,
        overwrite: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(output_dir, encoding, expected_frames=expected_frames, name=name)
        self.path = self.output_dir / filename
        self.partial_path = _partial_path(self.path)
        self.renamed = False
        if self.path.exists() and not overwrite:
            raise ValueError(f"{self.path} exists; pass overwrite=True to replace it")
        self._record(False)

    def _check_frame(self, frame_index: int, depth: np.ndarray) -> np.ndarray:
        if self.written and frame_index <= self.written[-1]:
            raise ValueError(f"frame_index must increase: got {frame_index} after {self.written[-1]}")
        return super()._check_frame(frame_index, depth)

    def _finish(self, completed: bool) -> None:
        self._close_file()
        if completed and self.partial_path.exists():
            os.replace(self.partial_path, self.path)
            self.renamed = True

    def _extra_manifest(self) -> dict[str, Any]:
        return {"file": self.path.name if self.renamed else self.partial_path.name}

    @abstractmethod
    def _close_file(self) -> None: ...


class NpyWriter(_SingleFileWriter):
    """One ``[N, H, W]`` .npy of raw values (float16 or float32), filled in arrival order via a memmap."""

    format = "npy"

    def __init__(
        self,
        output_dir: str | os.PathLike,
        encoding: DepthEncoding,
        *,
        expected_frames: int | Iterable[int],
        filename: str = array_filename(DEFAULT_NAME),
        dtype: str = "float32",
        overwrite: bool = False,
        name: str | None = None,
    ) -> None:
        if expected_frames is None:
            raise ValueError("expected_frames is required for NpyWriter (the array shape is fixed up front)")
        if dtype not in ("float16", "float32"):
            raise ValueError(f"dtype must be 'float16' or 'float32', got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self._array: np.memmap | None = None
        super().__init__(
            output_dir,
            encoding,
            filename=filename,
            expected_frames=expected_frames,
            overwrite=overwrite,
            name=name,
        )

    def _write_frame(self, frame_index: int, depth: np.ndarray) -> None:
        if self._array is None:
            shape = (self.expected_count, *depth.shape)  # [N, H, W]
            self._array = np.lib.format.open_memmap(
                self.partial_path, mode="w+", dtype=self.dtype, shape=shape
            )
        self._array[len(self.written)] = depth

    def _close_file(self) -> None:
        if self._array is not None:
            self._array.flush()
            self._array = None

    def _extra_manifest(self) -> dict[str, Any]:
        return {**super()._extra_manifest(), "dtype": self.dtype.name}


PREVIEW_FILENAME = preview_filename(DEFAULT_NAME)


class PreviewMp4Writer(_SingleFileWriter):
    """Colormapped H.264 (yuv420p) preview; odd sizes are edge-padded to even."""

    format = "mp4"

    def __init__(
        self,
        output_dir: str | os.PathLike,
        encoding: DepthEncoding,
        *,
        fps: float,
        colormap: str = "Spectral",
        crf: int = 18,
        expected_frames: int | Iterable[int] | None = None,
        filename: str = PREVIEW_FILENAME,
        overwrite: bool = False,
        name: str | None = None,
    ) -> None:
        if not fps or fps <= 0 or not np.isfinite(fps):
            raise ValueError(f"fps must be a finite number > 0, got {fps}")
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in [0, 51], got {crf}")
        self.lut = get_colormap(colormap)
        self.colormap, self.crf = colormap, crf
        self.rate = Fraction(fps).limit_denominator(1001 * 1000)
        self._container = None
        self._stream = None
        super().__init__(
            output_dir,
            encoding,
            filename=filename,
            expected_frames=expected_frames,
            overwrite=overwrite,
            name=name,
        )

    def _open(self, height: int, width: int) -> None:
        import av

        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        self._container = av.open(str(self.partial_path), mode="w", format="mp4")
        stream = self._container.add_stream(codec, rate=self.rate)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": str(self.crf)}
        self._stream = stream

    def colorize(self, depth: np.ndarray) -> np.ndarray:
        """float ``[H, W]`` -> uint8 RGB ``[H', W', 3]`` padded to even H', W'."""
        unit = self.encoding.to_unit(depth)
        rgb = depth_colors(unit if self.encoding.kind == "disparity" else 1.0 - unit, self.colormap)  # [H, W, 3]
        return np.pad(rgb, ((0, rgb.shape[0] % 2), (0, rgb.shape[1] % 2), (0, 0)), mode="edge")

    def _write_frame(self, frame_index: int, depth: np.ndarray) -> None:
        import av

        if self._container is None:
            self._open(*depth.shape)
        frame = av.VideoFrame.from_ndarray(self.colorize(depth), format="rgb24").reformat(format="yuv420p")
        frame.pts = len(self.written)
        frame.time_base = 1 / self.rate
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def _close_file(self) -> None:
        if self._container is None:
            return
        container, self._container = self._container, None
        try:
            for packet in self._stream.encode(None):
                container.mux(packet)
        finally:
            container.close()

    def _extra_manifest(self) -> dict[str, Any]:
        return {
            **super()._extra_manifest(),
            "fps": float(self.rate),
            "colormap": self.colormap,
            "near_colour": "warm end",
        }


# --------------------------------------------------------------------------- resume and readers

WRITER_FORMATS: dict[str, type[DepthWriter]] = {
    "png16": Png16SequenceWriter,
    "exr": ExrSequenceWriter,
    "npy": NpyWriter,
    "mp4": PreviewMp4Writer,
}
_SEQUENCE_EXT = {"png16": ".png", "exr": ".exr"}


def make_writer(
    format: str, output_dir: str | os.PathLike, encoding: DepthEncoding, **kwargs
) -> DepthWriter:
    """Writer for ``format`` (one of :data:`WRITER_FORMATS`); ``kwargs`` go to its constructor."""
    if format not in WRITER_FORMATS:
        raise ValueError(f"format must be one of {', '.join(WRITER_FORMATS)}, got {format!r}")
    return WRITER_FORMATS[format](output_dir, encoding, **kwargs)


def _frame_files(folder: Path, stem: str, extension: str, padding: int | None = None) -> dict[Path, int]:
    """Path -> frame number of the files ``<stem>.<number><extension>`` in ``folder`` (with exactly
    ``padding`` digits when given)."""
    found = {}
    for path in folder.iterdir() if folder.is_dir() else ():
        number = frame_number(path.name, stem, extension, padding)
        if number is not None:
            found[path] = number
    return found


def _valid_png16(path: Path, size: tuple[int, int] | None) -> bool:
    try:
        with Image.open(path) as img:
            ok = img.format == "PNG" and img.mode in ("I;16", "I;16B", "I")
            ok = ok and (size is None or (img.height, img.width) == size)
            img.verify()  # checks chunk CRCs through the end of the file
        return ok
    except (OSError, SyntaxError, ValueError):
        return False


def existing_frames(
    output_dir: str | os.PathLike,
    format: str,
    *,
    stem: str = DEFAULT_NAME,
    padding: int = DEFAULT_PADDING,
    name: str | None = None,
) -> list[int]:
    """Sorted frame numbers whose files ``<stem>.<frame>.<ext>`` (``padding`` digits) in ``output_dir`` are
    complete and readable (sequence formats only).

    When the manifest records a frame size for output ``name`` (default: the format), frames of another size
    are treated as invalid.
    """
    if format not in _SEQUENCE_EXT:
        raise ValueError(f"format must be one of {', '.join(_SEQUENCE_EXT)} for resume, got {format!r}")
    folder = Path(output_dir)
    entry = (read_manifest(folder) or {}).get("outputs", {}).get(name or format, {})
    size = (entry["height"], entry["width"]) if entry.get("width") and entry.get("height") else None
    check = _valid_png16 if format == "png16" else valid_depth_exr
    files = _frame_files(folder, stem, _SEQUENCE_EXT[format], padding)
    return sorted(number for path, number in files.items() if check(path, size))


def read_depth_png16(path: str | os.PathLike, encoding: DepthEncoding) -> np.ndarray:
    """16-bit PNG written by :class:`Png16SequenceWriter` -> float32 values ``[H, W]``."""
    with Image.open(path) as img:
        quantised = np.asarray(img, dtype=np.float32)
    return encoding.from_unit(quantised / np.float32(65535.0))


def read_depth_exr(path: str | os.PathLike) -> tuple[np.ndarray, DepthEncoding | None]:
    """EXR written by :class:`ExrSequenceWriter` (``depth.Z``, or ``Z`` of earlier versions) -> (float32 depth
    ``[h, w]`` of the data window, its value encoding if recorded)."""
    depth, attributes = read_depth_exr_file(path)
    meta = attributes.get("davNormalization")
    return depth, DepthEncoding.from_dict(json.loads(meta)) if meta else None
