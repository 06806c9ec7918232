"""Reading input frames: video files (PyAV), image folders and single images.

:class:`MediaInput` probes an input once and reads chosen source frames as float32 RGB ``[H, W, 3]`` in
``[0, 1]``, converting only those frames; ``max_resolution`` downscales so the long side is at most that
many pixels (aspect kept, never upscaled) with the same filter the model's resize uses
(:func:`dav_core.resize.resize_frames`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from ..resize import resize_frames

__all__ = [
    "DEFAULT_IMAGE_FPS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "VideoInfo",
    "frame_range",
    "MediaInput",
    "downscale",
    "list_image_files",
    "natural_key",
    "open_frames",
    "probe_video",
    "read_image",
    "scaled_size",
]

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".gif", ".wmv"}
)
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr"})
DEFAULT_IMAGE_FPS = 24.0  # image folders carry no frame rate


@dataclass(frozen=True)
class VideoInfo:
    """Source properties: frame count, frames per second, frame size in pixels (before any downscale)."""

    num_frames: int
    fps: float
    width: int
    height: int


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
    """Frame count, fps and size of a video's first video stream.

    Falls back to counting packets when the container header has no frame count. Raises FileNotFoundError for
    a missing file and ValueError for an unreadable file or a video with no frames.
    """
    path = Path(path)
    container = _open_container(path)
    try:
        stream = container.streams.video[0]
        num_frames = stream.frames
        if num_frames <= 0:
            try:
                num_frames = _count_frames(container)
            except av.error.FFmpegError as err:
                raise ValueError(f"cannot read video {path}: {err}") from err
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else DEFAULT_IMAGE_FPS
        width, height = stream.codec_context.width, stream.codec_context.height
    finally:
        container.close()
    if num_frames <= 0 or width <= 0 or height <= 0:
        raise ValueError(f"video {path} has no frames")
    return VideoInfo(num_frames=num_frames, fps=fps, width=width, height=height)


def _frame_to_float(frame: av.VideoFrame) -> np.ndarray:
    """Decoded frame -> float32 ``[H, W, 3]`` in [0, 1]; keeps 16-bit precision for >8-bit sources."""
    if any(c.bits > 8 for c in frame.format.components):
        return frame.to_ndarray(format="rgb48le").astype(np.float32) / np.float32(65535.0)  # [H, W, 3]
    return frame.to_ndarray(format="rgb24").astype(np.float32) / np.float32(255.0)  # [H, W, 3]


def _decode_video(path: Path, numbers: list[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Decode ``path`` in order with one open; convert only the frames in ``numbers`` (ascending) and
    stop after the last of them. Frames in between are decoded (the codec needs them) but not converted."""
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
                    yield index, _frame_to_float(frame)
                if index >= last:
                    break
        except av.error.FFmpegError as err:
            raise ValueError(f"cannot decode video {path} at frame {index + 1}: {err}") from err
    finally:
        container.close()


# --------------------------------------------------------------------------- images


def natural_key(name: str) -> tuple:
    """Sort key putting ``frame_2`` before ``frame_10`` (digit runs compare as numbers)."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in ``folder``, naturally sorted; hidden files are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"input folder not found: {folder}")
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    if not files:
        allowed = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise ValueError(f"no image frames ({allowed}) in folder {folder}")
    return sorted(files, key=lambda p: natural_key(p.name))


def _read_exr(path: Path) -> np.ndarray:
    """EXR -> float32 ``[H, W, 3]`` clipped to [0, 1] (RGB, RGBA, Y or a single channel)."""
    try:
        import OpenEXR
    except ImportError as err:
        raise ValueError(f"reading {path} needs the OpenEXR package (pip install OpenEXR)") from err
    with OpenEXR.File(str(path)) as exr:
        channels = exr.channels()
        for key in ("RGB", "RGBA", "Y", "Z"):
            if key in channels:
                pixels = channels[key].pixels
                break
        else:
            pixels = next(iter(channels.values())).pixels
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 2:  # [H, W] -> [H, W, 3]
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return np.clip(pixels[..., :3], 0.0, 1.0)


def _load_image(path: Path) -> np.ndarray:
    """Image file at full size -> float32 ``[H, W, 3]`` in [0, 1]; 16-bit grayscale keeps its precision."""
    if path.suffix.lower() == ".exr":
        return _read_exr(path)
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(img, dtype=np.float32) / np.float32(65535.0)  # [H, W]
            else:
                array = np.asarray(img.convert("RGB"), dtype=np.float32) / np.float32(255.0)  # [H, W, 3]
    except (OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"cannot read image {path}: {err}") from err
    if array.ndim == 2:  # [H, W] -> [H, W, 3]
        array = np.repeat(array[..., None], 3, axis=2)
    return np.clip(array, 0.0, 1.0)


def read_image(path: str | os.PathLike, max_resolution: int | None = None) -> np.ndarray:
    """One image file -> float32 ``[H, W, 3]`` in [0, 1], downscaled to ``max_resolution`` if given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input image not found: {path}")
    return downscale(_load_image(path), max_resolution)


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file, read from its header."""
    if path.suffix.lower() == ".exr":
        rgb = _read_exr(path)
        return rgb.shape[1], rgb.shape[0]
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"cannot read image {path}: {err}") from err


def downscale(rgb: np.ndarray, max_resolution: int | None) -> np.ndarray:
    """float32 ``[H, W, 3]`` with the long side at most ``max_resolution`` (the model's resize filter)."""
    width, height = scaled_size(rgb.shape[1], rgb.shape[0], max_resolution)
    if (width, height) == (rgb.shape[1], rgb.shape[0]):
        return rgb
    frames = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]  # [1,3,H,W]
    return resize_frames(frames, (height, width))[0].permute(1, 2, 0).clamp(0, 1).numpy()


# --------------------------------------------------------------------------- one input, probed once


class MediaInput:
    """A video file, an image folder or a single image, probed once.

    ``info`` holds the source's frame count, rate and size (before selection and downscaling);
    :meth:`read` decodes chosen source frames, opening the file once per call.
    """

    def __init__(self, input_path: str | os.PathLike, fps: float | None = None) -> None:
        path = Path(input_path)
        if not path.exists():
            raise FileNotFoundError(f"input not found: {path}")
        self.path = path
        self.files: list[Path] = []
        if path.is_dir():
            self.kind = "folder"
            self.files = list_image_files(path)
            width, height = _image_size(self.files[0])
            info = VideoInfo(len(self.files), DEFAULT_IMAGE_FPS, width, height)
        elif path.suffix.lower() in VIDEO_EXTENSIONS:
            self.kind = "video"
            info = probe_video(path)
        elif path.suffix.lower() in IMAGE_EXTENSIONS:
            if not path.is_file():
                raise ValueError(f"input {path} is not a regular file")
            self.kind = "image"
            self.files = [path]
            width, height = _image_size(path)
            info = VideoInfo(1, DEFAULT_IMAGE_FPS, width, height)
        else:
            allowed = ", ".join(sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS))
            raise ValueError(
                f"unsupported input extension {path.suffix or '(none)'!r} for {path}; allowed: {allowed}"
            )
        self.info = info if not fps else VideoInfo(info.num_frames, fps, info.width, info.height)
        log.info(
            "input %s: %d frames, %.3f fps, %dx%d",
            path, self.info.num_frames, self.info.fps, self.info.width, self.info.height,
        )  # fmt: skip

    def fingerprint(self) -> dict:
        """Size and a hash of each file's first and last 64 KiB: changes when the footage is replaced."""
        digest = hashlib.sha256()
        files = self.files if self.kind != "video" else [self.path]
        total = 0
        for path in files:
            size = path.stat().st_size
            total += size
            with open(path, "rb") as f:
                digest.update(f.read(65536))
                f.seek(max(0, size - 65536))
                digest.update(f.read(65536))
        return {"kind": self.kind, "files": len(files), "bytes": total, "sha256": digest.hexdigest()}

    def read(
        self, numbers: Iterable[int], max_resolution: int | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(number, frame)`` for source frame ``numbers`` (ascending): float32 ``[H, W, 3]`` in [0, 1],
        downscaled to ``max_resolution``. Every frame must have the size of the first frame."""
        numbers = sorted(set(numbers))
        scaled_size(1, 1, max_resolution)
        expected = (self.info.height, self.info.width)
        if self.kind == "video":
            frames = _decode_video(self.path, numbers)
        else:
            frames = ((n, _load_image(self.files[n])) for n in numbers if n < len(self.files))
        for number, frame in frames:
            if frame.shape[:2] != expected:
                name = self.files[number].name if self.files else f"frame {number}"
                raise ValueError(
                    f"{name} has size {frame.shape[:2]}, expected {expected} like the first frame"
                )
            yield number, downscale(frame, max_resolution)


def open_frames(
    input_path: str | os.PathLike,
    *,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
    max_resolution: int | None = None,
    fps: float | None = None,
) -> tuple[VideoInfo, Iterator[np.ndarray]]:
    """Open a video file, an image folder or a single image.

    Returns the source's VideoInfo (frame count and size before selection and downscaling; use
    :func:`frame_range` for the selected frame numbers) and an iterator over the selected frames. ``fps``
    overrides the frame rate (image inputs default to :data:`DEFAULT_IMAGE_FPS`).
    """
    frame_range(0, start, stop, stride)
    scaled_size(1, 1, max_resolution)
    media = MediaInput(input_path, fps)
    numbers = frame_range(media.info.num_frames, start, stop, stride)
    return media.info, (frame for _, frame in media.read(numbers, max_resolution))
