"""Decoding depth latents to disparity in overlapping temporal chunks, blended so chunk borders do not show.

SVD's temporal VAE decoder mixes the frames of one call; decoding a long clip in independent chunks
would let each chunk drift a little. Neighbouring chunks here share frames, and a linear cross-fade
over the shared frames hides the borders.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from .models.loading import DAVModel
from .models.vae import decode_latents, images_to_disparity
from .resize import FrameGeometry
from .retry import retry_same_size
from .spacing import check_int, even_points


@dataclass(frozen=True)
class Chunk:
    """Frames ``start..stop-1`` (Python slice) decoded together; ``weights[i]`` blends frame ``start+i``."""

    start: int
    stop: int
    weights: tuple[float, ...]


@dataclass(frozen=True)
class ChunkPlan:
    num_frames: int
    chunk: int
    overlap: int
    chunks: tuple[Chunk, ...]


def plan_chunks(num_frames: int, chunk: int, overlap: int = 0) -> ChunkPlan:
    """Split ``0..num_frames-1`` into chunks of ``chunk`` frames overlapping by at least ``overlap`` frames.

    Chunk starts are spread evenly from 0 to ``num_frames-chunk`` (stride <= ``chunk-overlap``). A chunk's
    weight for a frame is its distance to the nearer chunk end plus one, normalised over covering chunks:
    a linear cross-fade over each overlap (exactly linear when ``overlap <= chunk/2``); frames covered once
    get weight 1.
    """
    check_int("num_frames", num_frames, 1)
    check_int("chunk", chunk, 1)
    check_int("overlap", overlap, 0, chunk - 1)
    length = min(chunk, num_frames)
    count = 1 + math.ceil((num_frames - length) / (chunk - overlap))
    starts = [0] if count == 1 else even_points(count, num_frames - length)
    ramps = [[min(f - s + 1, s + length - f) for f in range(s, s + length)] for s in starts]
    totals = [0] * num_frames
    for s, ramp in zip(starts, ramps, strict=True):
        for offset, r in enumerate(ramp):
            totals[s + offset] += r
    chunks = tuple(
        Chunk(s, s + length, tuple(r / totals[s + i] for i, r in enumerate(ramp)))
        for s, ramp in zip(starts, ramps, strict=True)
    )
    return ChunkPlan(num_frames, chunk, overlap, chunks)


def _check_finite(disparity: torch.Tensor, first_frame: int) -> None:
    """Stop at the first NaN or infinite depth instead of writing it (fp16 overflow, broken weights)."""
    bad = (~torch.isfinite(disparity)).flatten(1).any(dim=1)  # [n]
    if bad.any():
        frames = [first_frame + int(i) for i in torch.nonzero(bad).flatten()[:5]]
        raise RuntimeError(
            f"the model produced NaN or infinite depth at frames {frames}: the weights or the precision are "
            "at fault (fp16 can overflow); try fp32 or bf16, or check the checkpoint"
        )


def decode_chunk(model: DAVModel, stack: torch.Tensor, start: int) -> torch.Tensor:
    """Depth latents [n,4,h,w] of frames ``start..start+n-1`` -> disparity [n,ph,pw] on the CPU."""
    images = retry_same_size(  # a smaller chunk would decode differently: only retried as it is
        f"the VAE decode of {len(stack)} frames",
        lambda: decode_latents(model.vae, stack),
        "lower chunk_size or the memory budget",
    )
    disparity = images_to_disparity(images).cpu()  # [n,ph,pw]
    _check_finite(disparity, start)
    return disparity


class ChunkedDecoder:
    """Decodes final depth latents in overlapping temporal chunks and blends them, emitting frames in order."""

    def __init__(
        self,
        model: DAVModel,
        geometry: FrameGeometry,
        num_frames: int,
        chunk: int,
        overlap: int,
        skip: frozenset[int] = frozenset(),
        on_chunk: Callable[[], None] | None = None,
    ):
        self.on_chunk = on_chunk  # called after each decoded chunk (progress, cancellation)
        self.model, self.geometry, self.skip = model, geometry, skip
        self.plan = plan_chunks(num_frames, chunk, overlap)
        # chunks holding only skipped frames are not decoded
        self.needed = [any(f not in skip for f in range(c.start, c.stop)) for c in self.plan.chunks]
        self._next_chunk = 0
        self._sum: dict[int, torch.Tensor] = {}  # frame -> weighted disparity sum [H,W]
        self._remaining = [0] * num_frames  # chunks still to add per frame
        for c in self.plan.chunks:
            for f in range(c.start, c.stop):
                self._remaining[f] += 1
        self.next_frame = 0

    def push(self, latents: dict[int, torch.Tensor], available: int) -> Iterator[tuple[int, torch.Tensor]]:
        """Decode every chunk whose frames are all below ``available``; yield finished frames in order."""
        for index, stack in self.ready(latents, available):
            self.add(index, decode_chunk(self.model, stack, self.plan.chunks[index].start))
        yield from self.finished()

    def ready(self, latents: dict[int, torch.Tensor], available: int) -> Iterator[tuple[int, torch.Tensor]]:
        """(chunk index, its latents [n,4,h,w]) for each chunk to decode whose frames are all below
        ``available``, in order; chunks of skipped frames only are passed over. Each must be given back,
        decoded, to :meth:`add` in the same order (another process may decode it)."""
        chunks = self.plan.chunks
        while self._next_chunk < len(chunks) and chunks[self._next_chunk].stop <= available:
            c = chunks[self._next_chunk]
            self._next_chunk += 1
            if not self.needed[self._next_chunk - 1]:
                for f in range(c.start, c.stop):
                    self._remaining[f] -= 1
                continue
            yield self._next_chunk - 1, torch.stack([latents[f] for f in range(c.start, c.stop)])  # [n,4,h,w]

    def add(self, index: int, disparity: torch.Tensor) -> None:
        """Blend chunk ``index``'s decoded disparity [n,ph,pw] into its frames (chunks in order)."""
        c = self.plan.chunks[index]
        for offset, weight in enumerate(c.weights):
            f = c.start + offset
            self._sum[f] = self._sum.get(f, 0) + weight * disparity[offset]
            self._remaining[f] -= 1
        if self.on_chunk is not None:
            self.on_chunk()

    def finished(self) -> Iterator[tuple[int, torch.Tensor]]:
        """Frames whose every chunk is in, in order, at the input size [H,W] (skipped frames not yielded)."""
        while self.next_frame < len(self._remaining) and self._remaining[self.next_frame] == 0:
            f = self.next_frame
            self.next_frame += 1
            total = self._sum.pop(f, None)
            if f not in self.skip:
                yield f, self.geometry.to_input(total[None])[0].clamp(0, 1)

    def latent_frames_needed(self) -> set[int]:
        """Frames whose final latents some decoded chunk uses."""
        return {
            f for c, n in zip(self.plan.chunks, self.needed, strict=True) if n for f in range(c.start, c.stop)
        }

    @property
    def oldest_needed(self) -> int:
        """First frame whose latent a later chunk still needs."""
        chunks = self.plan.chunks
        return chunks[self._next_chunk].start if self._next_chunk < len(chunks) else len(self._remaining)


def decode_disparity(
    model: DAVModel,
    latents: torch.Tensor,
    geometry: FrameGeometry,
    chunk: int,
    overlap: int,
    on_chunk: Callable[[], None] | None = None,
) -> torch.Tensor:
    """Depth latents [T,4,h,w] -> disparity [T,H,W] in [0,1] at the input size."""
    decoder = ChunkedDecoder(model, geometry, latents.shape[0], chunk, overlap, on_chunk=on_chunk)
    frames = dict(enumerate(latents))
    return torch.stack([d for _, d in decoder.push(frames, latents.shape[0])])
