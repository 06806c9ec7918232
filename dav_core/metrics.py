"""Depth evaluation metrics for video depth: affine alignment, AbsRel, delta accuracy and TAE.

Conventions
-----------
* Depth maps are torch tensors ``[H,W]`` (one frame) or ``[T,H,W]`` (a sequence), in metres.
* The model predicts *relative disparity*, so evaluation aligns the prediction to the ground-truth
  disparity ``1/depth`` with a least-squares scale and shift, then converts back to depth.
  The video protocol fits one ``(s, t)`` for the whole sequence; ``per_frame=True`` fits one per frame.
* Metrics are returned as fractions (AbsRel 0.05 = 5 %, delta1 0.98 = 98 %), except
  :func:`temporal_alignment_error`, which is reported x100 as in the literature.
* Cameras follow the OpenCV convention: x right, y down, z forward; pixel ``(u, v)`` = (column, row)
  with integer coordinates at pixel centres; poses are camera-to-world 4x4 rigid transforms.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from kornia.geometry.camera import project_points
from kornia.geometry.depth import depth_to_3d_v2
from kornia.geometry.linalg import relative_transformation, transform_points

logger = logging.getLogger(__name__)

DEFAULT_MAX_DEPTH = 80.0
DEFAULT_MIN_DEPTH = 1e-3
SAMPLING_MODES = ("bilinear", "nearest")


# ----------------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------------


def _check_same_shape(**tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"shapes must match, got {shapes}")


def _check_depth_shape(name: str, x: torch.Tensor) -> None:
    if x.dim() not in (2, 3):
        raise ValueError(f"{name} must be [H,W] or [T,H,W], got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")


def _check_mask(name: str, mask: torch.Tensor) -> torch.Tensor:
    if mask.dtype != torch.bool:
        raise ValueError(f"{name} must be a bool tensor, got dtype {mask.dtype}")
    if not bool(mask.any()):
        raise ValueError(f"{name} selects no pixels; need at least one valid pixel")
    return mask


def _check_finite(name: str, x: torch.Tensor) -> None:
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} must be finite, found {bad} NaN/inf value(s)")


# ----------------------------------------------------------------------------------------------
# alignment
# ----------------------------------------------------------------------------------------------


def align_scale_shift(
    pred: torch.Tensor, target: torch.Tensor, valid_mask: torch.Tensor
) -> tuple[torch.Tensor, tuple[float, float]]:
    """Least-squares ``s, t`` minimising ``sum_valid (s*pred + t - target)^2``; returns ``(s*pred+t, (s, t))``.

    Any shape works (``[H,W]`` per frame, ``[T,H,W]`` = one ``s,t`` for the whole video). Only valid
    pixels enter the fit; invalid ``target`` values (NaN/inf) are ignored. A constant prediction
    (singular normal equations) falls back to ``s=0, t=mean(target)`` with a warning.
    """
    _check_same_shape(pred=pred, target=target, valid_mask=valid_mask)
    _check_mask("valid_mask", valid_mask)
    p = pred[valid_mask].double()  # [N]
    y = target[valid_mask].double()  # [N]
    _check_finite("pred (valid pixels)", p)
    _check_finite("target (valid pixels)", y)
    n = float(p.numel())
    sp, sy, spp, spy = p.sum(), y.sum(), (p * p).sum(), (p * y).sum()
    det = float(spp * n - sp * sp)  # = n^2 * var(pred)
    if det <= 1e-12 * max(float(spp) * n, 1e-300):
        logger.warning("align_scale_shift: prediction is constant over valid pixels; using s=0, t=mean")
        s, t = 0.0, float(sy / n)
    else:
        s = float((n * spy - sp * sy) / det)
        t = float((spp * sy - sp * spy) / det)
    return pred * s + t, (s, t)


def align_disparity_to_depth(
    pred_disparity: torch.Tensor,
    gt_depth: torch.Tensor,
    valid_mask: torch.Tensor,
    max_depth: float = DEFAULT_MAX_DEPTH,
) -> tuple[torch.Tensor, tuple[float, float]]:
    """Align predicted disparity to GT disparity ``1/gt_depth`` and return depth, plus ``(s, t)``.

    The aligned disparity is clamped to ``>= 1/max_depth`` so the returned depth lies in ``(0, max_depth]``.
    ``valid_mask`` must select only pixels with finite, positive GT depth.
    """
    _check_same_shape(pred_disparity=pred_disparity, gt_depth=gt_depth, valid_mask=valid_mask)
    if not max_depth > 0:
        raise ValueError(f"max_depth must be > 0, got {max_depth}")
    _check_mask("valid_mask", valid_mask)
    gt_valid = gt_depth[valid_mask]
    if not bool((torch.isfinite(gt_valid) & (gt_valid > 0)).all()):
        raise ValueError("valid_mask must select only finite, positive gt_depth pixels")
    safe_gt = torch.where(valid_mask, gt_depth, torch.ones_like(gt_depth))
    gt_disparity = 1.0 / safe_gt  # invalid pixels hold a dummy 1.0, never used in the fit
    aligned, st = align_scale_shift(pred_disparity, gt_disparity, valid_mask)
    depth = 1.0 / aligned.clamp_min(1.0 / max_depth)
    return depth, st


# ----------------------------------------------------------------------------------------------
# per-pixel metrics
# ----------------------------------------------------------------------------------------------


def _valid_pairs(
    pred: torch.Tensor, gt: torch.Tensor, valid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    _check_same_shape(pred=pred, gt=gt, valid=valid)
    _check_mask("valid", valid)
    p, g = pred[valid].double(), gt[valid].double()  # [N], [N]
    _check_finite("pred (valid pixels)", p)
    if not bool((torch.isfinite(g) & (g > 0)).all()):
        raise ValueError("gt must be finite and > 0 on valid pixels")
    if not bool((p > 0).all()):
        raise ValueError("pred must be > 0 on valid pixels (depth, not disparity)")
    return p, g


def abs_rel(pred_depth: torch.Tensor, gt_depth: torch.Tensor, valid: torch.Tensor) -> float:
    """Mean absolute relative error ``mean(|pred - gt| / gt)`` over valid pixels (a fraction)."""
    p, g = _valid_pairs(pred_depth, gt_depth, valid)
    return float(((p - g).abs() / g).mean())


def delta_accuracy(
    pred_depth: torch.Tensor, gt_depth: torch.Tensor, valid: torch.Tensor, threshold: float = 1.25
) -> float:
    """Fraction of valid pixels with ``max(pred/gt, gt/pred) < threshold`` (delta_k: ``threshold=1.25**k``)."""
    if not threshold > 1.0:
        raise ValueError(f"threshold must be > 1, got {threshold}")
    p, g = _valid_pairs(pred_depth, gt_depth, valid)
    ratio = torch.maximum(p / g, g / p)  # [N]
    return float((ratio < threshold).double().mean())


def _depth_metrics(pred_depth: torch.Tensor, gt_depth: torch.Tensor, valid: torch.Tensor) -> dict[str, float]:
    return {
        "abs_rel": abs_rel(pred_depth, gt_depth, valid),
        "delta1": delta_accuracy(pred_depth, gt_depth, valid, 1.25),
        "delta2": delta_accuracy(pred_depth, gt_depth, valid, 1.25**2),
        "delta3": delta_accuracy(pred_depth, gt_depth, valid, 1.25**3),
    }


def build_valid_mask(
    gt_depth: torch.Tensor,
    valid: torch.Tensor | None = None,
    min_depth: float = DEFAULT_MIN_DEPTH,
    max_depth: float = DEFAULT_MAX_DEPTH,
) -> torch.Tensor:
    """``isfinite(gt) & (min_depth < gt < max_depth) & valid`` as a bool tensor shaped like ``gt_depth``."""
    if not 0 <= min_depth < max_depth:
        raise ValueError(f"need 0 <= min_depth < max_depth, got min_depth={min_depth}, max_depth={max_depth}")
    mask = torch.isfinite(gt_depth) & (gt_depth > min_depth) & (gt_depth < max_depth)
    if valid is not None:
        _check_same_shape(gt_depth=gt_depth, valid=valid)
        if valid.dtype != torch.bool:
            raise ValueError(f"valid must be a bool tensor, got dtype {valid.dtype}")
        mask = mask & valid
    return mask


def evaluate_depth(
    pred_disparity: torch.Tensor,
    gt_depth: torch.Tensor,
    valid: torch.Tensor | None = None,
    max_depth: float = DEFAULT_MAX_DEPTH,
    min_depth: float = DEFAULT_MIN_DEPTH,
    per_frame: bool = False,
) -> dict[str, float]:
    """Align predicted disparity to GT and return ``{abs_rel, delta1, delta2, delta3}`` (fractions).

    Inputs are ``[T,H,W]`` (or ``[H,W]`` as one frame). ``per_frame=False`` is the video protocol: one
    scale/shift for the whole sequence, metrics pooled over all valid pixels. ``per_frame=True`` aligns
    each frame on its own and averages the per-frame metrics (frames without valid pixels are skipped).
    NaN/inf in ``gt_depth`` are masked out; NaN/inf in ``pred_disparity`` raise ``ValueError``.
    """
    _check_depth_shape("pred_disparity", pred_disparity)
    _check_same_shape(pred_disparity=pred_disparity, gt_depth=gt_depth)
    _check_finite("pred_disparity", pred_disparity)
    mask = build_valid_mask(gt_depth, valid, min_depth=min_depth, max_depth=max_depth)
    if not bool(mask.any()):
        raise ValueError(
            "no valid pixels: gt_depth must be finite and within (min_depth, max_depth) somewhere"
        )
    if pred_disparity.dim() == 2 or not per_frame:
        depth, _ = align_disparity_to_depth(pred_disparity, gt_depth, mask, max_depth)
        return _depth_metrics(depth, gt_depth, mask)

    per: list[dict[str, float]] = []
    for k in range(pred_disparity.shape[0]):
        if not bool(mask[k].any()):
            logger.warning("evaluate_depth: frame %d has no valid pixels, skipped", k)
            continue
        depth_k, _ = align_disparity_to_depth(pred_disparity[k], gt_depth[k], mask[k], max_depth)  # [H,W]
        per.append(_depth_metrics(depth_k, gt_depth[k], mask[k]))
    return {key: sum(m[key] for m in per) / len(per) for key in per[0]}


# ----------------------------------------------------------------------------------------------
# temporal alignment error
# ----------------------------------------------------------------------------------------------


def _check_cameras(
    intrinsics: torch.Tensor, cam_to_world: torch.Tensor, t: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate and broadcast to ``[T,3,3]`` intrinsics and ``[T,4,4]`` poses (float64)."""
    if intrinsics.shape == (3, 3):
        intrinsics = intrinsics.expand(t, 3, 3)
    if intrinsics.shape != (t, 3, 3):
        raise ValueError(f"intrinsics must be [3,3] or [T,3,3] with T={t}, got {tuple(intrinsics.shape)}")
    if cam_to_world.shape != (t, 4, 4):
        raise ValueError(f"cam_to_world must be [T,4,4] with T={t}, got {tuple(cam_to_world.shape)}")
    k = intrinsics.double()
    pose = cam_to_world.double()
    _check_finite("intrinsics", k)
    _check_finite("cam_to_world", pose)
    if not bool(((k[:, 0, 0] > 0) & (k[:, 1, 1] > 0)).all()):
        raise ValueError("intrinsics must have positive focal lengths fx=K[0,0], fy=K[1,1]")
    bottom = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    rot = pose[:, :3, :3]
    eye = torch.eye(3, dtype=torch.float64)
    if not torch.allclose(pose[:, 3], bottom.expand(t, 4), atol=1e-6) or not torch.allclose(
        rot @ rot.transpose(-1, -2), eye.expand(t, 3, 3), atol=1e-4
    ):
        raise ValueError("cam_to_world must be rigid transforms [R|t; 0 0 0 1] with orthonormal R")
    return k, pose


def _directed_abs_rel(
    depth_src: torch.Tensor,
    valid_src: torch.Tensor,
    depth_dst: torch.Tensor,
    valid_dst: torch.Tensor,
    k_src: torch.Tensor,
    k_dst: torch.Tensor,
    dst_from_src: torch.Tensor,
    mode: str,
) -> float | None:
    """AbsRel between src depth warped into dst and dst depth sampled there; ``None`` if no overlap."""
    h, w = depth_src.shape
    d = torch.where(valid_src, depth_src, torch.zeros_like(depth_src))  # [H,W]
    pts = depth_to_3d_v2(d[None], k_src[None])  # [1,H,W,3] in src camera
    pts_dst = transform_points(dst_from_src[None], pts.reshape(1, -1, 3))  # [1,HW,3] in dst camera
    z = pts_dst[0, :, 2]  # [HW]
    in_front = z > 1e-6
    # points behind the camera are replaced by a dummy to avoid dividing by z <= 0; masked below
    safe = torch.where(in_front[:, None], pts_dst[0], torch.ones_like(pts_dst[0]))  # [HW,3]
    uv = project_points(safe, k_dst[None])  # [HW,2] (u=column, v=row)
    u, v = uv[:, 0], uv[:, 1]
    inside = (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)

    # align_corners=True: normalised -1/+1 hit the centres of the first/last pixel, matching u in [0, W-1]
    grid = torch.stack([2 * u / max(w - 1, 1) - 1, 2 * v / max(h - 1, 1) - 1], dim=-1)  # [HW,2]
    grid = grid.reshape(1, 1, -1, 2)
    dst_d = torch.where(valid_dst, depth_dst, torch.zeros_like(depth_dst))  # [H,W]
    stacked = torch.stack([dst_d, valid_dst.to(dst_d.dtype)])[None]  # [1,2,H,W]: depth, validity
    sampled, sampled_valid = F.grid_sample(stacked, grid, mode=mode, align_corners=True)[0, :, 0]  # [HW] each
    # bilinear: all four neighbours must be valid, nearest: the nearest one
    overlap = valid_src.reshape(-1) & in_front & inside & (sampled_valid > 1 - 1e-6)
    if not bool(overlap.any()):
        return None
    ref = sampled[overlap]  # [N]
    return float(((z[overlap] - ref).abs() / ref).mean())


def temporal_alignment_error(
    depth: torch.Tensor,
    intrinsics: torch.Tensor,
    cam_to_world: torch.Tensor,
    valid: torch.Tensor | None = None,
    mode: str = "bilinear",
) -> float:
    """Temporal alignment error (TAE, x100) of a depth video given camera intrinsics and poses.

    For each adjacent pair ``(k, k+1)`` and both directions, frame ``k``'s depth is back-projected with
    its intrinsics, moved into the other camera with the relative pose, and projected; the other
    frame's depth is sampled there with ``grid_sample`` (``mode``: ``"bilinear"`` (default; all four
    neighbours must be valid) or ``"nearest"``). The pair error is AbsRel ``|z_warped - d_sampled| /
    d_sampled`` over the overlap (valid source pixel, in front of the camera, inside the image, valid
    sample). TAE is the mean over the ``2(T-1)`` directed pairs times 100; pairs without overlap are
    skipped with a warning.

    Args:
        depth: ``[T,H,W]`` metric (aligned) depth, ``T >= 2``. Pixels with inf or ``<= 0`` are invalid;
            NaN raises ``ValueError`` unless ``valid`` excludes it.
        intrinsics: ``[3,3]`` shared or ``[T,3,3]`` per-frame pinhole ``K`` (OpenCV: x right, y down, z forward).
        cam_to_world: ``[T,4,4]`` rigid camera-to-world poses.
        valid: optional ``[T,H,W]`` bool mask of pixels to use.
    """
    if depth.dim() != 3:
        raise ValueError(f"depth must be [T,H,W], got shape {tuple(depth.shape)}")
    t, h, w = depth.shape
    if t < 2:
        raise ValueError(f"temporal_alignment_error needs T >= 2 frames, got T={t}")
    if h < 2 or w < 2:
        raise ValueError(f"depth frames must be at least 2x2, got {h}x{w}")
    if mode not in SAMPLING_MODES:
        raise ValueError(f"mode must be one of {SAMPLING_MODES}, got {mode!r}")
    k, pose = _check_cameras(intrinsics, cam_to_world, t)
    d = depth.double()  # [T,H,W]
    mask = torch.ones_like(d, dtype=torch.bool) if valid is None else valid
    if mask.shape != d.shape or mask.dtype != torch.bool:
        raise ValueError(
            f"valid must be a bool tensor of shape {tuple(d.shape)}, got {mask.dtype} {tuple(mask.shape)}"
        )
    if bool((torch.isnan(d) & mask).any()):
        raise ValueError(
            "depth contains NaN on valid pixels; mark them invalid with `valid` or fix the prediction"
        )
    mask = mask & torch.isfinite(d) & (d > 0)  # [T,H,W]

    errors: list[float] = []
    for i in range(t - 1):
        for src, dst in ((i, i + 1), (i + 1, i)):
            dst_from_src = relative_transformation(pose[dst], pose[src])  # [4,4] = inv(c2w_dst) @ c2w_src
            err = _directed_abs_rel(d[src], mask[src], d[dst], mask[dst], k[src], k[dst], dst_from_src, mode)
            if err is None:
                logger.warning("temporal_alignment_error: no overlap for pair %d->%d, skipped", src, dst)
                continue
            errors.append(err)
    if not errors:
        raise ValueError("temporal_alignment_error: no frame pair has any valid overlap")
    return 100.0 * sum(errors) / len(errors)
