"""Pure planning of long-video inference: keyframes, keyframe passes, interpolation windows, decode chunks.

Everything here is integers and floats; no torch. A plan covers every frame ``0..N-1`` for any ``N >= 1``.

Spacing rules (``W = window``, ``O = overlap``, ``P = max_keyframes_per_pass``):

* ``N <= P``: *single window*. Every frame is a keyframe, denoised in one pass; no interpolation.
* ``O == 0``: keyframes are spread evenly over ``0..N-1`` with ``g = ceil((N-1)/(W-1))`` gaps, keyframe
  ``i`` at ``floor(i*(N-1)/g)``, so gaps differ by at most one frame and each is ``<= W-1``. One window per
  gap, ``[k_i, k_{i+1}]``; windows touch at a shared keyframe.
* ``O > 0``: windows all have length ``L = min(W, N)`` and their starts are spread evenly from 0 to
  ``N-L`` with a start stride of at most ``W-1-O`` frames, so consecutive windows share at least ``O+1``
  frames (``O`` steps). Keyframes are the two ends of every window (some lie inside other windows).

A window's weight for a generated frame ``f`` is proportional to its distance to the nearer window end,
``min(f-start, end-f)``, normalised over all windows covering ``f``. When two windows overlap by at most
half a window (``O <= (W-1)/2``) this is exactly a linear cross-fade across the shared span; heavier
overlaps give a piecewise-linear partition of unity. Keyframes take weight 1 from their keyframe pass and
weight 0 from every window. Windows without any generated frame are dropped.

Keyframe passes are balanced: ``n = ceil((M-A)/(P-A))`` passes for ``M`` keyframes and ``A = pass_overlap``;
pass ``i+1`` starts with the last ``A`` keyframes of pass ``i`` (its *anchors*, already solved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal, NamedTuple

PASS_CHAINING = ("pin", "align", "none")
"""How keyframe passes after the first keep the depth scale of the earlier ones:

* ``pin`` -- the shared (already solved) keyframes are held on the flow trajectory at every step,
  ``x = sigma * noise + (1 - sigma) * solved``, so the new keyframes are generated in their scale;
* ``align`` -- each pass is denoised on its own, then decoded and mapped by one least-squares
  scale/shift (in disparity) onto the shared keyframes, and re-encoded;
* ``none`` -- passes are independent (a baseline for measurements).
"""


__all__ = [
    "Chunk",
    "ChunkPlan",
    "FrameSource",
    "InterpWindow",
    "KeyframePass",
    "VideoPlan",
    "frame_sources",
    "plan_chunks",
    "plan_long_video",
]


class FrameSource(NamedTuple):
    """Where one frame's value comes from: a keyframe pass or an interpolation window (by index)."""

    kind: Literal["keyframe", "window"]
    index: int


@dataclass(frozen=True)
class KeyframePass:
    """Keyframes denoised jointly; ``anchors`` (a prefix of ``frames``) were solved by the previous pass."""

    frames: tuple[int, ...]
    anchors: tuple[int, ...] = ()

    @property
    def new_frames(self) -> tuple[int, ...]:
        """Frames this pass solves for the first time."""
        return self.frames[len(self.anchors) :]


@dataclass(frozen=True)
class InterpWindow:
    """Interpolation window over frames ``start..end`` inclusive; both ends are known keyframes.

    ``weights[i]`` is this window's blend weight for ``frames[i]`` (0 at keyframes).
    """

    start: int
    end: int
    frames: tuple[int, ...]
    weights: tuple[float, ...]

    def __len__(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class VideoPlan:
    """Complete schedule for one video; see the module docstring for the spacing rules."""

    num_frames: int
    window: int
    overlap: int
    max_keyframes_per_pass: int
    pass_overlap: int
    keyframes: tuple[int, ...]
    keyframe_passes: tuple[KeyframePass, ...]
    windows: tuple[InterpWindow, ...]  # sorted by start
    last_window_for_frame: tuple[int, ...]  # per frame: last window whose span contains it, -1 if none

    @property
    def is_single_window(self) -> bool:
        """True when all frames are denoised together in one pass with no interpolation."""
        return not self.windows and len(self.keyframe_passes) == 1

    @property
    def unet_frame_passes(self) -> int:
        """Frames pushed through the UNets: keyframe-pass lengths plus window lengths."""
        return sum(len(p.frames) for p in self.keyframe_passes) + sum(len(w) for w in self.windows)

    @property
    def unet_frames_per_output_frame(self) -> float:
        return self.unet_frame_passes / self.num_frames

    def window_order(self) -> tuple[InterpWindow, ...]:
        """Windows in processing order for streaming (sorted by start, then end)."""
        return tuple(sorted(self.windows, key=lambda w: (w.start, w.end)))

    def release_schedule(self) -> tuple[tuple[int, ...], ...]:
        """Frames a streaming runner may emit, in order, at each step.

        Entry 0: after the keyframe passes, before any window. Entry ``w+1``: after window ``w`` finishes.
        A frame is released once every window containing it is done and all earlier frames are released;
        the entries concatenate to ``0..N-1``.
        """
        steps: list[list[int]] = [[] for _ in range(len(self.windows) + 1)]
        ready = -1
        for frame, last in enumerate(self.last_window_for_frame):
            ready = max(ready, last)
            steps[ready + 1].append(frame)
        return tuple(tuple(s) for s in steps)


def _check_int(name: str, value: int, low: int, high: int | None = None) -> None:
    """Raise ValueError unless ``value`` is an int in ``[low, high]`` (``high=None``: unbounded)."""
    upper = "inf" if high is None else str(high)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer in [{low}, {upper}], got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {upper}], got {value}")


def _even_points(count: int, last: int) -> list[int]:
    """``count`` integers spread evenly over ``0..last`` (first 0, last ``last``); ``count >= 2``."""
    return [i * last // (count - 1) for i in range(count)]


def _window_spans(num_frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` spans of the interpolation windows; ``num_frames >= 2``."""
    last = num_frames - 1
    if overlap == 0:
        gaps = math.ceil(last / (window - 1))
        keys = _even_points(gaps + 1, last)
        return list(pairwise(keys))
    length = min(window, num_frames)
    stride = window - 1 - overlap
    count = 1 + math.ceil((num_frames - length) / stride)
    starts = [0] if count == 1 else _even_points(count, num_frames - length)
    return [(s, s + length - 1) for s in starts]


def _split_passes(keyframes: list[int], limit: int, shared: int) -> tuple[KeyframePass, ...]:
    """Balanced passes of at most ``limit`` keyframes; consecutive passes share ``shared`` keyframes."""
    total = len(keyframes)
    if total <= limit:
        return (KeyframePass(tuple(keyframes)),)
    count = math.ceil((total - shared) / (limit - shared))
    slots = total + (count - 1) * shared  # frames summed over passes
    sizes = [slots // count + (1 if i < slots % count else 0) for i in range(count)]
    passes, begin = [], 0
    for i, size in enumerate(sizes):
        frames = tuple(keyframes[begin : begin + size])
        passes.append(KeyframePass(frames, frames[:shared] if i else ()))
        begin += size - shared
    return tuple(passes)


def _window_weights(spans: list[tuple[int, int]], keyset: set[int]) -> list[InterpWindow]:
    """Attach normalised tent weights to each span; drop spans with no generated frame."""
    spans = [(a, b) for a, b in spans if any(f not in keyset for f in range(a + 1, b))]
    totals: dict[int, int] = {}
    for a, b in spans:
        for f in range(a + 1, b):
            if f not in keyset:
                totals[f] = totals.get(f, 0) + min(f - a, b - f)
    windows = []
    for a, b in spans:
        frames = tuple(range(a, b + 1))
        weights = tuple(0.0 if f in keyset or f in (a, b) else min(f - a, b - f) / totals[f] for f in frames)
        windows.append(InterpWindow(a, b, frames, weights))
    return windows


def plan_long_video(
    num_frames: int,
    *,
    window: int = 8,
    overlap: int = 0,
    max_keyframes_per_pass: int = 32,
    pass_overlap: int = 2,
) -> VideoPlan:
    """Plan keyframes, keyframe passes and interpolation windows covering frames ``0..num_frames-1``.

    ``window``: frames per interpolation window including both keyframe ends (>= 3).
    ``overlap``: minimum frame steps shared by neighbouring windows, in ``[0, window-3]``.
    ``max_keyframes_per_pass``: keyframes denoised jointly (>= 2).
    ``pass_overlap``: keyframes shared by consecutive passes, in ``[0, max_keyframes_per_pass-1]``.
    """
    _check_int("num_frames", num_frames, 1)
    _check_int("window", window, 3)
    _check_int("overlap", overlap, 0, window - 3)
    _check_int("max_keyframes_per_pass", max_keyframes_per_pass, 2)
    _check_int("pass_overlap", pass_overlap, 0, max_keyframes_per_pass - 1)

    if num_frames <= max_keyframes_per_pass:
        keyframes = list(range(num_frames))
        spans: list[tuple[int, int]] = []
    else:
        spans = _window_spans(num_frames, window, overlap)
        keyframes = sorted({f for span in spans for f in span})
    keyset = set(keyframes)
    windows = _window_weights(spans, keyset)

    last_window = [-1] * num_frames
    for index, w in enumerate(windows):
        for f in w.frames:
            last_window[f] = index
    return VideoPlan(
        num_frames=num_frames,
        window=window,
        overlap=overlap,
        max_keyframes_per_pass=max_keyframes_per_pass,
        pass_overlap=pass_overlap,
        keyframes=tuple(keyframes),
        keyframe_passes=_split_passes(keyframes, max_keyframes_per_pass, pass_overlap),
        windows=tuple(windows),
        last_window_for_frame=tuple(last_window),
    )


def frame_sources(plan: VideoPlan) -> list[list[tuple[FrameSource, float]]]:
    """Per frame, the ``(source, weight)`` pairs whose weighted sum gives its final value.

    A keyframe has one entry: the first pass that solves it (not as an anchor), weight 1.0. Other frames list
    every covering window with a non-zero weight; weights sum to 1.
    """
    sources: list[list[tuple[FrameSource, float]]] = [[] for _ in range(plan.num_frames)]
    for index, kp in enumerate(plan.keyframe_passes):
        for f in kp.new_frames:
            sources[f].append((FrameSource("keyframe", index), 1.0))
    for index, w in enumerate(plan.windows):
        for f, weight in zip(w.frames, w.weights, strict=True):
            if weight > 0.0:
                sources[f].append((FrameSource("window", index), weight))
    return sources


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

    def frame_weights(self) -> list[list[tuple[int, float]]]:
        """Per frame, ``(chunk_index, weight)`` pairs; weights sum to 1."""
        out: list[list[tuple[int, float]]] = [[] for _ in range(self.num_frames)]
        for index, c in enumerate(self.chunks):
            for offset, weight in enumerate(c.weights):
                out[c.start + offset].append((index, weight))
        return out


def plan_chunks(num_frames: int, chunk: int, overlap: int = 0) -> ChunkPlan:
    """Split ``0..num_frames-1`` into chunks of ``chunk`` frames overlapping by at least ``overlap`` frames.

    Chunk starts are spread evenly from 0 to ``num_frames-chunk`` (stride <= ``chunk-overlap``). A chunk's
    weight for a frame is its distance to the nearer chunk end plus one, normalised over covering chunks:
    a linear cross-fade over each overlap (exactly linear when ``overlap <= chunk/2``); frames covered once
    get weight 1.
    """
    _check_int("num_frames", num_frames, 1)
    _check_int("chunk", chunk, 1)
    _check_int("overlap", overlap, 0, chunk - 1)
    length = min(chunk, num_frames)
    count = 1 + math.ceil((num_frames - length) / (chunk - overlap))
    starts = [0] if count == 1 else _even_points(count, num_frames - length)
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
