"""ComfyUI's native VIDEO type (core Load Video, Create Video, Save Video) on the pack's inputs and outputs.

The type comes from ComfyUI's versioned API (``comfy_api.v0_0_2``, pinned), imported lazily: in a ComfyUI
without it the pack still loads, VIDEO inputs are simply never connected, and a VIDEO output says what
is missing. A VIDEO is read through its own interface only: ``get_stream_source()`` (a file path is
streamed, frame range and all, never held whole) and ``get_components()`` (frames already in memory).
"""

from __future__ import annotations

from pathlib import Path

VIDEO = "VIDEO"


def video_api():
    """This ComfyUI's ``VideoFromFile`` class, or None when it has no VIDEO type."""
    try:
        from comfy_api.v0_0_2 import InputImpl

        return InputImpl.VideoFromFile
    except Exception:  # older ComfyUI, or outside ComfyUI
        try:  # ComfyUI 0.3.2x, before the versioned API
            from comfy_api.input_impl import VideoFromFile

            return VideoFromFile
        except Exception:
            return None


def _trimmed(video) -> bool:
    """True when a file-backed VIDEO carries its own trim (newer ComfyUI): its file alone is not the clip."""
    return any(
        name.endswith(("__start_time", "__duration")) and value not in (None, 0, 0.0)
        for name, value in vars(video).items()
    )


def _has_own_file(video) -> bool:
    """True when the VIDEO's class provides its own stream source (a file) and carries no trim.

    ``VideoInput``'s default ``get_stream_source`` re-encodes the frames to an in-memory mp4 (lossy and
    slow): a VIDEO without its own is read through ``get_components`` instead.
    """
    owner = next((c for c in type(video).__mro__ if "get_stream_source" in vars(c)), None)
    return owner is not None and owner.__name__ != "VideoInput" and not _trimmed(video)


def video_source(video, start: int = 0, stop: int | None = None, stride: int = 1, what: str = "video"):
    """A dav_core FrameSource for a VIDEO input, with the frame range ``range(start, stop, stride)``.

    A VIDEO backed by a file on disk is streamed from that file (frame numbers are the file's); any
    other VIDEO (made from an image batch, or held in memory) is read through ``get_components()``.
    """
    from ..dav_core.io.video import frame_range
    from ..dav_core.longvideo.sources import ArraySource, FileSource

    if not hasattr(video, "get_components"):
        raise ValueError(f"{what} must be a VIDEO (from Load Video or Create Video), got {type(video).__name__}")
    stream = video.get_stream_source() if _has_own_file(video) else None
    if isinstance(stream, str) and Path(stream).is_file():
        return FileSource(stream, start, stop, stride)
    components = video.get_components()
    images = components.images  # [N,H,W,3] in [0,1]
    numbers = frame_range(int(images.shape[0]), start, stop, stride)
    fps = float(components.frame_rate) / stride if components.frame_rate else None
    return ArraySource(images[numbers.start : numbers.stop : numbers.step], fps=fps, frame_numbers=numbers)


def video_images(video, what: str = "video"):
    """Every frame of a VIDEO as an IMAGE batch [N,H,W,3] float32 in [0,1]."""
    import numpy as np
    import torch

    source = video_source(video, what=what)
    return torch.from_numpy(np.stack([np.asarray(frame, dtype=np.float32) for _, frame in source.frames()]))


def check_one_clip(video, images, node: str, video_name: str = "video") -> None:
    """A node's clip comes from exactly one of its IMAGE batch and its VIDEO input."""
    if (video is None) == (images is None):
        given = "both" if video is not None else "neither"
        raise ValueError(f"{node} needs either images (IMAGE batch) or {video_name} (VIDEO), got {given}")


def clip_source(video=None, images=None, fps: float = 24.0, start: int = 0, stop: int | None = None,
                stride: int = 1, node: str = "this node"):
    """The clip a node was given: a VIDEO input or an IMAGE batch (with ``fps``), exactly one of them."""
    from ..dav_core.io.video import frame_range
    from ..dav_core.longvideo.sources import ArraySource

    check_one_clip(video, images, node, "input_video")
    if video is not None:
        return video_source(video, start, stop, stride)
    if not hasattr(images, "ndim") or images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] == 0:
        shape = list(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"images must be a non-empty IMAGE batch [frames,H,W,3], got {shape}")
    numbers = frame_range(int(images.shape[0]), start, stop, stride)
    return ArraySource(images[numbers.start : numbers.stop : numbers.step], fps=fps / stride, frame_numbers=numbers)


def video_from_file(path: Path):
    """A VIDEO backed by a file the pack wrote (for Save Video, Get Video Components, ...)."""
    api = video_api()
    if api is None:
        raise RuntimeError(
            "this ComfyUI has no VIDEO type (comfy_api): update ComfyUI to use the video output, or use the "
            "files in the output folder"
        )
    return api(str(path))


def has_video_type() -> bool:
    return video_api() is not None

