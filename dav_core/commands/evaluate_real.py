"""`dav eval --real`: the model on real photographs with ground truth, and on a still camera over one.

Two checks that synthetic families cannot make (see :mod:`dav_core.real_images`):

* **real images** -- each image predicted alone; the fitted scale (its sign), Pearson correlation, AbsRel
  and delta1, beside a constant and a vertical ramp fitted the same way; ``pass`` when the scale is
  positive, the correlation above 0.3 and AbsRel below both baselines.
* **static camera** -- a clip of the photograph with the camera still and a patch moving across it; the
  mean frame-to-frame change of the untouched background's depth (clip-normalised disparity in [0,1]) for
  each video method, and its ratio to the per-frame method's.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

STATIC_METHODS = ("keyframes", "windows", "per-frame")
STATIC_FRAMES = 48
STATIC_SIZE = 96


def evaluate_real(model, settings, methods: list[str], predict_method, max_depth: float = 80.0) -> dict:
    """``{"images": {name: scores with baselines}, "static": {...}}`` for the model;
    ``predict_method(model, method, frames, settings, window)`` runs one method (``dav eval``'s)."""
    import numpy as np

    from ..real_images import passes, real_images, score_with_baselines

    images = {}
    photos = real_images()
    for image in photos:
        frames = image.rgb[None].astype(np.float32) / 255.0  # [1,H,W,3]
        pred = predict_method(model, "per-frame", frames, settings, 1)[0]  # [H,W]
        scores = score_with_baselines(pred, image, max_depth=max_depth)
        scores["pass"] = passes(scores)
        scores["source"] = image.source
        images[image.name] = scores
    chosen = [m for m in methods if m in STATIC_METHODS] or ["keyframes"]
    static = evaluate_static(model, settings, chosen, predict_method, photos[0])
    return {"images": images, "static": static}


def evaluate_static(model, settings, methods: list[str], predict_method, image) -> dict:
    """Background change per method on the still-camera clip of a real image; always includes
    ``per-frame``, the reference of ``ratio_to_per_frame``."""
    from ..real_images import background_change, static_camera_clip

    clip = static_camera_clip(image, frames=STATIC_FRAMES, size=STATIC_SIZE)
    methods = list(dict.fromkeys([*methods, "per-frame"]))
    change = {}
    for method in methods:
        pred = predict_method(model, method, clip.frames, settings, settings.window)  # [T,H,W]
        change[method] = background_change(pred, clip.moving)
    reference = change["per-frame"]
    return {
        "image": image.name,
        "frames": STATIC_FRAMES,
        "size": list(clip.frames.shape[1:3]),
        "background_change": change,
        "ratio_to_per_frame": {m: (c / reference if reference > 0 else None) for m, c in change.items()},
    }


def format_real_table(real: dict) -> str:
    """The real-image table and the static-camera line."""

    def cell(value, fmt: str) -> str:
        return f"{'-':>8}" if value is None else format(value, fmt)

    header = f"{'image':<12} {'predictor':<9} {'scale':>8} {'pearson':>8} {'AbsRel':>8} {'delta1':>8}"
    lines = [
        "real images: one least-squares scale/shift in disparity per image; a negative scale means near "
        "and far swapped",
        header,
        "-" * len(header),
    ]
    for name, scores in real["images"].items():
        for kind in ("model", "constant", "ramp"):
            s = scores[kind]
            lines.append(
                f"{name:<12} {kind:<9} {s['scale']:8.4f} {cell(s['pearson'], '8.3f')} "
                f"{s['abs_rel']:8.4f} {s['delta1']:8.4f}"
            )
        lines.append(f"{name:<12} {'pass' if scores['pass'] else 'FAIL'}: positive scale, pearson > 0.3, "
                     "AbsRel below constant and ramp")
    static = real["static"]
    parts = [
        f"{m} {c:.4f} ({static['ratio_to_per_frame'][m]:.2f}x)" for m, c in static["background_change"].items()
    ]
    lines.append(
        f"static camera ({static['image']}, {static['frames']} frames {static['size'][1]}x{static['size'][0]}), "
        "background change per frame (x per-frame): " + ", ".join(parts)
    )
    return "\n".join(lines)
