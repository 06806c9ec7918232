"""Frame sources for the long-video runner: re-readable (array, file) or one-shot (any iterable)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


class FrameSource:
    """Frames [H,W,3] float in [0,1], in order. ``reiterable`` sources can be read again from the start."""

    reiterable: bool = True
    num_frames: int | None = None
    frame_size: tuple[int, int]  # (H, W)

    def frames(self) -> Iterator[np.ndarray]:
        raise NotImplementedError


class ArraySource(FrameSource):
    """Frames held in memory: an array or tensor [N,H,W,3]."""

    def __init__(self, frames) -> None:
        frames = frames.cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be [N,H,W,3] RGB, got shape {list(frames.shape)}")
        self._frames = frames
        self.num_frames = frames.shape[0]
        self.frame_size = tuple(frames.shape[1:3])

    def frames(self) -> Iterator[np.ndarray]:
        return iter(self._frames)


@dataclass
class FileSource(FrameSource):
    """A video file, an image folder or a single image, read with ``dav_core.io.video`` (PyAV)."""

    path: str | Path
    start: int = 0
    stop: int | None = None
    stride: int = 1

    def __post_init__(self) -> None:
        from ..io.video import frame_range, open_frames

        info, frames = open_frames(self.path, start=self.start, stop=self.stop, stride=self.stride)
        frames.close() if hasattr(frames, "close") else None
        self.info = info
        self.frame_numbers = frame_range(
            info.num_frames, self.start, self.stop, self.stride
        )  # source numbers
        self.num_frames = len(self.frame_numbers)
        self.frame_size = (info.height, info.width)

    def frames(self) -> Iterator[np.ndarray]:
        from ..io.video import open_frames

        return open_frames(self.path, start=self.start, stop=self.stop, stride=self.stride)[1]


class IteratorSource(FrameSource):
    """A one-shot iterable of frames; the runner encodes it up front."""

    reiterable = False

    def __init__(self, frames: Iterable, num_frames: int | None = None) -> None:
        iterator = iter(frames)
        head = list(itertools.islice(iterator, 2))  # peek: the frame size, and whether there is only one
        if not head:
            raise ValueError("the video has no frames: at least one frame is needed")
        first = np.asarray(head[0])
        if first.ndim != 3 or first.shape[-1] != 3:
            raise ValueError(f"each frame must be [H,W,3] RGB, got shape {list(first.shape)}")
        self._iterator = itertools.chain(head, iterator)
        self.frame_size = tuple(first.shape[:2])
        self.num_frames = 1 if len(head) == 1 else num_frames
        self._used = False

    def frames(self) -> Iterator[np.ndarray]:
        if self._used:
            raise RuntimeError("a one-shot frame iterator can only be read once")
        self._used = True
        return self._iterator


def as_frame_source(frames, num_frames: int | None = None) -> FrameSource:
    """Wrap what the caller passed: a FrameSource, a path, an array/tensor [N,H,W,3] or an iterable."""
    if isinstance(frames, FrameSource):
        return frames
    if isinstance(frames, str | Path):
        return FileSource(frames)
    if isinstance(frames, np.ndarray | torch.Tensor):
        return ArraySource(frames)
    return IteratorSource(frames, num_frames)
