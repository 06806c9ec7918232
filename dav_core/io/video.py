"""Reading input frames: video files (PyAV), image folders and single images.

Every reader yields float32 RGB frames ``[H, W, 3]`` in ``[0, 1]`` and accepts the same selection arguments
(``start``, ``stop``, ``stride``: a Python ``range`` over source frame numbers) and ``max_resolution``
(downscale so the long side is at most that many pixels, keeping the aspect ratio; never upscales).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

__all__ = [
    "DEFAULT_IMAGE_FPS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "VideoInfo",
    "frame_range",
    "iter_image_folder",
    "iter_video_frames",
    "list_image_files",
    "natural_key",
    "open_frames",
    "probe_image_folder",
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


def _wanted(index: int, start: int, stop: int | None, stride: int) -> bool:
    return index >= start and (stop is None or index < stop) and (index - start) % stride == 0


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


def _frame_to_float(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
    """Decoded frame -> float32 ``[H, W, 3]`` in [0, 1]; keeps 16-bit precision for >8-bit sources."""
    deep = any(c.bits > 8 for c in frame.format.components)
    width, height = size
    resize = (width, height) != (frame.width, frame.height)
    kwargs = dict(width=width, height=height, interpolation="AREA") if resize else {}
    if deep:
        rgb = frame.to_ndarray(format="rgb48le", **kwargs)  # uint16 [H, W, 3]
        return rgb.astype(np.float32) / np.float32(65535.0)
    rgb = frame.to_ndarray(format="rgb24", **kwargs)  # uint8 [H, W, 3]
    return rgb.astype(np.float32) / np.float32(255.0)


def iter_video_frames(
    path: str | os.PathLike,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
    max_resolution: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield float32 ``[H, W, 3]`` frames in [0, 1] for source frames ``range(start, stop, stride)``.

    Decodes sequentially with PyAV frame/slice threads (frames before ``start`` are decoded but not
    converted). Raises FileNotFoundError / ValueError like :func:`probe_video`.
    """
    frame_range(0, start, stop, stride)  # validates the selection
    path = Path(path)
    container = _open_container(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        size = scaled_size(stream.codec_context.width, stream.codec_context.height, max_resolution)
        index = -1
        try:
            for index, frame in enumerate(container.decode(stream)):
                if stop is not None and index >= stop:
                    break
                if _wanted(index, start, stop, stride):
                    yield _frame_to_float(frame, size)
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


def _resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-resize float32 ``[H, W, 3]`` to ``size = (width, height)``."""
    if size == (rgb.shape[1], rgb.shape[0]):
        return rgb
    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., c])).resize(size, Image.Resampling.BOX))
        for c in range(3)
    ]
    return np.stack(planes, axis=2).astype(np.float32)


def read_image(path: str | os.PathLike, max_resolution: int | None = None) -> np.ndarray:
    """One image file -> float32 ``[H, W, 3]`` in [0, 1], downscaled to ``max_resolution`` if given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input image not found: {path}")
    rgb = _load_image(path)
    return _resize(rgb, scaled_size(rgb.shape[1], rgb.shape[0], max_resolution))


def probe_image_folder(folder: str | os.PathLike, fps: float = DEFAULT_IMAGE_FPS) -> VideoInfo:
    """VideoInfo of an image sequence (size from its first frame)."""
    files = list_image_files(folder)
    first = read_image(files[0])
    return VideoInfo(num_frames=len(files), fps=fps, width=first.shape[1], height=first.shape[0])


def iter_image_folder(
    folder: str | os.PathLike,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
    max_resolution: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield the naturally sorted images of ``folder`` as float32 ``[H, W, 3]`` frames in [0, 1].

    All frames must have the size of the first one (ValueError otherwise).
    """
    files = list_image_files(folder)
    expected: tuple[int, ...] | None = None
    for index in frame_range(len(files), start, stop, stride):
        frame = read_image(files[index], max_resolution)
        if expected is None:
            expected = frame.shape
        elif frame.shape != expected:
            raise ValueError(f"frame {files[index].name} has size {frame.shape[:2]}, expected {expected[:2]}")
        yield frame


# --------------------------------------------------------------------------- dispatch


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
    path = Path(input_path)
    frame_range(0, start, stop, stride)
    scaled_size(1, 1, max_resolution)
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path}")
    if path.is_dir():
        info = probe_image_folder(path, fps or DEFAULT_IMAGE_FPS)
        frames = iter_image_folder(path, start, stop, stride, max_resolution)
    else:
        suffix = path.suffix.lower()
        if suffix in VIDEO_EXTENSIONS:
            info = probe_video(path)
            if fps:
                info = VideoInfo(info.num_frames, fps, info.width, info.height)
            frames = iter_video_frames(path, start, stop, stride, max_resolution)
        elif suffix in IMAGE_EXTENSIONS:
            if not path.is_file():
                raise ValueError(f"input {path} is not a regular file")
            full = _load_image(path)
            info = VideoInfo(1, fps or DEFAULT_IMAGE_FPS, full.shape[1], full.shape[0])
            image = _resize(full, scaled_size(info.width, info.height, max_resolution))
            frames = iter([image] if 0 in frame_range(1, start, stop, stride) else [])
        else:
            allowed = ", ".join(sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS))
            raise ValueError(
                f"unsupported input extension {suffix or '(none)'!r} for {path}; allowed: {allowed}"
            )
    log.info("input %s: %d frames, %.3f fps, %dx%d", path, info.num_frames, info.fps, info.width, info.height)
    return info, frames
