"""The depth pipeline as typed stages: what flows between them, and one ``Hooks`` for progress and cancel.

    frames --encode_video--> VideoLatents
        short clip:  --denoise_clip--> DepthLatents
        long video:  --solve_keyframes--> SolvedKeyframes --fill_windows--> DepthLatents
    DepthLatents --decode_depth--> disparity [N,H,W] --shot_values--> values in [0,1] for display
                 (decode_values: both in one stage)

Each ComfyUI node calls exactly one stage. :func:`stream_depth` composes the same parts streamed: frames
in, depth frames out in order, so the caller owns writing. Each frame is VAE-encoded once; with a
re-readable source (array, video file, image folder) memory is bounded by the window and the keyframe
latents; a one-shot iterator is encoded up front and its latents are kept on the CPU.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .choices import DEPTH_KINDS, SHOT_RANGES, SINGLE_PASS_FRAMES, check_choice
from .decoding import ChunkedDecoder, decode_disparity, plan_chunks
from .depth import frames_to_tensor, predict_depth_window, predict_from_latents, sample_latents
from .hooks import NO_HOOKS, Cancelled, Hooks
from .longvideo.keyframes import solve_keyframe_latents
from .longvideo.plan import InterpWindow, VideoPlan
from .longvideo.reader import LatentReader
from .longvideo.sources import FrameSource, as_frame_source
from .longvideo.windows import blend_windows, window_groups
from .memory.plan import fit_settings
from .models.loading import DAVModel
from .models.vae import encode_batch_size, encode_fixed_batches
from .resize import FrameGeometry
from .run import ResolvedRun, frame_geometry, resolve_run
from .settings import DepthSettings, LongVideoSettings

__all__ = [
    "Cancelled",
    "DepthFrame",
    "DepthLatents",
    "SolvedKeyframes",
    "VideoLatents",
    "decode_depth",
    "decode_values",
    "denoise_clip",
    "encode_video",
    "fill_windows",
    "shot_values",
    "solve_keyframes",
    "stream_depth",
]

logger = logging.getLogger(__name__)


def model_name(model: DAVModel) -> str:
    """How a model is named in messages: its file or folder name and precision."""
    name = Path(model.source).name if model.source else "model"
    return f"{name} ({str(model.dtype).removeprefix('torch.')})"


@dataclass(frozen=True)
class VideoLatents:
    """Video latents of every frame [N,4,h,w] on the CPU, their geometry, and the model that made them."""

    latents: torch.Tensor
    geometry: FrameGeometry
    model_id: int
    model_name: str

    @property
    def num_frames(self) -> int:
        return int(self.latents.shape[0])


@dataclass(frozen=True)
class SolvedKeyframes:
    """Keyframe depth latents {frame: [4,h,w]} with the resolved run that made them."""

    video: VideoLatents
    run: ResolvedRun
    depth: dict[int, torch.Tensor]

    @property
    def plan(self) -> VideoPlan:
        return self.run.plan

    @property
    def settings(self) -> LongVideoSettings:
        return self.run.settings


@dataclass(frozen=True)
class DepthLatents:
    """Depth latents [N,4,h,w] for every frame, or, after an ensemble (combined in disparity space),
    the disparity [N,H,W] itself."""

    latents: torch.Tensor | None
    geometry: FrameGeometry
    num_frames: int
    model_id: int
    model_name: str
    disparity: torch.Tensor | None = None


def check_same_model(model: DAVModel, made: VideoLatents | DepthLatents, what: str) -> None:
    """Latents only make sense with the model that made them."""
    if made.model_id != id(model):
        raise ValueError(
            f"the {what} were made with model '{made.model_name}', not with '{model_name(model)}' given "
            "here: use the same model (in ComfyUI, the same Load Depth Any Video Model node) for every stage"
        )


@torch.inference_mode()
def encode_video(
    model: DAVModel,
    frames,
    max_resolution: int | None = 0,
    chunk_size: int = 16,
    hooks: Hooks = NO_HOOKS,
    memory: str = "off",
    free_bytes: int | None = None,
) -> VideoLatents:
    """Frames -> VideoLatents, each frame encoded once in chunks of ``chunk_size``.

    ``frames``: [N,H,W,3] in [0,1] (array or tensor), or a re-readable ``FrameSource`` with a known frame
    count (a file is then read chunk by chunk and never held whole). ``max_resolution`` is the long side
    the model sees (0: the model's own; None: no limit). ``memory`` (auto, off or a size) lowers
    ``chunk_size`` to fit (``free_bytes``: free device memory when the caller knows it).
    """
    settings = LongVideoSettings(max_resolution=max_resolution, chunk_size=chunk_size, memory=memory)
    num_frames, frames = _checked_frames(frames)
    if memory != "off":
        size = frames.frame_size if isinstance(frames, FrameSource) else tuple(frames.shape[1:3])
        chunk_size = fit_settings(model, settings, size, memory, free_bytes)[0].chunk_size
    batch = encode_batch_size(chunk_size, num_frames)  # as the streaming reader batches
    read = batch * max(1, chunk_size // batch)  # frames converted at a time: whole batches, no padding
    progress = hooks.progress(-(-num_frames // read))
    geometry, latents = None, []
    for chunk in _frame_chunks(frames, read):  # converted chunk by chunk: a long clip is not copied whole
        video = frames_to_tensor(chunk)  # [n,3,H,W] in [-1,1]; validates shape and values
        if geometry is None:
            geometry = frame_geometry(model, settings, tuple(video.shape[-2:]), num_frames)
        encoded, batch = encode_fixed_batches(model.vae, geometry.to_model(video), batch)  # shrinks on OOM
        latents.append(encoded)
        progress.advance(1)
    return VideoLatents(torch.cat(latents), geometry, id(model), model_name(model))


def _checked_frames(frames) -> tuple[int, FrameSource | torch.Tensor]:
    """(frame count, the frames as a FrameSource or a tensor [N,H,W,3]); raises for no or misshapen frames."""
    if isinstance(frames, FrameSource):
        if not frames.num_frames:
            raise ValueError("frames is empty: at least one frame is needed")
        return frames.num_frames, frames
    frames = torch.as_tensor(frames)  # [N,H,W,3] in [0,1]
    if frames.ndim != 4 or frames.shape[0] == 0:
        frames_to_tensor(frames)  # raises the shape or emptiness error
    return frames.shape[0], frames


def _frame_chunks(frames: FrameSource | torch.Tensor, chunk_size: int) -> Iterator:
    """Chunks of up to ``chunk_size`` frames [n,H,W,3] of checked frames (a file is read as it goes)."""
    if isinstance(frames, FrameSource):
        stream = (frame for _, frame in frames.frames())
        while group := list(itertools.islice(stream, chunk_size)):
            yield np.stack(group)  # [n,H,W,3]
        return
    for start in range(0, frames.shape[0], chunk_size):
        yield frames[start : start + chunk_size]


@torch.inference_mode()
def denoise_clip(
    model: DAVModel, video: VideoLatents, settings: DepthSettings, hooks: Hooks = NO_HOOKS
) -> DepthLatents:
    """All frames of a short clip (at most ``SINGLE_PASS_FRAMES``) denoised jointly, one pass per step.

    With ``settings.ensemble`` > 1 the members are decoded and combined in disparity space, so the
    result holds the disparity instead of latents.
    """
    check_same_model(model, video, "video latents")
    if video.num_frames > SINGLE_PASS_FRAMES:
        raise ValueError(
            f"{video.num_frames} frames is too long for one pass (at most {SINGLE_PASS_FRAMES}); solve "
            "keyframes and fill the windows between them instead"
        )
    latents = video.latents[None]  # [1,N,4,h,w]
    common = dict(
        geometry=video.geometry, num_frames=video.num_frames, model_id=id(model), model_name=video.model_name
    )
    progress = hooks.progress(settings.steps * settings.ensemble)
    if settings.ensemble > 1:
        disparity = predict_from_latents(model, latents, video.geometry, settings)
        progress.advance(settings.steps * settings.ensemble)
        return DepthLatents(latents=None, disparity=disparity, **common)

    def on_step(step: int, x: torch.Tensor) -> None:
        if step:
            progress.advance(1)

    generator = torch.Generator().manual_seed(settings.seed)
    depth = sample_latents(model, latents, settings.steps, generator, on_step)[0].cpu()  # [N,4,h,w]
    progress.advance(1)
    return DepthLatents(latents=depth, **common)


@torch.inference_mode()
def solve_keyframes(
    model: DAVModel,
    video: VideoLatents,
    settings: LongVideoSettings | ResolvedRun,
    hooks: Hooks = NO_HOOKS,
    free_bytes: int | None = None,
) -> SolvedKeyframes:
    """Resolve the run for the clip (plan, memory fit; unless ``settings`` is already a resolved run)
    and denoise the keyframes with their true frame positions, pass by pass
    (``pass_chaining`` keeps later passes in the same depth scale)."""
    check_same_model(model, video, "video latents")
    run = settings if isinstance(settings, ResolvedRun) else resolve_run(
        model, settings, video.num_frames, geometry=video.geometry, free_bytes=free_bytes
    )
    plan = run.plan
    progress = hooks.progress(sum(len(p.frames) for p in plan.keyframe_passes) * run.settings.ensemble)
    rgb = {f: video.latents[f] for f in plan.keyframes}
    depth = solve_keyframe_latents(model, rgb, plan, run.settings, progress.advance)
    return SolvedKeyframes(video, run, depth)


@torch.inference_mode()
def fill_windows(model: DAVModel, keyframes: SolvedKeyframes, hooks: Hooks = NO_HOOKS) -> DepthLatents:
    """Fill every interpolation window between neighbouring keyframes and blend overlaps."""
    video, plan = keyframes.video, keyframes.plan
    check_same_model(model, video, "keyframes")
    blended = {f: keyframes.depth[f] for f in plan.keyframes}  # every frame once the windows are in
    progress = hooks.progress(len(plan.windows))
    rgb = lambda w: video.latents[list(w.frames)]  # noqa: E731 - [L,4,h,w]
    for group, _ in blend_windows(model, plan, keyframes.settings, keyframes.depth, rgb, blended=blended):
        progress.advance(len(group))
    missing = [f for f in range(video.num_frames) if f not in blended]
    if missing:
        raise RuntimeError(f"internal error: frames {missing[:5]} have no depth after interpolation")
    latents = torch.stack([blended[f] for f in range(video.num_frames)])  # [N,4,h,w]
    return DepthLatents(latents, video.geometry, video.num_frames, id(model), video.model_name)


@torch.inference_mode()
def decode_depth(
    model: DAVModel,
    depth: DepthLatents,
    chunk_size: int = 16,
    decode_overlap: int = 2,
    hooks: Hooks = NO_HOOKS,
) -> torch.Tensor:
    """Depth latents -> relative disparity [N,H,W] in [0,1] (near = 1) at the input size, decoded in
    chunks that overlap by ``decode_overlap`` frames (at most ``chunk_size - 1``) and are cross-faded."""
    if depth.disparity is not None:
        return depth.disparity
    check_same_model(model, depth, "depth latents")
    settings = DepthSettings(chunk_size=chunk_size, decode_overlap=decode_overlap)
    overlap = settings.decode_chunk_overlap
    progress = hooks.progress(len(plan_chunks(depth.num_frames, chunk_size, overlap).chunks))
    return decode_disparity(
        model, depth.latents, depth.geometry, chunk_size, overlap, on_chunk=lambda: progress.advance(1)
    )


def shot_values(
    disparity: torch.Tensor, kind: str = "disparity", range: str = "shot", near: float = 1.0, far: float = 0.0
) -> torch.Tensor:
    """Disparity [N,H,W] -> values in [0,1] for display and masks.

    ``range`` "shot" maps the shot's farthest and nearest values to 0 and 1 (one range for every frame,
    so nothing flickers); "fixed" maps the disparities ``far`` and ``near`` to 0 and 1. ``kind`` "depth"
    flips the result so that far = 1. Values stay relative: ordering and proportions, not metres.
    """
    _check_values(kind, range, near, far)
    low, high = (float(disparity.min()), float(disparity.max())) if range == "shot" else (far, near)
    unit = ((disparity - low) / max(high - low, 1e-6)).clamp(0, 1).float()
    return 1.0 - unit if kind == "depth" else unit


def decode_values(
    model: DAVModel,
    depth: DepthLatents,
    kind: str = "disparity",
    range: str = "shot",
    near: float = 1.0,
    far: float = 0.0,
    chunk_size: int = 16,
    decode_overlap: int = 2,
    hooks: Hooks = NO_HOOKS,
    memory: str = "off",
    free_bytes: int | None = None,
) -> torch.Tensor:
    """Decode and map for display in one stage: :func:`decode_depth`, then :func:`shot_values`; ``memory``
    (auto, off or a size) lowers ``chunk_size`` to fit (``free_bytes`` as in :func:`encode_video`)."""
    _check_values(kind, range, near, far)
    if memory != "off":
        settings = LongVideoSettings(chunk_size=chunk_size, decode_overlap=decode_overlap, memory=memory)
        chunk_size = fit_settings(model, settings, depth.geometry, memory, free_bytes)[0].chunk_size
    disparity = decode_depth(model, depth, chunk_size, decode_overlap, hooks)
    return shot_values(disparity, kind, range, near, far)


def _check_values(kind: str, range: str, near: float, far: float) -> None:
    check_choice("kind", kind, DEPTH_KINDS)
    check_choice("range", range, SHOT_RANGES)
    if range == "fixed" and not near > far:
        raise ValueError(f"near ({near}) must be greater than far ({far}): both are disparities, near = 1")


# --------------------------------------------------------------------------- the stages streamed


@dataclass(frozen=True)
class DepthFrame:
    """One output frame: source index and relative disparity [H,W] in [0,1] (near = 1) at input size."""

    index: int
    disparity: np.ndarray


@dataclass
class Schedule:
    """What a run with some frames already written still has to compute."""

    decoder: ChunkedDecoder
    groups: list[list[int]]  # window blocks to run (fixed by the plan, so a resumed run batches alike)
    window_frames: set[int]  # frames the remaining windows read


@torch.inference_mode()
def stream_depth(
    model: DAVModel,
    frames,
    settings: LongVideoSettings | ResolvedRun | None = None,
    *,
    num_frames: int | None = None,
    hooks: Hooks = NO_HOOKS,
    skip_frames: Iterable[int] = (),
) -> Iterator[DepthFrame]:
    """Yield a depth frame for every input frame, in order.

    Args:
        frames: a FrameSource, an array/tensor [N,H,W,3] in [0,1], or an iterable of [H,W,3] frames.
        settings: the run's settings (resolved here, once) or a run already resolved for these frames.
        num_frames: frame count when ``frames`` is a one-shot iterable that knows it (optional).
        hooks: progress in UNet frame-passes, and cancellation polled between UNet and VAE calls.
        skip_frames: frames already written by an earlier run (resume): not yielded, and windows and
            decode chunks needed only for them are not computed. Every other frame is identical to
            a full run, since each keyframe pass and window draws its own noise stream.
    """
    source = as_frame_source(frames, num_frames)
    run, reader = _resolve_for(model, source, LongVideoSettings() if settings is None else settings, hooks)
    plan, skip = run.plan, frozenset(skip_frames)
    if skip >= set(range(plan.num_frames)):
        return
    if plan.is_single_window:
        yield from _single_window(model, source, run, reader, skip)
        return
    logger.info(
        "%d frames: %d keyframes in %d passes, %d interpolation windows, %.2f UNet frame-passes per frame",
        plan.num_frames,
        len(plan.keyframes),
        len(plan.keyframe_passes),
        len(plan.windows),
        plan.unet_frames_per_output_frame,
    )
    schedule = remaining_schedule(model, run, skip, hooks)
    progress = hooks.progress(plan.unet_frame_passes * run.settings.ensemble)
    progress.shrink(
        sum(len(w) for w in plan.windows) - sum(len(plan.windows[i]) for g in schedule.groups for i in g)
    )
    key_rgb, key_depth = encode_and_solve_keyframes(model, source, run, reader, progress.advance, hooks)
    yield from _windows_and_emit(model, source, run, reader, schedule, key_rgb, key_depth, progress, hooks)


def _resolve_for(model, source: FrameSource, settings, hooks) -> tuple[ResolvedRun, LatentReader | None]:
    """The resolved run for ``source`` (``settings`` as given when already resolved); a one-shot source is
    encoded now (latents stay on the CPU) and its reader returned, since its length is known only once read."""
    resolved = settings if isinstance(settings, ResolvedRun) else None
    if source.reiterable:
        return resolved or resolve_run(model, settings, source.num_frames, source.frame_size), None
    if resolved is not None:
        geometry, chunk_size = resolved.geometry, resolved.settings.chunk_size
    else:  # a single frame gets the single-frame minimum size only when the source says it has one
        geometry = frame_geometry(model, settings, source.frame_size, source.num_frames or 0)
        chunk_size = settings.chunk_size
    reader = LatentReader(model, source, geometry, chunk_size, hooks=hooks)
    count = reader.read_all()
    return resolved or resolve_run(model, settings, count, geometry=geometry), reader


def remaining_schedule(model, run: ResolvedRun, skip, hooks: Hooks = NO_HOOKS) -> Schedule:
    """Decode chunks and window blocks needed for the frames not in ``skip`` (``model`` None: a decoder
    that only plans and blends, for chunks decoded elsewhere)."""
    plan, settings = run.plan, run.settings
    decoder = ChunkedDecoder(
        model,
        run.geometry,
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
    return Schedule(decoder, groups, window_frames)


def encode_and_solve_keyframes(model, source, run: ResolvedRun, reader=None, advance=None, hooks: Hooks = NO_HOOKS):
    """Encode the keyframes (one read of the source, unless ``reader`` holds every frame already) and
    solve them; returns (video, depth) latents {frame: [4,h,w]}."""
    plan = run.plan
    if reader is None:
        reader = LatentReader(model, source, run.geometry, run.settings.chunk_size, plan.keyframes, hooks)
        reader.read_until(plan.keyframes[-1])
        key_rgb = reader.latents
    else:
        key_rgb = {f: reader.latents[f] for f in plan.keyframes}
    return key_rgb, solve_keyframe_latents(model, key_rgb, plan, run.settings, advance)


def _windows_and_emit(model, source, run, reader, schedule, key_rgb, key_depth, progress, hooks):
    """Run the window blocks in order, decoding and yielding frames as soon as they are final."""
    plan, settings, decoder = run.plan, run.settings, schedule.decoder
    keyset = set(plan.keyframes)
    if reader is None:  # second read of the source: the frames of the remaining windows
        wanted = schedule.window_frames - keyset
        reader = LatentReader(model, source, run.geometry, settings.chunk_size, wanted, hooks)
    release = plan.release_schedule()
    final_upto = len(release[0])  # frames 0..final_upto-1 have final latents
    blended = {f: key_depth[f] for f in plan.keyframes}
    yield from _emit(decoder, blended, final_upto)
    done = -1
    rgb = lambda w: window_rgb(reader, key_rgb, w)  # noqa: E731 - [L,4,h,w]
    for group, _ in blend_windows(model, plan, settings, key_depth, rgb, schedule.groups, blended):
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


def _single_window(model, source, run: ResolvedRun, reader, skip) -> Iterator[DepthFrame]:
    """All frames fit one pass: exactly the single-window path."""
    if reader is None:
        frames = np.stack([frame for _, frame in source.frames()])
        disparity = predict_depth_window(model, frames, run.settings)
    else:  # one-shot source already encoded
        latents = torch.stack([reader.latents[f] for f in range(reader.last_index + 1)])[None]
        disparity = predict_from_latents(model, latents, run.geometry, run.settings)
    for f, d in enumerate(disparity):
        if f not in skip:
            yield DepthFrame(f, d.numpy())


def window_rgb(reader: LatentReader, key_rgb: dict[int, torch.Tensor], window: InterpWindow) -> torch.Tensor:
    """A window's video latents [L,4,h,w]: its keyframes from ``key_rgb``, the others read by ``reader``."""
    interior = [f for f in window.frames if f not in key_rgb]
    cached = dict(zip(interior, reader.take(interior), strict=True)) if interior else {}
    return torch.stack([key_rgb[f] if f in key_rgb else cached[f] for f in window.frames])  # [L,4,h,w]


def _emit(decoder: ChunkedDecoder, blended: dict[int, torch.Tensor], available: int) -> Iterator[DepthFrame]:
    for f, disparity in decoder.push(blended, available):
        yield DepthFrame(f, disparity.numpy())
    for f in [f for f in blended if f < decoder.oldest_needed]:
        del blended[f]
