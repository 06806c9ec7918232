"""Streaming long-video depth: keyframes first, then interpolation windows, decoded in overlapping chunks.

``stream_depth`` is a generator: frames in (a re-readable source or a one-shot iterator), depth frames
out in order, so the caller owns writing. It composes the same stage functions the ComfyUI nodes call
(``longvideo.keyframes``, ``longvideo.windows``, ``decoding``), streamed: each frame is VAE-encoded
once; with a re-readable source (array, video file, image folder) memory is bounded by the window and
the keyframe latents; a one-shot iterator is encoded up front and its latents are kept on the CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..decoding import ChunkedDecoder
from ..depth import model_resolution, predict_depth_window, predict_from_latents
from ..hooks import NO_HOOKS, Cancelled, Hooks, Progress
from ..models.loading import DAVModel
from ..resize import MIN_SINGLE_FRAME_SIZE, FrameGeometry
from .keyframes import solve_keyframe_latents
from .plan import InterpWindow, VideoPlan
from .reader import LatentReader
from .settings import LongVideoSettings
from .sources import FrameSource, as_frame_source
from .windows import interpolate_blocks, window_groups

__all__ = ["Cancelled", "DepthFrame", "LongVideoSettings", "stream_depth"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DepthFrame:
    """One output frame: source index and relative disparity [H,W] in [0,1] (near = 1) at input size."""

    index: int
    disparity: np.ndarray


@dataclass
class _Prepared:
    """A source with its geometry and plan; ``reader`` holds the latents of a one-shot source."""

    source: FrameSource
    geometry: FrameGeometry
    plan: VideoPlan
    reader: LatentReader | None


@dataclass
class _ResumeSchedule:
    """What a run with some frames already written still has to compute."""

    decoder: ChunkedDecoder
    groups: list[list[int]]  # window blocks to run (fixed by the plan, so a resumed run batches alike)
    window_frames: set[int]  # frames the remaining windows read


def _prepare(model, frames, settings, num_frames, hooks) -> _Prepared:
    source = as_frame_source(frames, num_frames)
    height, width = source.frame_size
    min_size = MIN_SINGLE_FRAME_SIZE if source.num_frames == 1 else 0
    resolution = model_resolution(settings.max_resolution, model)
    geometry = FrameGeometry.plan(height, width, resolution, min_size=min_size)
    reader = None
    if source.reiterable:
        total_frames = source.num_frames
    else:  # one-shot: encode everything now (latents stay on the CPU), then plan
        reader = LatentReader(model, source, geometry, settings.chunk_size, hooks=hooks)
        total_frames = reader.read_all()
    return _Prepared(source, geometry, settings.plan(total_frames), reader)


def _resume_schedule(model, prepared: _Prepared, settings, skip, hooks: Hooks) -> _ResumeSchedule:
    """Decode chunks and window blocks needed for the frames not in ``skip``."""
    plan = prepared.plan
    decoder = ChunkedDecoder(
        model,
        prepared.geometry,
        plan.num_frames,
        settings.chunk_size,
        settings.decode_chunk_overlap,
        skip,
        on_chunk=hooks.check_cancel,
    )
    needed_latents = decoder.latent_frames_needed()
    needed = {
        index
        for index, w in enumerate(plan.windows)
        if any(weight > 0 and f in needed_latents for f, weight in zip(w.frames, w.weights, strict=True))
    }
    groups = [g for g in window_groups(plan.windows, settings.window_batch) if needed.intersection(g)]
    window_frames = {f for g in groups for i in g for f in plan.windows[i].frames}
    return _ResumeSchedule(decoder, groups, window_frames)


def _keyframes(model, prepared: _Prepared, settings, progress: Progress, hooks: Hooks):
    """Encode the keyframes (one read of the source) and solve them; returns (video, depth) latents."""
    plan = prepared.plan
    if prepared.reader is None:
        reader = LatentReader(
            model, prepared.source, prepared.geometry, settings.chunk_size, plan.keyframes, hooks
        )
        reader.read_until(plan.keyframes[-1])
        key_rgb = reader.latents
    else:
        key_rgb = {f: prepared.reader.latents[f] for f in plan.keyframes}
    return key_rgb, solve_keyframe_latents(model, key_rgb, plan, settings, progress.advance)


def _windows_and_emit(model, prepared, settings, schedule, key_rgb, key_depth, progress, hooks):
    """Run the window blocks in order, decoding and yielding frames as soon as they are final."""
    plan, decoder = prepared.plan, schedule.decoder
    keyset = set(plan.keyframes)
    reader = prepared.reader
    if reader is None:  # second read of the source: the frames of the remaining windows
        reader = LatentReader(
            model,
            prepared.source,
            prepared.geometry,
            settings.chunk_size,
            schedule.window_frames - keyset,
            hooks,
        )
    blended: dict[int, torch.Tensor] = {f: key_depth[f] for f in plan.keyframes}
    release = plan.release_schedule()
    final_upto = len(release[0])  # frames 0..final_upto-1 have final latents
    yield from _emit(decoder, blended, final_upto)
    done = -1
    blocks = interpolate_blocks(
        model, plan, settings, key_depth, lambda w: _window_rgb(reader, key_rgb, w), schedule.groups
    )
    for group, contributions in blocks:
        for f, latent in contributions.items():
            blended[f] = blended.get(f, 0) + latent
        progress.advance(sum(len(plan.windows[i]) for i in group))
        # skipped windows release their frames too
        final_upto += sum(len(release[i + 1]) for i in range(done + 1, group[-1] + 1))
        done = group[-1]
        yield from _emit(decoder, blended, final_upto)
        reader.forget_before(plan.windows[group[0]].start, keyset)
    final_upto += sum(len(release[i + 1]) for i in range(done + 1, len(plan.windows)))
    yield from _emit(decoder, blended, final_upto)
    if decoder.next_frame != plan.num_frames:
        raise RuntimeError(f"internal error: emitted {decoder.next_frame} of {plan.num_frames} frames")


@torch.inference_mode()
def stream_depth(
    model: DAVModel,
    frames,
    settings: LongVideoSettings | None = None,
    *,
    num_frames: int | None = None,
    hooks: Hooks = NO_HOOKS,
    skip_frames: Iterable[int] = (),
) -> Iterator[DepthFrame]:
    """Yield a depth frame for every input frame, in order.

    Args:
        frames: a FrameSource, an array/tensor [N,H,W,3] in [0,1], or an iterable of [H,W,3] frames.
        num_frames: frame count when ``frames`` is a one-shot iterable that knows it (optional).
        hooks: progress in UNet frame-passes, and cancellation polled between UNet and VAE calls.
        skip_frames: frames already written by an earlier run (resume): not yielded, and windows and
            decode chunks needed only for them are not computed. Every other frame is identical to
            a full run, since each keyframe pass and window draws its own noise stream.
    """
    settings = (LongVideoSettings() if settings is None else settings).for_model(model)
    skip = frozenset(skip_frames)
    prepared = _prepare(model, frames, settings, num_frames, hooks)
    plan = prepared.plan
    if skip >= set(range(plan.num_frames)):
        return
    if plan.is_single_window:
        yield from _single_window(model, prepared, settings, skip)
        return
    if plan.windows and model.unet_interp is None:
        raise ValueError(
            "this model has no unet_interp: long videos need it (or raise max_keyframes_per_pass)"
        )
    logger.info(
        "%d frames: %d keyframes in %d passes, %d interpolation windows, %.2f UNet frame-passes per frame",
        plan.num_frames,
        len(plan.keyframes),
        len(plan.keyframe_passes),
        len(plan.windows),
        plan.unet_frames_per_output_frame,
    )
    schedule = _resume_schedule(model, prepared, settings, skip, hooks)
    progress = hooks.progress(plan.unet_frame_passes * settings.ensemble)
    progress.shrink(
        sum(len(w) for w in plan.windows) - sum(len(plan.windows[i]) for g in schedule.groups for i in g)
    )
    key_rgb, key_depth = _keyframes(model, prepared, settings, progress, hooks)
    yield from _windows_and_emit(model, prepared, settings, schedule, key_rgb, key_depth, progress, hooks)


def _single_window(model, prepared: _Prepared, settings, skip) -> Iterator[DepthFrame]:
    """All frames fit one pass: exactly the single-window path."""
    if prepared.reader is None:
        frames = np.stack([frame for _, frame in prepared.source.frames()])
        disparity = predict_depth_window(model, frames, settings)
    else:  # one-shot source already encoded
        reader = prepared.reader
        latents = torch.stack([reader.latents[f] for f in range(reader.last_index + 1)])[None]
        disparity = predict_from_latents(model, latents, prepared.geometry, settings)
    for f, d in enumerate(disparity):
        if f not in skip:
            yield DepthFrame(f, d.numpy())


def _window_rgb(reader: LatentReader, key_rgb: dict[int, torch.Tensor], window: InterpWindow) -> torch.Tensor:
    interior = [f for f in window.frames if f not in key_rgb]
    cached = dict(zip(interior, reader.take(interior), strict=True)) if interior else {}
    return torch.stack([key_rgb[f] if f in key_rgb else cached[f] for f in window.frames])  # [L,4,h,w]


def _emit(decoder: ChunkedDecoder, blended: dict[int, torch.Tensor], available: int) -> Iterator[DepthFrame]:
    for f, disparity in decoder.push(blended, available):
        yield DepthFrame(f, disparity.numpy())
    for f in [f for f in blended if f < decoder.oldest_needed]:
        del blended[f]
