"""Solving keyframes: joint denoising with their true frame indices as RoPE positions, pass by pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from ..choices import PASS_CHAINING
from ..denoise import denoise_latents
from ..ensemble import ensemble_disparity, fit_scale_shift
from ..models.loading import DAVModel
from ..models.vae import encode_normalized_depth, latents_to_disparity
from ..retry import retry_same_size
from ..sampling import flow_match_sigmas, make_noise, stage_generator
from ..settings import DepthSettings, LongVideoSettings
from .plan import KeyframePass, VideoPlan


def solve_keyframe_passes(
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
        out = retry_same_size(  # a smaller pass would be another method: only retried as it is
            f"the keyframe pass of {len(frames)} frames",
            lambda condition=condition, noise=noise, positions=positions, on_step=on_step: denoise_latents(
                model.unet,
                condition,
                noise,
                steps=settings.steps,
                scheduler_config=model.scheduler_config,
                position_ids=positions,
                on_step=on_step,
            ),
            "lower max_keyframes_per_pass or the memory budget",
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


def solve_keyframe_latents(
    model: DAVModel,
    key_rgb: dict[int, torch.Tensor],
    plan: VideoPlan,
    settings: LongVideoSettings,
    advance: Callable[[int], None] | None = None,
) -> dict[int, torch.Tensor]:
    """Solve keyframes ``settings.ensemble`` times and combine: decode, aligned median, re-encode."""
    if settings.ensemble == 1:
        return solve_keyframe_passes(
            model, key_rgb, plan.keyframe_passes, settings, advance, settings.pass_chaining
        )
    members = []
    for member in range(settings.ensemble):
        member_settings = replace(settings, seed=settings.seed + member)
        latents = solve_keyframe_passes(
            model, key_rgb, plan.keyframe_passes, member_settings, advance, settings.pass_chaining
        )
        stack = torch.stack([latents[f] for f in plan.keyframes])  # [K,4,h,w]
        members.append(latents_to_disparity(model.vae, stack, settings.chunk_size).cpu())  # [K,ph,pw]
    disparity, _ = ensemble_disparity(torch.stack(members))
    latents = encode_normalized_depth(model.vae, disparity * 2 - 1, settings.chunk_size).cpu()
    return dict(zip(plan.keyframes, latents, strict=True))
