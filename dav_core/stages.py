"""The depth pipeline as typed stages: what flows between them, and one ``Hooks`` for progress and cancel.

    frames --encode_video--> VideoLatents
        short clip:  --denoise_clip--> DepthLatents
        long video:  --solve_keyframes--> SolvedKeyframes --fill_windows--> DepthLatents
    DepthLatents --decode_depth--> disparity [N,H,W] --shot_values--> values in [0,1] for display
                 (decode_values: both in one stage)

Each ComfyUI node calls exactly one stage. ``longvideo.runner.stream_depth`` composes the same parts
(``longvideo.keyframes``, ``longvideo.windows``, ``decoding``) streamed, and gives the same disparity.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .choices import DEPTH_KINDS, SHOT_RANGES, SINGLE_PASS_FRAMES, check_choice
from .decoding import decode_disparity, plan_chunks
from .depth import DepthSettings, frames_to_tensor, model_resolution, predict_from_latents, sample_latents
from .hooks import NO_HOOKS, Hooks
from .longvideo.keyframes import solve_keyframe_latents
from .longvideo.plan import VideoPlan
from .longvideo.settings import LongVideoSettings
from .longvideo.sources import FrameSource
from .longvideo.windows import interpolate_blocks
from .models.loading import DAVModel
from .models.vae import encode_batch_size, encode_fixed_batches
from .resize import MIN_SINGLE_FRAME_SIZE, FrameGeometry


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
    """Keyframe depth latents {frame: [4,h,w]} with the plan and settings that made them."""

    video: VideoLatents
    plan: VideoPlan
    settings: LongVideoSettings
    depth: dict[int, torch.Tensor]


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
    model: DAVModel, frames, max_resolution: int | None = 0, chunk_size: int = 16, hooks: Hooks = NO_HOOKS
) -> VideoLatents:
    """Frames -> VideoLatents, each frame encoded once in chunks of ``chunk_size``.

    ``frames``: [N,H,W,3] in [0,1] (array or tensor), or a re-readable ``FrameSource`` with a known frame
    count (a file is then read chunk by chunk and never held whole). ``max_resolution`` is the long side
    the model sees (0: the model's own; None: no limit).
    """
    DepthSettings(max_resolution=max_resolution, chunk_size=chunk_size)  # validates both
    num_frames, frames = _checked_frames(frames)
    batch = encode_batch_size(chunk_size, num_frames)  # as the streaming reader batches
    read = batch * max(1, chunk_size // batch)  # frames converted at a time: whole batches, no padding
    progress = hooks.progress(-(-num_frames // read))
    geometry, latents = None, []
    for chunk in _frame_chunks(frames, read):  # converted chunk by chunk: a long clip is not copied whole
        video = frames_to_tensor(chunk)  # [n,3,H,W] in [-1,1]; validates shape and values
        if geometry is None:
            min_size = MIN_SINGLE_FRAME_SIZE if num_frames == 1 else 0
            geometry = FrameGeometry.plan(*video.shape[-2:], model_resolution(max_resolution, model), min_size=min_size)
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
    model: DAVModel, video: VideoLatents, settings: LongVideoSettings, hooks: Hooks = NO_HOOKS
) -> SolvedKeyframes:
    """Plan keyframes and windows for the clip and denoise the keyframes with their true frame
    positions, pass by pass (``settings.pass_chaining`` keeps later passes in the same depth scale)."""
    check_same_model(model, video, "video latents")
    settings = settings.for_model(model)
    plan = settings.plan(video.num_frames)
    if plan.windows and model.unet_interp is None:
        raise ValueError(
            f"{video.num_frames} frames need interpolation windows but this checkpoint has no unet_interp; "
            "use a full Depth Any Video checkpoint or raise max_keyframes_per_pass"
        )
    progress = hooks.progress(sum(len(p.frames) for p in plan.keyframe_passes) * settings.ensemble)
    rgb = {f: video.latents[f] for f in plan.keyframes}
    depth = solve_keyframe_latents(model, rgb, plan, settings, progress.advance)
    return SolvedKeyframes(video, plan, settings, depth)


@torch.inference_mode()
def fill_windows(model: DAVModel, keyframes: SolvedKeyframes, hooks: Hooks = NO_HOOKS) -> DepthLatents:
    """Fill every interpolation window between neighbouring keyframes and blend overlaps."""
    video, plan = keyframes.video, keyframes.plan
    check_same_model(model, video, "keyframes")
    blended = {f: keyframes.depth[f] for f in plan.keyframes}
    progress = hooks.progress(len(plan.windows))
    blocks = interpolate_blocks(
        model, plan, keyframes.settings, keyframes.depth, lambda w: video.latents[list(w.frames)]
    )
    for group, contributions in blocks:
        for f, latent in contributions.items():
            blended[f] = blended.get(f, 0) + latent
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
) -> torch.Tensor:
    """Decode and map for display in one stage: :func:`decode_depth`, then :func:`shot_values`."""
    _check_values(kind, range, near, far)
    disparity = decode_depth(model, depth, chunk_size, decode_overlap, hooks)
    return shot_values(disparity, kind, range, near, far)


def _check_values(kind: str, range: str, near: float, far: float) -> None:
    check_choice("kind", kind, DEPTH_KINDS)
    check_choice("range", range, SHOT_RANGES)
    if range == "fixed" and not near > far:
        raise ValueError(f"near ({near}) must be greater than far ({far}): both are disparities, near = 1")
