"""Pure planning of long-video inference: keyframes, keyframe passes, interpolation windows.

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

from ..choices import PASS_CHAINING
from ..spacing import check_int, even_points

__all__ = ["PASS_CHAINING", "InterpWindow", "KeyframePass", "VideoPlan", "plan_long_video"]


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


def _window_spans(num_frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` spans of the interpolation windows; ``num_frames >= 2``."""
    last = num_frames - 1
    if overlap == 0:
        gaps = math.ceil(last / (window - 1))
        keys = even_points(gaps + 1, last)
        return list(pairwise(keys))
    length = min(window, num_frames)
    stride = window - 1 - overlap
    count = 1 + math.ceil((num_frames - length) / stride)
    starts = [0] if count == 1 else even_points(count, num_frames - length)
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
    check_int("num_frames", num_frames, 1)
    check_int("window", window, 3)
    check_int("overlap", overlap, 0, window - 3)
    check_int("max_keyframes_per_pass", max_keyframes_per_pass, 2)
    check_int("pass_overlap", pass_overlap, 0, max_keyframes_per_pass - 1)

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
