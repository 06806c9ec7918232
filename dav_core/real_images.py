"""Real photographs with ground truth, and the scores that show whether a model's depth carries signal there.

Synthetic families cannot show a model that learned cues of its renderer which real photographs reverse
(near and far swapped). This module holds what the package registries ship with ground truth, so the
check runs offline:

* ``motorcycle`` -- scikit-image's ``data.stereo_motorcycle()``: a Middlebury 2014 left image and its
  ground-truth disparity (NaN where unknown), down-sampled 4x; depth from the stated calibration,
  ``z = f * B / (d + doffs)``.

Each prediction is scored after one least-squares scale/shift in disparity (the image protocol), beside
two baselines fitted the same way: a constant and a vertical ramp (near at the bottom). The report per
image is the fitted scale (its sign: negative means near and far are swapped), the Pearson correlation
with the true disparity, and AbsRel / delta1 of the aligned depth.

A static-camera clip (:func:`static_camera_clip`) is made from the same photograph: the camera still, a
patch of another photograph moving across it; :func:`background_change` measures how much the depth of
the untouched background moves from frame to frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .metrics import abs_rel, align_scale_shift, build_valid_mask, delta_accuracy

# Calibration of scikit-image's down-sampled Middlebury "Motorcycle" pair (its docstring).
MOTORCYCLE_FOCAL_PX = 994.978
MOTORCYCLE_BASELINE_M = 0.193001
MOTORCYCLE_DOFFS_PX = 31.086

BASELINES = ("constant", "ramp")


@dataclass(frozen=True)
class RealImage:
    """One real photograph with ground truth: ``rgb`` uint8 [H,W,3], ``depth`` float32 [H,W] metres,
    ``valid`` bool [H,W]."""

    name: str
    rgb: np.ndarray
    depth: np.ndarray
    valid: np.ndarray
    source: str


def _require_skimage():
    try:
        from skimage import data
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            f"the real-image check needs scikit-image ({exc}); pip install scikit-image"
        ) from None
    return data


def motorcycle() -> RealImage:
    """scikit-image's Middlebury 2014 "Motorcycle" left image with metric depth from its disparity."""
    data = _require_skimage()
    left, _right, disparity = data.stereo_motorcycle()  # [H,W,3] uint8, [H,W] float32 px (NaN unknown)
    disparity = np.asarray(disparity, dtype=np.float64)
    valid = np.isfinite(disparity) & (disparity > 0)
    depth = np.zeros_like(disparity)
    depth[valid] = MOTORCYCLE_FOCAL_PX * MOTORCYCLE_BASELINE_M / (disparity[valid] + MOTORCYCLE_DOFFS_PX)
    return RealImage(
        name="motorcycle",
        rgb=np.ascontiguousarray(left),
        depth=depth.astype(np.float32),
        valid=valid,
        source="skimage.data.stereo_motorcycle (Middlebury 2014)",
    )


REAL_IMAGES = {"motorcycle": motorcycle}


def real_images(names: list[str] | None = None) -> list[RealImage]:
    """The real images with ground truth, by name (default: all of :data:`REAL_IMAGES`)."""
    names = list(REAL_IMAGES) if names is None else names
    unknown = [n for n in names if n not in REAL_IMAGES]
    if unknown:
        raise ValueError(f"unknown real image(s) {unknown}; known: {', '.join(REAL_IMAGES)}")
    return [REAL_IMAGES[n]() for n in names]


def baseline_disparity(kind: str, height: int, width: int) -> torch.Tensor:
    """A baseline "prediction" [H,W]: ``constant`` (all ones) or ``ramp`` (0 at the top row, 1 at the bottom:
    the ground plane of an eye-level photograph is nearest at the bottom)."""
    if kind == "constant":
        return torch.ones(height, width)
    if kind == "ramp":
        return torch.linspace(0.0, 1.0, height)[:, None].expand(height, width).contiguous()
    raise ValueError(f"unknown baseline {kind!r}; expected one of {', '.join(BASELINES)}")


def score_image(pred_disparity, gt_depth, valid, max_depth: float = 80.0, min_depth: float = 1e-3) -> dict:
    """Scores of a relative disparity [H,W] against depth [H,W]: ``scale`` and ``shift`` of the least-squares
    fit to the true disparity, ``pearson`` (None for a constant prediction), ``abs_rel``, ``delta1``."""
    pred = torch.as_tensor(pred_disparity).double()
    gt = torch.as_tensor(gt_depth).double()
    mask = build_valid_mask(gt, torch.as_tensor(valid).bool(), min_depth=min_depth, max_depth=max_depth)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and depth {tuple(gt.shape)} differ in shape")
    gt_disparity = torch.where(mask, 1.0 / gt.clamp_min(min_depth), torch.zeros_like(gt))
    p, g = pred[mask], gt_disparity[mask]  # [N], [N]
    if float(p.std()) > 0:
        aligned, (scale, shift) = align_scale_shift(pred, gt_disparity, mask)  # [H,W]
        pearson = float(torch.corrcoef(torch.stack([p, g]))[0, 1])
    else:  # a constant: the least-squares fit is the mean disparity, and there is no correlation
        scale, shift, pearson = 0.0, float(g.mean()), None
        aligned = torch.full_like(gt, shift)
    depth = 1.0 / aligned.clamp_min(1.0 / max_depth)  # [H,W] in (0, max_depth]
    return {
        "scale": float(scale),
        "shift": float(shift),
        "pearson": pearson,
        "abs_rel": abs_rel(depth, gt, mask),
        "delta1": delta_accuracy(depth, gt, mask),
    }


def score_with_baselines(pred_disparity, image: RealImage, max_depth: float = 80.0) -> dict:
    """``{"model": scores, "constant": scores, "ramp": scores}`` for one image."""
    height, width = image.depth.shape
    out = {"model": score_image(pred_disparity, image.depth, image.valid, max_depth)}
    for kind in BASELINES:
        out[kind] = score_image(baseline_disparity(kind, height, width), image.depth, image.valid, max_depth)
    return out


def passes(scores: dict, min_pearson: float = 0.3) -> bool:
    """The bar a model must clear on a real image: positive scale, correlation above ``min_pearson``, and
    AbsRel below both baselines."""
    m = scores["model"]
    return (
        m["scale"] > 0
        and m["pearson"] is not None
        and m["pearson"] > min_pearson
        and all(m["abs_rel"] < scores[k]["abs_rel"] for k in BASELINES)
    )


# ------------------------------------------------------------------------------------ static camera


@dataclass(frozen=True)
class StaticClip:
    """A still camera on a real photograph with an object moving across it.

    ``frames`` float32 [T,H,W,3] in [0,1]; ``moving`` bool [T,H,W], True where the object covers a pixel."""

    frames: np.ndarray
    moving: np.ndarray


def static_camera_clip(
    image: RealImage, frames: int = 48, size: int = 96, object_fraction: float = 0.25, seed: int = 0
) -> StaticClip:
    """The photograph resized so its long side is ``size`` (the camera never moves), with a disc cut from the
    same photograph (flipped, so it differs from what it covers) sliding from left to right."""
    from PIL import Image

    if frames < 2:
        raise ValueError(f"frames must be >= 2, got {frames}")
    h0, w0 = image.rgb.shape[:2]
    scale = size / max(h0, w0)
    h, w = max(8, round(h0 * scale)), max(8, round(w0 * scale))
    still = np.asarray(Image.fromarray(image.rgb).resize((w, h), Image.BICUBIC), np.float32) / 255.0
    rng = np.random.default_rng(seed)
    radius = max(2.0, object_fraction * h / 2)
    texture = still[::-1, ::-1]  # [H,W,3] the same photograph upside down: real texture, unlike the spot
    row = float(rng.uniform(radius, h - radius))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)  # [H,W]
    out = np.empty((frames, h, w, 3), np.float32)
    moving = np.empty((frames, h, w), bool)
    for t in range(frames):
        col = -radius + (w + 2 * radius) * t / (frames - 1)
        disc = (yy - row) ** 2 + (xx - col) ** 2 <= radius**2  # [H,W]
        out[t] = np.where(disc[..., None], texture, still)
        moving[t] = disc
    return StaticClip(frames=out, moving=moving)


def normalize_clip(disparity) -> torch.Tensor:
    """Disparity [T,H,W] mapped to [0,1] by one 2nd/98th percentile range over the whole clip."""
    d = torch.as_tensor(disparity).float()
    flat = d.flatten()
    sample = flat[torch.linspace(0, flat.numel() - 1, min(flat.numel(), 1_000_000)).long()]
    lo, hi = torch.quantile(sample, torch.tensor([0.02, 0.98])).tolist()
    return ((d - lo) / max(hi - lo, 1e-6)).clamp(0, 1)


def background_change(disparity, moving, margin: int | None = None) -> float:
    """Mean |d[t+1] - d[t]| over pixels the object covers in neither frame, on clip-normalised disparity.

    The object's mask is grown by ``margin`` pixels (default: 1/16 of the long side), so depth edges blurred
    by resizing to and from the model's resolution do not count as background change."""
    d = normalize_clip(disparity)  # [T,H,W]
    mask = torch.as_tensor(moving).bool()  # [T,H,W]
    margin = max(1, round(max(mask.shape[-2:]) / 16)) if margin is None else margin
    if margin > 0:
        grown = torch.nn.functional.max_pool2d(mask[:, None].float(), 2 * margin + 1, 1, margin)  # [T,1,H,W]
        mask = grown[:, 0] > 0
    still = ~mask  # [T,H,W]
    both = still[1:] & still[:-1]  # [T-1,H,W]
    if not bool(both.any()):
        raise ValueError("the moving object covers every pixel; no background to measure")
    return float((d[1:] - d[:-1]).abs()[both].mean())
