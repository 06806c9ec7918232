"""Frame sources for the pipeline: re-readable (array, file) or one-shot (any iterable).

A source yields ``(index, frame)`` pairs in order, ``frame`` float ``[H,W,3]`` in [0,1] and ``index`` the
position in the selection (0..N-1). ``frames(wanted)`` reads only the wanted indices: a file source
converts no other frame to float and stops decoding after the last wanted one.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch


class FrameSource:
    """Frames in order. ``reiterable`` sources can be read again from the start."""

    reiterable: bool = True
    num_frames: int | None = None
    frame_size: tuple[int, int]  # (H, W)
    fps: float | None = None

    def frames(self, wanted: Collection[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, frame)`` for every frame, or only for ``wanted`` indices."""
        raise NotImplementedError

    def fingerprint(self) -> dict | None:
        """What identifies these frames, so a resumed run can tell that its input changed (None: unknown)."""
        return None


class ArraySource(FrameSource):
    """Frames held in memory: an array or tensor [N,H,W,3]; ``frame_numbers`` name them in outputs
    (default 0..N-1)."""

    def __init__(self, frames, fps: float | None = None, frame_numbers: Sequence[int] | None = None) -> None:
        frames = frames.cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be [N,H,W,3] RGB, got shape {list(frames.shape)}")
        self._frames = frames
        self.num_frames = frames.shape[0]
        self.frame_size = tuple(frames.shape[1:3])
        self.fps = fps
        self.frame_numbers = list(range(self.num_frames) if frame_numbers is None else frame_numbers)
        if len(self.frame_numbers) != self.num_frames:
            raise ValueError(f"frame_numbers has {len(self.frame_numbers)} entries for {self.num_frames} frames")

    def frames(self, wanted: Collection[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        indices = range(self.num_frames) if wanted is None else sorted(wanted)
        return ((i, self._frames[i]) for i in indices)

    def fingerprint(self) -> dict:
        data = np.ascontiguousarray(self._frames)
        return {"frames": list(data.shape), "sha256": hashlib.sha256(data.tobytes()).hexdigest()}


class FileSource(FrameSource):
    """A video file, an image sequence (folder or pattern such as ``plate.####.exr``) or a single image,
    probed once (``dav_core.io.video.MediaInput``).

    ``frame_numbers`` are the input's own frame numbers selected by ``start``/``stop``/``stride`` (a video:
    0..N-1; a sequence: the numbers of its files, ``start=1001`` selects from frame 1001; None: from the
    first, to the last). ``plate``: the input's PlateInfo. ``colorspace``, ``ocio_config``, ``display``,
    ``view``, ``layer``, ``on_missing``: see ``MediaInput``. Each call of :meth:`frames` opens the file once.
    """

    def __init__(
        self,
        path: str | Path,
        start: int | None = None,
        stop: int | None = None,
        stride: int = 1,
        **plate_options,
    ) -> None:
        from ..io.video import MediaInput, select_frames

        select_frames(range(0), start, stop, stride)  # validates the selection before touching the file
        self.path = Path(path)
        self.media = MediaInput(self.path, **plate_options)
        self.info = self.media.info
        self.plate = self.media.plate
        self.frame_numbers = select_frames(self.media.frame_numbers, start, stop, stride)
        self._index = {n: i for i, n in enumerate(self.frame_numbers)}
        self.num_frames = len(self.frame_numbers)
        self.frame_size = (self.info.height, self.info.width)
        self.fps = self.info.fps / stride

    def frames(self, wanted: Collection[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        numbers = self.frame_numbers
        selected = numbers if wanted is None else [numbers[i] for i in wanted]
        for number, frame in self.media.read(selected):
            yield self._index[number], frame

    def fingerprint(self) -> dict:
        numbers = self.frame_numbers
        if isinstance(numbers, range):
            selection = [numbers.start, numbers.stop, numbers.step]
        else:
            selection = [int(n) for n in numbers]
        return {**self.media.fingerprint(), "selection": selection}


class IteratorSource(FrameSource):
    """A one-shot iterable of frames; the pipeline encodes it up front."""

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

    def frames(self, wanted: Collection[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        if self._used:
            raise RuntimeError("a one-shot frame iterator can only be read once")
        if wanted is not None:
            raise ValueError("a one-shot frame iterator is read whole, in order")
        self._used = True
        return enumerate(self._iterator)


def as_frame_source(frames, num_frames: int | None = None) -> FrameSource:
    """Wrap what the caller passed: a FrameSource, a path, an array/tensor [N,H,W,3] or an iterable."""
    if isinstance(frames, FrameSource):
        return frames
    if isinstance(frames, str | Path):
        return FileSource(frames)
    if isinstance(frames, np.ndarray | torch.Tensor):
        return ArraySource(frames)
    return IteratorSource(frames, num_frames)
