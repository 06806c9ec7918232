"""Streaming long-video depth: keyframes first, then interpolation windows, decoded in overlapping chunks.

``stream_depth`` is a generator: frames in (a re-readable source or a one-shot iterator), depth frames
out in order, so the caller owns progress, writing and cancellation. Each frame is VAE-encoded once.
With a re-readable source (array, video file, image folder) memory is bounded by the window and the
keyframe latents; a one-shot iterator is encoded up front and its latents are kept on the CPU.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..decoding import ChunkedDecoder
from ..denoise import denoise_latents
from ..depth import (
    DepthSettings,
    frames_to_tensor,
    model_resolution,
    predict_depth_window,
    predict_from_latents,
)
from ..ensemble import ensemble_disparity, fit_scale_shift
from ..models.loading import DAVModel
from ..models.vae import encode_frames, encode_normalized_depth, latents_to_disparity
from ..resize import MIN_SINGLE_FRAME_SIZE, FrameGeometry
from ..sampling import flow_match_sigmas, make_noise
from .plan import PASS_CHAINING, InterpWindow, KeyframePass, VideoPlan, plan_long_video
from .sources import FrameSource, as_frame_source

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LongVideoSettings(DepthSettings):
    """Depth settings plus the long-video schedule (see ``plan_long_video``)."""

    window: int = 8  # interpolation window length, both keyframes included
    overlap: int = 0  # frames shared by neighbouring windows
    max_keyframes_per_pass: int = 32
    pass_overlap: int | None = (
        None  # keyframes shared by consecutive passes; None: min(2, max_keyframes_per_pass-1)
    )
    window_batch: int = 8  # interpolation windows denoised together in one UNet batch
    pass_chaining: str = "pin"  # how a keyframe pass joins the earlier ones: see PASS_CHAINING

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window_batch < 1:
            raise ValueError(f"window_batch must be >= 1, got {self.window_batch}")
        if self.pass_chaining not in PASS_CHAINING:
            raise ValueError(
                f"pass_chaining must be one of {', '.join(PASS_CHAINING)}, got {self.pass_chaining!r}"
            )

    def plan(self, num_frames: int) -> VideoPlan:
        return plan_long_video(
            num_frames,
            window=self.window,
            overlap=self.overlap,
            max_keyframes_per_pass=self.max_keyframes_per_pass,
            pass_overlap=min(2, self.max_keyframes_per_pass - 1)
            if self.pass_overlap is None
            else self.pass_overlap,
        )


@dataclass(frozen=True)
class DepthFrame:
    """One output frame: source index and relative disparity [H,W] in [0,1] (near = 1) at input size."""

    index: int
    disparity: np.ndarray


class Cancelled(Exception):
    """Raised inside ``stream_depth`` when the caller's ``should_cancel`` returns True."""


def stage_generator(seed: int, stage: int, index: int) -> torch.Generator:
    """Independent noise stream per (stage, index) so any window can be recomputed alone (resume).

    Stage 0 index 0 (the first keyframe pass) uses ``seed`` itself, as the single-window path does.
    """
    if stage == 0 and index == 0:
        return torch.Generator().manual_seed(seed)
    state = np.random.SeedSequence([seed, stage, index]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


class LatentReader:
    """Reads a frame source in order and encodes each frame once, in chunks, caching latents by index."""

    def __init__(
        self, model: DAVModel, source: FrameSource, geometry: FrameGeometry, chunk_size: int, keep=None
    ):
        self.model, self.geometry, self.chunk_size = model, geometry, chunk_size
        self._frames = iter(source.frames())
        self._pending: list[tuple[int, torch.Tensor]] = []
        self._keep = keep  # frame indices to encode (None: all)
        self.latents: dict[int, torch.Tensor] = {}  # frame -> [4,h,w]
        self.next_index = 0

    def read_until(self, last: int) -> None:
        """Encode every wanted frame up to and including ``last``."""
        while self.next_index <= last:
            if not self._read_one():
                raise ValueError(f"the source ended after {self.next_index} frames, expected {last + 1}")
        self._flush()

    def read_all(self) -> int:
        """Encode the whole source; returns its frame count."""
        while self._read_one():
            pass
        self._flush()
        if self.next_index == 0:
            raise ValueError("the video has no frames: at least one frame is needed")
        return self.next_index

    def _read_one(self) -> bool:
        frame = next(self._frames, None)
        if frame is None:
            return False
        index = self.next_index
        self.next_index += 1
        frame = np.asarray(frame)
        if tuple(frame.shape[:2]) != self.geometry.input_size:
            raise ValueError(
                f"all frames must be {self.geometry.input_size} (H,W) like the first; frame {index} is "
                f"{tuple(frame.shape[:2])}"
            )
        if self._keep is None or index in self._keep:
            self._pending.append((index, frames_to_tensor(frame[None])[0]))
            if len(self._pending) >= self.chunk_size:
                self._flush()
        return True

    def _flush(self) -> None:
        if not self._pending:
            return
        indices, frames = zip(*self._pending, strict=True)
        self._pending = []
        video = torch.stack(frames)  # [n,3,H,W]
        latents = encode_frames(self.model.vae, self.geometry.to_model(video), self.chunk_size).cpu()
        self.latents.update(zip(indices, latents, strict=True))

    def take(self, indices: Iterable[int]) -> torch.Tensor:
        """Stack cached latents [n,4,h,w], reading ahead as needed."""
        indices = list(indices)
        self.read_until(max(indices))
        return torch.stack([self.latents[i] for i in indices])

    def forget_before(self, index: int, keep: set[int]) -> None:
        for i in [i for i in self.latents if i < index and i not in keep]:
            del self.latents[i]


def solve_keyframes(
    model: DAVModel,
    rgb: dict[int, torch.Tensor],
    passes: tuple[KeyframePass, ...],
    settings: DepthSettings,
    on_pass: Callable[[int], None] | None = None,
    chaining: str = "pin",
) -> dict[int, torch.Tensor]:
    """Depth latents of all keyframes; RoPE positions are the true frame indices.

    ``chaining`` (see ``PASS_CHAINING``) says how a pass after the first joins the keyframes solved
    earlier: ``pin`` holds them along the flow trajectory (at each step they are set to
    sigma * noise + (1 - sigma) * solved), ``align`` fits the finished pass onto them by scale/shift.
    """
    if chaining not in PASS_CHAINING:
        raise ValueError(f"chaining must be one of {', '.join(PASS_CHAINING)}, got {chaining!r}")
    solved: dict[int, torch.Tensor] = {}
    sigmas = flow_match_sigmas(settings.steps, model.scheduler_config)
    for index, kp in enumerate(passes):
        frames = list(kp.frames)
        condition = torch.stack([rgb[f] for f in frames])[None]  # [1,F,4,h,w]
        noise = make_noise(tuple(condition.shape), stage_generator(settings.seed, 0, index))
        shared = [i for i, f in enumerate(frames) if f in solved]
        pinned = shared if chaining == "pin" else []
        on_step = None
        if pinned:
            known = torch.stack([solved[frames[i]] for i in pinned])[None].to(model.device)  # [1,A,4,h,w]
            anchor_noise = noise[:, pinned].to(model.device)

            def on_step(step: int, x: torch.Tensor, known=known, anchor_noise=anchor_noise, pinned=pinned):
                sigma = sigmas[step]
                x = x.clone()
                x[:, pinned] = sigma * anchor_noise + (1 - sigma) * known
                return x

        positions = torch.tensor(frames)[None]  # [1,F]
        out = denoise_latents(
            model.unet,
            condition,
            noise,
            steps=settings.steps,
            scheduler_config=model.scheduler_config,
            position_ids=positions,
            on_step=on_step,
        )[0].cpu()  # [F,4,h,w]
        if shared and chaining == "align":
            reference = torch.stack([solved[frames[i]] for i in shared])  # [A,4,h,w]
            out = align_pass_to_reference(model, out, shared, reference, settings.chunk_size)
        for i, f in enumerate(frames):
            solved.setdefault(f, out[i])
        if on_pass is not None:
            on_pass(len(frames))
    return solved


def align_pass_to_reference(
    model: DAVModel, latents: torch.Tensor, shared: list[int], reference: torch.Tensor, chunk_size: int
) -> torch.Tensor:
    """Map a pass's depth latents [F,4,h,w] by one scale/shift in disparity so that its frames
    ``shared`` match the ``reference`` latents [A,4,h,w] of the same frames; re-encoded [F,4,h,w]."""
    disparity = latents_to_disparity(model.vae, latents.to(model.device), chunk_size)  # [F,H,W]
    target = latents_to_disparity(model.vae, reference.to(model.device), chunk_size)  # [A,H,W]
    scale, shift = fit_scale_shift(disparity[shared], target)
    aligned = (scale * disparity + shift).clamp(0.0, 1.0)
    return encode_normalized_depth(model.vae, aligned * 2 - 1, chunk_size).cpu()


def interpolate_windows(
    model: DAVModel,
    rgb: torch.Tensor,
    first: torch.Tensor,
    last: torch.Tensor,
    generators: list[torch.Generator],
    steps: int,
) -> torch.Tensor:
    """Fill B windows of equal length in one batch.

    rgb latents [B,L,4,h,w]; keyframe depth latents [B,4,h,w] at each window's two ends; one noise
    generator per window. Returns depth latents [B,L,4,h,w].
    """
    known = torch.zeros_like(rgb)  # [B,L,4,h,w]
    known[:, 0], known[:, -1] = first, last
    mask = torch.zeros_like(rgb)
    mask[:, [0, -1]] = 1.0  # 1 on the known frames, all 4 channels
    condition = torch.cat([rgb, known, mask], dim=2)  # [B,L,12,h,w]
    noise = torch.cat([make_noise((1, *rgb.shape[1:]), g) for g in generators])  # [B,L,4,h,w]
    out = denoise_latents(
        model.unet_interp, condition, noise, steps=steps, scheduler_config=model.scheduler_config
    )
    return out.cpu()


def interpolate_window(model, rgb, first, last, generator, steps) -> torch.Tensor:
    """One window: rgb latents [L,4,h,w], keyframe depth latents [4,h,w] -> [L,4,h,w]."""
    return interpolate_windows(model, rgb[None], first[None], last[None], [generator], steps)[0]


def window_groups(windows: tuple[InterpWindow, ...], batch: int) -> list[list[int]]:
    """Blocks of at most ``batch`` consecutive windows (a fixed partition of the plan)."""
    return [list(range(i, min(i + batch, len(windows)))) for i in range(0, len(windows), batch)]


def interpolate_blocks(
    model: DAVModel,
    plan: VideoPlan,
    settings: LongVideoSettings,
    key_depth: dict[int, torch.Tensor],
    window_rgb: Callable[[InterpWindow], torch.Tensor],
    groups: list[list[int]] | None = None,
) -> Iterator[tuple[list[int], dict[int, torch.Tensor]]]:
    """Run the interpolation windows block by block (lazily, in order).

    ``window_rgb(window)`` gives a window's video latents [L,4,h,w]; ``key_depth`` the keyframe depth
    latents. Yields (window indices of the block, {frame: sum of weight x depth latent}) so the caller
    adds the contributions of overlapping windows. Each window draws its own noise stream.
    """
    for group in window_groups(plan.windows, settings.window_batch) if groups is None else groups:
        contributions: dict[int, torch.Tensor] = {}
        for same_length in _by_length(group, plan.windows):
            batch = [plan.windows[i] for i in same_length]
            rgb = torch.stack([window_rgb(w) for w in batch])  # [B,L,4,h,w]
            first = torch.stack([key_depth[w.start] for w in batch])  # [B,4,h,w]
            last = torch.stack([key_depth[w.end] for w in batch])
            generators = [stage_generator(settings.seed, 1, i) for i in same_length]
            out = interpolate_windows(model, rgb, first, last, generators, settings.steps)  # [B,L,4,h,w]
            for window, latents in zip(batch, out, strict=True):
                for f, weight, latent in zip(window.frames, window.weights, latents, strict=True):
                    if weight > 0:
                        contributions[f] = contributions.get(f, 0) + weight * latent
        yield group, contributions


def _by_length(indices: list[int], windows: tuple[InterpWindow, ...]) -> list[list[int]]:
    """Split a block into UNet batches of equal window length (spacing differs by one frame at most)."""
    lengths = sorted({len(windows[i]) for i in indices})
    return [[i for i in indices if len(windows[i]) == n] for n in lengths]


@torch.inference_mode()
def stream_depth(
    model: DAVModel,
    frames,
    settings: LongVideoSettings = LongVideoSettings(),
    *,
    num_frames: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    skip_frames: Iterable[int] = (),
) -> Iterator[DepthFrame]:
    """Yield a depth frame for every input frame, in order.

    Args:
        frames: a FrameSource, an array/tensor [N,H,W,3] in [0,1], or an iterable of [H,W,3] frames.
        num_frames: frame count when ``frames`` is a one-shot iterable that knows it (optional).
        on_progress: called with (UNet frame-passes done, total) as the work advances.
        should_cancel: polled between UNet passes; returning True raises ``Cancelled``.
        skip_frames: frames already written by an earlier run (resume): not yielded, and windows and
            decode chunks needed only for them are not computed. Every other frame is identical to
            a full run, since each keyframe pass and window draws its own noise stream.
    """
    skip = frozenset(skip_frames)
    source = as_frame_source(frames, num_frames)
    height, width = source.frame_size
    min_size = MIN_SINGLE_FRAME_SIZE if source.num_frames == 1 else 0
    resolution = model_resolution(settings.max_resolution, model)
    geometry = FrameGeometry.plan(height, width, resolution, min_size=min_size)
    if source.reiterable:
        total_frames = source.num_frames
    else:  # one-shot: encode everything now (latents stay on the CPU), then plan
        reader = LatentReader(model, source, geometry, settings.chunk_size)
        total_frames = reader.read_all()
    plan = settings.plan(total_frames)
    if skip and skip >= set(range(total_frames)):
        return
    if plan.is_single_window:
        one_shot_reader = None if source.reiterable else reader
        yield from _single_window(model, source, one_shot_reader, geometry, settings, skip)
        return
    if plan.windows and model.unet_interp is None:
        raise ValueError(
            "this model has no unet_interp: long videos need it (or raise max_keyframes_per_pass)"
        )
    work_total = plan.unet_frame_passes * settings.ensemble
    work_done = 0

    def advance(frames_done: int) -> None:
        nonlocal work_done
        work_done += frames_done
        if on_progress is not None:
            on_progress(work_done, work_total)
        if should_cancel is not None and should_cancel():
            raise Cancelled()

    keyset = set(plan.keyframes)
    logger.info(
        "%d frames: %d keyframes in %d passes, %d interpolation windows, %.2f UNet frame-passes per frame",
        total_frames,
        len(plan.keyframes),
        len(plan.keyframe_passes),
        len(plan.windows),
        plan.unet_frames_per_output_frame,
    )

    decoder = ChunkedDecoder(
        model, geometry, total_frames, settings.chunk_size, settings.decode_overlap, skip
    )
    needed_latents = decoder.latent_frames_needed()
    needed = {
        index
        for index, w in enumerate(plan.windows)
        if any(weight > 0 and f in needed_latents for f, weight in zip(w.frames, w.weights, strict=True))
    }
    # groups are fixed by the plan, so a resumed run batches exactly as a full run does
    groups = [g for g in window_groups(plan.windows, settings.window_batch) if needed.intersection(g)]
    windows = [(index, plan.windows[index]) for group in groups for index in group]
    work_total -= sum(len(w) for w in plan.windows) - sum(len(w) for _, w in windows)

    # 1. keyframes: encode them (one read of the source), solve them jointly
    if source.reiterable:
        key_reader = LatentReader(model, source, geometry, settings.chunk_size, keep=keyset)
        key_reader.read_until(plan.keyframes[-1])
        window_frames = {f for _, w in windows for f in w.frames}
        reader = LatentReader(model, source, geometry, settings.chunk_size, keep=window_frames - keyset)
        key_rgb = key_reader.latents
    else:
        key_rgb = {f: reader.latents[f] for f in plan.keyframes}
    key_depth = solve_keyframes_ensembled(model, key_rgb, plan, settings, advance)

    # 2. windows in order, 3. decode in overlapping chunks, emitting frames as they are final
    blended: dict[int, torch.Tensor] = {f: key_depth[f] for f in plan.keyframes}
    release = plan.release_schedule()
    final_upto = len(release[0])  # frames 0..final_upto-1 have final latents
    yield from _emit(decoder, blended, final_upto)
    done = -1
    blocks = interpolate_blocks(
        model, plan, settings, key_depth, lambda w: _window_rgb(reader, key_rgb, w), groups
    )
    for group, contributions in blocks:
        for f, latent in contributions.items():
            blended[f] = blended.get(f, 0) + latent
        advance(sum(len(plan.windows[i]) for i in group))
        final_upto += sum(
            len(release[i + 1]) for i in range(done + 1, group[-1] + 1)
        )  # incl. skipped windows
        done = group[-1]
        yield from _emit(decoder, blended, final_upto)
        reader.forget_before(plan.windows[group[0]].start, keyset)
    for skipped in range(done + 1, len(plan.windows)):
        final_upto += len(release[skipped + 1])
    yield from _emit(decoder, blended, final_upto)
    if decoder.next_frame != total_frames:
        raise RuntimeError(f"internal error: emitted {decoder.next_frame} of {total_frames} frames")


def _single_window(model, source, reader, geometry, settings, skip) -> Iterator[DepthFrame]:
    """All frames fit one pass: exactly the single-window path."""
    frames = np.stack(list(source.frames())) if reader is None else None
    if frames is None:  # one-shot source already encoded
        latents = torch.stack([reader.latents[f] for f in range(reader.next_index)])[None]
        disparity = predict_from_latents(model, latents, geometry, settings)
    else:
        disparity = predict_depth_window(model, frames, settings)
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


def solve_keyframes_ensembled(
    model: DAVModel,
    key_rgb: dict[int, torch.Tensor],
    plan: VideoPlan,
    settings: LongVideoSettings,
    advance: Callable[[int], None] | None = None,
) -> dict[int, torch.Tensor]:
    """Solve keyframes ``settings.ensemble`` times and combine: decode, aligned median, re-encode."""
    if settings.ensemble == 1:
        return solve_keyframes(
            model, key_rgb, plan.keyframe_passes, settings, advance, settings.pass_chaining
        )
    members = []
    for member in range(settings.ensemble):
        member_settings = replace(settings, seed=settings.seed + member)
        latents = solve_keyframes(
            model, key_rgb, plan.keyframe_passes, member_settings, advance, settings.pass_chaining
        )
        stack = torch.stack([latents[f] for f in plan.keyframes])  # [K,4,h,w]
        members.append(latents_to_disparity(model.vae, stack, settings.chunk_size).cpu())  # [K,ph,pw]
    disparity, _ = ensemble_disparity(torch.stack(members))
    latents = encode_normalized_depth(model.vae, disparity * 2 - 1, settings.chunk_size).cpu()
    return dict(zip(plan.keyframes, latents, strict=True))
