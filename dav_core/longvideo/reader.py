"""Reading a frame source in order and VAE-encoding each wanted frame once, in chunks."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import numpy as np
import torch

from ..depth import frames_to_tensor
from ..hooks import NO_HOOKS, Hooks
from ..models.loading import DAVModel
from ..models.vae import encode_batch_size, encode_fixed_batches
from ..resize import FrameGeometry
from .sources import FrameSource


class LatentReader:
    """Reads the wanted frames of a source in order and VAE-encodes each once, caching latents [4,h,w]
    by frame index. ``wanted`` None means every frame.

    Every VAE call gets exactly ``encode_batch_size(chunk_size, N)`` frames (reading ahead to fill a
    batch, padding only the last), the same batches :func:`dav_core.stages.encode_video` makes, so a
    frame's latent is the same whichever frames a pass wants.
    """

    def __init__(
        self,
        model: DAVModel,
        source: FrameSource,
        geometry: FrameGeometry,
        chunk_size: int,
        wanted: Iterable[int] | None = None,
        hooks: Hooks = NO_HOOKS,
    ):
        self.model, self.geometry, self.hooks = model, geometry, hooks
        self.batch = encode_batch_size(chunk_size, source.num_frames or chunk_size)
        self._wanted = None if wanted is None else sorted(set(wanted))
        self._frames = source.frames(self._wanted)
        self._pending: list[tuple[int, torch.Tensor]] = []
        self.latents: dict[int, torch.Tensor] = {}  # frame -> [4,h,w]
        self.frames_read = 0
        self.last_index = -1  # highest frame index read so far

    def read_until(self, last: int) -> None:
        """Encode every wanted frame up to and including ``last``."""
        needed = last + 1 if self._wanted is None else bisect.bisect_right(self._wanted, last)
        while self.frames_read < needed:
            if not self._read_one():
                raise ValueError(f"the source ended after {self.last_index + 1} frames, expected {last + 1}")
        while self._pending and self._read_one():  # fill the batch with the next wanted frames
            pass
        self._flush()

    def read_all(self) -> int:
        """Encode the whole source; returns its frame count."""
        while self._read_one():
            pass
        self._flush()
        if self.frames_read == 0:
            raise ValueError("the video has no frames: at least one frame is needed")
        return self.last_index + 1

    def _read_one(self) -> bool:
        item = next(self._frames, None)
        if item is None:
            return False
        index, frame = item
        self.frames_read += 1
        self.last_index = index
        frame = np.asarray(frame)
        if tuple(frame.shape[:2]) != self.geometry.input_size:
            raise ValueError(
                f"all frames must be {self.geometry.input_size} (H,W) like the first; frame {index} is "
                f"{tuple(frame.shape[:2])}"
            )
        # resized on arrival: a batch of full-size frames (8K footage) is never held at once
        self._pending.append((index, self.geometry.to_model(frames_to_tensor(frame[None]))[0]))
        if len(self._pending) >= self.batch:
            self._flush()
        return True

    def _flush(self) -> None:
        if not self._pending:
            return
        indices, frames = zip(*self._pending, strict=True)
        self._pending = []
        video = torch.stack(frames)  # [n,3,ph,pw]
        latents, self.batch = encode_fixed_batches(self.model.vae, video, self.batch)  # batch shrinks on OOM
        self.latents.update(zip(indices, latents, strict=True))
        self.hooks.check_cancel()

    def take(self, indices: Iterable[int]) -> torch.Tensor:
        """Stack cached latents [n,4,h,w], reading ahead as needed."""
        indices = list(indices)
        self.read_until(max(indices))
        return torch.stack([self.latents[i] for i in indices])

    def forget_before(self, index: int, keep: set[int]) -> None:
        for i in [i for i in self.latents if i < index and i not in keep]:
            del self.latents[i]
