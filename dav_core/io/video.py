"""Reading input frames: video files (PyAV), image sequences (folders, patterns) and single images.

:class:`MediaInput` probes an input once and reads chosen frames as float32 RGB ``[H, W, 3]`` in ``[0, 1]``,
converting only those frames: videos upright (display matrix) in square pixels (sample aspect ratio),
images through :mod:`.images` and :mod:`.sequences`, both through the OCIO conversion of :mod:`.colour`; ``max_resolution`` downscales so the long side is at most that
many pixels (aspect kept, never upscaled) with the same filter the model's resize uses
(:func:`dav_core.resize.resize_frames`).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch

from ..resize import resize_frames
from .sequences import IMAGE_EXTENSIONS, natural_key

__all__ = [
    "DEFAULT_IMAGE_FPS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "VideoInfo",
    "frame_range",
    "MediaInput",
    "downscale",
    "natural_key",
    "open_frames",
    "select_frames",
    "upright",
    "probe_video",
    "read_image",
    "scaled_size",
]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".gif", ".wmv", ".mxf"}
)
DEFAULT_IMAGE_FPS = 24.0  # image folders carry no frame rate


@dataclass(frozen=True)
class VideoInfo:
    """Source properties: frame count, frames per second, frame size in pixels (before any downscale).

    For :func:`probe_video` the size is the stored one; ``rotation``: degrees counter-clockwise that a player
    turns the picture (display matrix), ``pixel_aspect``: the stored pixels' width / height.
    """

    num_frames: int
    fps: float
    width: int
    height: int
    rotation: int = 0
    pixel_aspect: float = 1.0


# --------------------------------------------------------------------------- selection and resizing


def frame_range(num_frames: int, start: int = 0, stop: int | None = None, stride: int = 1) -> range:
    """Source frame numbers selected by ``start``/``stop``/``stride`` (validated, clipped to the source)."""
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if stop is not None and stop < start:
        raise ValueError(f"stop must be None or >= start ({start}), got {stop}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    end = num_frames if stop is None else min(stop, num_frames)
    return range(start, max(start, end), stride)


def scaled_size(width: int, height: int, max_resolution: int | None) -> tuple[int, int]:
    """``(width, height)`` with the long side at most ``max_resolution``, aspect kept, each side >= 1."""
    if max_resolution is None:
        return width, height
    if max_resolution < 1:
        raise ValueError(f"max_resolution must be None or >= 1, got {max_resolution}")
    long_side = max(width, height)
    if long_side <= max_resolution:
        return width, height
    scale = max_resolution / long_side
    return max(1, round(width * scale)), max(1, round(height * scale))


# --------------------------------------------------------------------------- video files


def _open_container(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise FileNotFoundError(f"input video not found: {path}")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read video {path}: {err}") from err
    if not container.streams.video:
        container.close()
        raise ValueError(f"no video stream in {path}")
    return container


def _count_frames(container: av.container.InputContainer) -> int:
    """Frames in the first video stream by demuxing (no decoding); consumes the container."""
    stream = container.streams.video[0]
    return sum(1 for packet in container.demux(stream) if packet.size > 0)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame count, fps, size, rotation and pixel aspect of a video's first video stream, in one open.

    Falls back to counting packets (a second open) when the container header has no frame count. Raises
    FileNotFoundError for a missing file and ValueError for an unreadable file or a video with no frames.
    """
    path = Path(path)
    container = _open_container(path)
    try:
        stream = container.streams.video[0]
        num_frames = stream.frames
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else DEFAULT_IMAGE_FPS
        width, height = stream.codec_context.width, stream.codec_context.height
        aspect = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
        rotation = _rotation(path, container, stream)
    finally:
        container.close()
    if num_frames <= 0:
        container = _open_container(path)
        try:
            num_frames = _count_frames(container)
        except av.error.FFmpegError as err:
            raise ValueError(f"cannot read video {path}: {err}") from err
        finally:
            container.close()
    if num_frames <= 0 or width <= 0 or height <= 0:
        raise ValueError(f"video {path} has no frames")
    pixel_aspect = float(aspect) if aspect and float(aspect) > 0 else 1.0
    return VideoInfo(num_frames, fps, width, height, rotation, pixel_aspect)


def _rotation(path: Path, container: av.container.InputContainer, stream) -> int:
    """Degrees counter-clockwise (0, 90, 180, 270) a player turns the video: its display matrix, read from
    the first decoded frame, else the old ``rotate`` tag (clockwise). Decodes from the open ``container``."""
    degrees = -float(stream.metadata.get("rotate", 0) or 0)
    try:
        frame = next(container.decode(stream), None)
    except av.error.FFmpegError:
        frame = None
    if frame is not None and getattr(frame, "rotation", None):
        degrees = float(frame.rotation)
    turns = round(degrees / 90)
    if abs(degrees - 90 * turns) > 1:
        log.warning("%s: rotation %.1f degrees is not a multiple of 90; turning by %d", path, degrees, 90 * turns)
    return (90 * turns) % 360


def upright(frame: np.ndarray, rotation: int, pixel_aspect: float) -> np.ndarray:
    """A stored frame ``[h, w, 3]`` as a player shows it: resampled to square pixels (width * pixel_aspect,
    the model's resize filter), then turned ``rotation`` degrees counter-clockwise."""
    if abs(pixel_aspect - 1.0) > 1e-6:
        size = (frame.shape[0], max(1, round(frame.shape[1] * pixel_aspect)))
        frames = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None]  # [1,3,h,w]
        frame = resize_frames(frames, size)[0].permute(1, 2, 0).numpy()  # [h, w*aspect, 3], not clipped: may be scene-linear
    if rotation:
        frame = np.ascontiguousarray(np.rot90(frame, k=rotation // 90))  # counter-clockwise
    return frame


def _frame_to_float(frame: av.VideoFrame) -> np.ndarray:
    """Decoded frame -> float32 ``[H, W, 3]`` in [0, 1]; keeps 16-bit precision for >8-bit sources."""
    if any(c.bits > 8 for c in frame.format.components):
        return frame.to_ndarray(format="rgb48le").astype(np.float32) / np.float32(65535.0)  # [H, W, 3]
    return frame.to_ndarray(format="rgb24").astype(np.float32) / np.float32(255.0)  # [H, W, 3]


def _decode_video(path: Path, numbers: list[int], info: VideoInfo | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Decode ``path`` in order with one open; convert only the frames in ``numbers`` (ascending) and
    stop after the last of them. Frames in between are decoded (the codec needs them) but not converted.
    With ``info`` the frames come out upright in square pixels (:func:`upright`)."""
    wanted = set(numbers)
    last = max(numbers, default=-1)
    if last < 0:
        return
    container = _open_container(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        index = -1
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    rgb = _frame_to_float(frame)  # [h, w, 3] stored
                    yield index, rgb if info is None else upright(rgb, info.rotation, info.pixel_aspect)
                if index >= last:
                    break
        except av.error.FFmpegError as err:
            raise ValueError(f"cannot decode video {path} at frame {index + 1}: {err}") from err
    finally:
        container.close()


# --------------------------------------------------------------------------- images


def read_image(path: str | os.PathLike, max_resolution: int | None = None) -> np.ndarray:
    """One image file as it is stored (no colour conversion) -> float32 ``[H, W, 3]`` clipped to [0, 1],
    downscaled to ``max_resolution`` if given."""
    from .images import read_image_file

    return downscale(np.clip(read_image_file(path), 0.0, 1.0), max_resolution)


def downscale(rgb: np.ndarray, max_resolution: int | None) -> np.ndarray:
    """float32 ``[H, W, 3]`` with the long side at most ``max_resolution`` (the model's resize filter)."""
    width, height = scaled_size(rgb.shape[1], rgb.shape[0], max_resolution)
    if (width, height) == (rgb.shape[1], rgb.shape[0]):
        return rgb
    frames = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]  # [1,3,H,W]
    return resize_frames(frames, (height, width))[0].permute(1, 2, 0).clamp(0, 1).numpy()


# --------------------------------------------------------------------------- one input, probed once


def select_frames(
    numbers: range | tuple[int, ...], start: int | None = None, stop: int | None = None, stride: int = 1
) -> range | list[int]:
    """The frame numbers of ``numbers`` from ``start`` (None: the first) up to, not including, ``stop``
    (None: the last), every ``stride``-th. Videos are numbered 0..N-1, sequences by their files."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if start is not None and stop is not None and stop < start:
        raise ValueError(f"stop must be None or >= start ({start}), got {stop}")
    if isinstance(numbers, range) and numbers.start == 0 and numbers.step == 1:
        return frame_range(len(numbers), start or 0, stop, stride)
    chosen = [n for n in numbers if (start is None or n >= start) and (stop is None or n < stop)]
    return chosen[::stride]


class MediaInput:
    """A video file, an image sequence (folder or pattern) or a single image, probed once.

    ``frame_numbers``: the input's own numbers (a video: 0..N-1; a sequence: first..last of its files,
    holes included); ``info``: frame count, rate and the size the model sees (upright, square pixels, before
    downscaling); ``plate``: the :class:`~dav_core.io.plate.PlateInfo` (padding, missing frames, pixel
    aspect, storage size, EXR windows, colour conversion, name). :meth:`read` converts chosen frames.
    Colour options: see :func:`dav_core.io.colour.resolve_colour`; ``layer``: the EXR layer or part to read;
    ``on_missing``: ``hold`` or ``error`` for holes in a sequence; ``names`` maps the options to the front
    end's names in errors.
    """

    def __init__(
        self,
        input_path: str | os.PathLike,
        fps: float | None = None,
        *,
        colorspace: str | None = None,
        ocio_config: str | os.PathLike | None = None,
        display: str | None = None,
        view: str | None = None,
        layer: str | None = None,
        on_missing: str = "hold",
        names: dict[str, str] | None = None,
    ) -> None:
        from .colour import resolve_colour
        from .plate import DEFAULT_PADDING, PlateInfo

        self.names = {k: k for k in ("input", "colorspace", "display", "view", "ocio_config", "layer", "on_missing")} | (names or {})
        path = Path(input_path)
        self.path = path
        self.layer = layer
        self.sequence = None
        colour_options = dict(
            config_path=ocio_config, display=display, view=view, names=self.names
        )
        if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
            self.kind = "video"
            stored = probe_video(path)
            self.stored = stored
            square_w = max(1, round(stored.width * stored.pixel_aspect))
            turned = stored.rotation in (90, 270)
            width, height = (stored.height, square_w) if turned else (square_w, stored.height)
            info = VideoInfo(stored.num_frames, stored.fps, width, height)
            self.frame_numbers = range(stored.num_frames)
            self.conversion = resolve_colour(colorspace, **colour_options)
            storage = (stored.width, stored.height) if turned else (stored.height, stored.width)
            aspect = 1.0 / stored.pixel_aspect if turned else stored.pixel_aspect
            plate = dict(padding=DEFAULT_PADDING, pixel_aspect=aspect, storage_size=storage, name=path.stem)
        else:
            if path.is_file() and path.suffix.lower() not in IMAGE_EXTENSIONS:
                allowed = ", ".join(sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS))
                raise ValueError(
                    f"unsupported input extension {path.suffix or '(none)'!r} for {path}; allowed: {allowed}"
                )
            from .sequences import ImageSequence, find_sequence

            if path.is_file():
                self.kind = "image"
                self.sequence = ImageSequence({0: path}, (0,), (), DEFAULT_PADDING, path.stem, str(path))
            elif path.exists() and not path.is_dir():
                raise ValueError(f"input {path} is not a regular file")
            else:
                self.kind = "sequence"
                self.sequence = find_sequence(path, on_missing, self.names["input"], self.names["on_missing"])
            self.frame_numbers = self.sequence.frame_numbers
            first = self.sequence.files[self.frame_numbers[0]]
            self.header = self._header(first, self.frame_numbers[0])
            declared = self.header.declared
            if declared == "log":
                declared = self._log_space(colorspace, colour_options, first)
            self.conversion = resolve_colour(
                colorspace, declared=declared, is_float=self.header.is_float, **colour_options
            )
            height, width = self.header.size
            width = max(1, round(width * self.header.pixel_aspect))  # the model sees square pixels
            info = VideoInfo(len(self.frame_numbers), DEFAULT_IMAGE_FPS, width, height)
            windows = {}
            if self.header.data_window != self.header.display_window or self.header.display_window[:2] != (0, 0):
                windows = dict(display_window=self.header.display_window, data_window=self.header.data_window)
            plate = dict(
                padding=self.sequence.padding,
                missing=self.sequence.missing,
                pixel_aspect=self.header.pixel_aspect,
                storage_size=self.header.size,
                name=self.sequence.name,
                **windows,
            )
        colour = self.conversion.info() if self.conversion is not None else {"colorspace": "raw"}
        if self.kind != "video" and self.header.layer:
            colour = {**colour, "layer": self.header.layer}
        self.plate = PlateInfo(colour=colour, **plate)
        self.info = info if not fps else VideoInfo(info.num_frames, fps, info.width, info.height)
        log.info(
            "input %s: %d frames, %.3f fps, %dx%d, colour %s",
            path, self.info.num_frames, self.info.fps, self.info.width, self.info.height, colour,
        )  # fmt: skip

    def _header(self, path: Path, number: int):
        from .images import probe_image

        try:
            return probe_image(path, self.layer, self.names["layer"])
        except FileNotFoundError:
            raise
        except ValueError as err:
            raise ValueError(f"frame {number}: {err}") from None

    def _log_space(self, colorspace: str | None, options: dict, path: Path) -> str | None:
        """A DPX log transfer: the config's ADX/Cineon log colourspace if it has one, else None (display-referred)."""
        if colorspace is not None:
            return None
        from .colour import load_config

        config = load_config(options["config_path"], self.names["ocio_config"])
        for space in config.getColorSpaces():
            labels = [space.getName(), *space.getAliases()]
            if any(k in label.lower() for label in labels for k in ("adx", "cineon", "lg10", "printing density")):
                return space.getName()
        log.warning(
            "%s: log DPX, but the OCIO config %r has no ADX/Cineon colourspace; read as display-referred "
            "(name one with %s)", path, config.getName(), self.names["colorspace"],
        )  # fmt: skip
        return None

    def fingerprint(self) -> dict:
        """Size and a hash of each file's first and last 64 KiB (changes when the footage is replaced), and
        the colour conversion and layer read (change the frames the model sees)."""
        digest = hashlib.sha256()
        files = [self.path] if self.kind == "video" else [self.sequence.files[n] for n in sorted(self.sequence.files)]
        total = 0
        for path in files:
            size = path.stat().st_size
            total += size
            with open(path, "rb") as f:
                digest.update(f.read(65536))
                f.seek(max(0, size - 65536))
                digest.update(f.read(65536))
        found = {"kind": self.kind, "files": len(files), "bytes": total, "sha256": digest.hexdigest()}
        if self.kind == "video":
            return found if self.conversion is None else {**found, "colour": self.plate.colour}
        return {**found, "frames": [self.frame_numbers[0], self.frame_numbers[-1]], "missing": list(self.plate.missing),
                "colour": self.plate.colour}

    def _convert(self, rgb: np.ndarray) -> np.ndarray:
        if self.conversion is None:
            return np.clip(rgb, 0.0, 1.0)
        return self.conversion.apply(rgb)

    def _read_frame(self, number: int) -> np.ndarray:
        from .images import read_picture

        path = self.sequence.file_for(number)
        try:
            header, picture = read_picture(path, self.layer, self.names["layer"])  # one open per frame
        except FileNotFoundError:
            raise
        except ValueError as err:
            raise ValueError(f"frame {number}: {err}") from None
        if header.size != self.header.size:
            raise ValueError(
                f"{path} has size {header.size}, expected {self.header.size} like the first frame (frame {number})"
            )
        return upright(picture, 0, header.pixel_aspect)

    def read(
        self, numbers: Iterable[int], max_resolution: int | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(number, frame)`` for the input's frame ``numbers`` (ascending): float32 ``[H, W, 3]`` in
        [0, 1] through the colour conversion, downscaled to ``max_resolution``."""
        numbers = sorted(set(numbers))
        scaled_size(1, 1, max_resolution)
        expected = (self.info.height, self.info.width)
        if self.kind == "video":
            frames = _decode_video(self.path, numbers, self.stored)
        else:
            present = set(self.frame_numbers)
            frames = ((n, self._read_frame(n)) for n in numbers if n in present)
        for number, frame in frames:
            if frame.shape[:2] != expected:
                raise ValueError(f"frame {number} has size {frame.shape[:2]}, expected {expected} like the first frame")
            yield number, downscale(self._convert(frame), max_resolution)


def open_frames(
    input_path: str | os.PathLike,
    *,
    start: int | None = None,
    stop: int | None = None,
    stride: int = 1,
    max_resolution: int | None = None,
    fps: float | None = None,
    **plate_options,
) -> tuple[VideoInfo, Iterator[np.ndarray]]:
    """Open a video file, an image sequence or a single image.

    Returns the input's VideoInfo (frame count and size before selection and downscaling) and an iterator
    over the frames :func:`select_frames` selects by frame number. ``fps`` overrides the frame rate (image
    inputs default to :data:`DEFAULT_IMAGE_FPS`); ``plate_options`` go to :class:`MediaInput` (colour,
    layer, on_missing).
    """
    select_frames(range(0), start, stop, stride)
    scaled_size(1, 1, max_resolution)
    media = MediaInput(input_path, fps, **plate_options)
    numbers = select_frames(media.frame_numbers, start, stop, stride)
    return media.info, (frame for _, frame in media.read(numbers, max_resolution))
