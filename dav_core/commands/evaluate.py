"""`dav eval --data DIR`: score video depth methods on a synthetic dataset (AbsRel, delta1, TAE, speed).

Three ways of running the same model are compared on every clip of a ``dav synth`` dataset:

* ``keyframes`` -- the full long-video pipeline (``stream_depth``): keyframes denoised jointly, then
  interpolation windows anchored on them, so the whole clip shares one depth scale.
* ``windows`` -- the NVDS-style baseline: consecutive non-overlapping windows of ``--window`` frames,
  each predicted alone (``predict_depth_window``), so every window has its own unknown scale/shift.
* ``per-frame`` -- every frame predicted alone.
* ``vae-floor`` -- no UNet: the exact depth, normalised as in training, resized to the processing
  resolution, encoded and decoded by the model's own VAE. What a perfect UNet would score with this VAE
  at this resolution: the ceiling every method is read against.

Scoring follows the video protocol: one least-squares scale/shift in disparity space for the whole
clip (``metrics.evaluate_depth(per_frame=False)``), and the temporal alignment error (TAE) of the
prediction converted to depth with that same alignment. Inconsistent scales between windows or frames
therefore show up in every metric, which is the point of the comparison.

TAE is far from 0 even for exact depth where near objects pass in front of far ones (occlusions and
bilinear sampling across depth edges), so every report also gives the TAE of the ground-truth depth on
the same clips (``gt_tae``), the floor a model's TAE is read against, and the means per scene family.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

from .options import (
    add_keyframe_options,
    add_model_options,
    add_sampling_options,
    load_model,
    settings_from_args,
)

logger = logging.getLogger(__name__)

METHODS = ("keyframes", "windows", "per-frame", "vae-floor")
METRIC_KEYS = ("abs_rel", "delta1", "delta2", "delta3", "tae")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score keyframes / windows / per-frame depth on a synthetic dataset",
        description=(
            "Run each method on every clip of a synthetic dataset (made by `dav synth`) and report "
            "AbsRel, delta1 (one scale/shift per clip, the video protocol), TAE and frames/s."
        ),
    )
    p.add_argument(
        "--data", type=Path, default=None, help="synthetic dataset folder (clip_XXXXXX/ inside); needed unless --real"
    )
    p.add_argument(
        "--real",
        action="store_true",
        help="also score real photographs with ground truth (scikit-image's Middlebury motorcycle) beside a "
        "constant and a ramp, and the background change of a still camera over one",
    )
    add_model_options(p)
    p.add_argument("--json", type=Path, default=None, help="write per-clip and mean results to this file")
    p.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated methods from {', '.join(METHODS)} (default: all)",
    )
    add_sampling_options(p)
    p.add_argument("--max-clips", type=int, default=None, help="evaluate only the first N clips")
    p.add_argument(
        "--window",
        "--window-frames",
        dest="window",
        type=int,
        default=0,
        help="interpolation window of `keyframes` and window length of `windows`; 0 (default): the model's "
        "own (8 for the bundled model, 16 for the published one)",
    )
    add_keyframe_options(p)
    p.add_argument(
        "--max-depth", type=float, default=80.0, help="ignore GT depth beyond this (m, default 80)"
    )
    p.add_argument(
        "--min-depth", type=float, default=1e-3, help="ignore GT depth below this (m, default 1e-3)"
    )
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up prediction")
    p.set_defaults(func=run)


def parse_methods(text: str) -> list[str]:
    methods = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(
            f"--methods takes a comma-separated list of {', '.join(METHODS)}; "
            f"got {text!r}" + (f" (unknown: {', '.join(bad)})" if bad else "")
        )
    return list(dict.fromkeys(methods))


# ---------------------------------------------------------------------------------------------- scoring


def score_prediction(
    pred_disparity,
    gt_depth,
    valid,
    intrinsics,
    cam_to_world,
    max_depth: float = 80.0,
    min_depth: float = 1e-3,
) -> dict[str, float | None]:
    """Video-protocol scores of a relative disparity prediction [T,H,W] against GT depth [T,H,W] (metres).

    One scale/shift per sequence. Returns ``abs_rel``, ``delta1..3`` (fractions) and ``tae`` (x100,
    computed on the prediction aligned to depth with the same scale/shift; ``None`` for T < 2).
    Inputs may be numpy arrays or torch tensors; ``valid`` is a bool mask of usable GT pixels.
    """
    import torch

    from ..metrics import (
        align_disparity_to_depth,
        build_valid_mask,
        evaluate_depth,
        temporal_alignment_error,
    )

    pred = torch.as_tensor(pred_disparity).float()
    gt = torch.as_tensor(gt_depth).float()
    valid_t = torch.as_tensor(valid).bool()
    if pred.dim() != 3:
        raise ValueError(f"pred_disparity must be [T,H,W], got shape {tuple(pred.shape)}")
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and GT depth {tuple(gt.shape)} differ in shape")
    scores: dict[str, float | None] = dict(
        evaluate_depth(pred, gt, valid_t, max_depth=max_depth, min_depth=min_depth, per_frame=False)
    )
    mask = build_valid_mask(gt, valid_t, min_depth=min_depth, max_depth=max_depth)
    if pred.shape[0] < 2:
        scores["tae"] = None
        return scores
    depth, _ = align_disparity_to_depth(pred, gt, mask, max_depth)  # [T,H,W]
    scores["tae"] = temporal_alignment_error(
        depth, torch.as_tensor(intrinsics), torch.as_tensor(cam_to_world), mask
    )
    return scores


def ground_truth_tae(clip, max_depth: float = 80.0, min_depth: float = 1e-3) -> float | None:
    """TAE of a clip's exact depth (its floor: occlusion and sampling across depth edges); None for one frame."""
    import torch

    from ..metrics import build_valid_mask, temporal_alignment_error

    if clip.frames < 2:
        return None
    depth = torch.as_tensor(clip.depth).float()
    mask = build_valid_mask(
        depth, torch.as_tensor(clip.valid).bool(), min_depth=min_depth, max_depth=max_depth
    )
    return temporal_alignment_error(
        depth, torch.as_tensor(clip.intrinsics), torch.as_tensor(clip.poses), mask
    )


# ---------------------------------------------------------------------------------------------- methods


def vae_floor_disparity(model, clip, settings):
    """Disparity [T,H,W] of a clip's exact depth through the model's VAE at the processing resolution.

    The training target (disparity normalised over the clip, 2nd/98th percentiles to [-1,1]) goes the
    way frames go at inference: resized, encoded with the same fixed batches, decoded in the same chunks.
    """
    import torch

    from ..decoding import decode_disparity
    from ..models.vae import encode_batch_size, encode_fixed_batches
    from ..normalization import depth_to_disparity, normalize_depth
    from ..resize import FrameGeometry
    from ..settings import model_resolution

    depth = torch.as_tensor(clip.depth).float()  # [T,H,W]
    valid = torch.as_tensor(clip.valid).bool() & torch.isfinite(depth) & (depth > 0)
    target = normalize_depth(depth_to_disparity(depth, valid), valid)  # [T,H,W] in [-1,1]
    geometry = FrameGeometry.for_input(*target.shape[-2:], model_resolution(settings.max_resolution, model))
    images = geometry.to_model(target[:, None].expand(-1, 3, -1, -1).contiguous())  # [T,3,ph,pw]
    batch = encode_batch_size(settings.chunk_size, images.shape[0])
    with torch.inference_mode():
        latents = encode_fixed_batches(model.vae, images, batch)[0]  # [T,4,h,w]
        disparity = decode_disparity(
            model, latents, geometry, settings.chunk_size, settings.decode_chunk_overlap
        )
    return disparity.float().cpu()


def predict_method(model, method: str, frames, settings, window: int):
    """Disparity [T,H,W] (torch, CPU, float32) of frames [T,H,W,3] in [0,1] with one method."""
    import torch

    from ..depth import predict_depth_window
    from ..stages import stream_depth

    num = int(frames.shape[0])
    if method == "keyframes":
        out = [torch.as_tensor(f.disparity) for f in stream_depth(model, frames, settings)]
        if len(out) != num:
            raise RuntimeError(f"stream_depth returned {len(out)} frames for {num}")
        return torch.stack(out).float().cpu()
    length = window if method == "windows" else 1
    if method not in ("windows", "per-frame"):
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    parts = [
        predict_depth_window(model, frames[a : min(a + length, num)], settings).float().cpu()
        for a in range(0, num, length)
    ]
    return torch.cat(parts)


def _sync(model) -> None:
    import torch

    device = getattr(model, "device", None)
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def evaluate_clip(model, clip, methods, settings, window: int, max_depth: float, min_depth: float) -> dict:
    """Predict and score every method on one SyntheticClip; returns ``{method: scores + timing}``."""
    import numpy as np

    frames = clip.rgb.astype(np.float32) / 255.0  # [T,H,W,3]
    results = {}
    for method in methods:
        _sync(model)
        start = time.perf_counter()
        if method == "vae-floor":
            pred = vae_floor_disparity(model, clip, settings)
        else:
            pred = predict_method(model, method, frames, settings, window)
        _sync(model)
        seconds = time.perf_counter() - start
        scores = score_prediction(
            pred,
            clip.depth,
            clip.valid,
            clip.intrinsics,
            clip.poses,
            max_depth=max_depth,
            min_depth=min_depth,
        )
        scores["seconds"] = seconds
        scores["fps"] = clip.frames / seconds if seconds > 0 else None
        results[method] = scores
    return results


def summarize(clips: list[dict], methods: list[str]) -> dict:
    """Mean of each metric over clips (``None`` values skipped); fps = all frames / all seconds; the
    ground truth's own TAE (``gt_tae``) beside each method's."""
    floors = [c["gt_tae"] for c in clips if c.get("gt_tae") is not None]
    gt_tae = sum(floors) / len(floors) if floors else None
    mean = {}
    for method in methods:
        rows = [c["results"][method] for c in clips]
        entry: dict[str, float | int | None] = {}
        for key in METRIC_KEYS:
            values = [r[key] for r in rows if r.get(key) is not None]
            entry[key] = sum(values) / len(values) if values else None
        frames = sum(c["frames"] for c in clips)
        seconds = sum(r["seconds"] for r in rows)
        entry.update(
            frames=frames,
            seconds=seconds,
            fps=frames / seconds if seconds > 0 else None,
            clips=len(rows),
            gt_tae=gt_tae,
        )
        mean[method] = entry
    return mean


def summarize_families(clips: list[dict], methods: list[str]) -> dict:
    """:func:`summarize` per scene family: ``{family: {method: means}}``, families sorted."""
    families = sorted({c["scene_type"] for c in clips})
    return {f: summarize([c for c in clips if c["scene_type"] == f], methods) for f in families}


def format_table(mean: dict, num_clips: int) -> str:
    def cell(value, fmt: str) -> str:
        return (
            "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)
        )

    header = f"{'method':<10} {'AbsRel':>8} {'delta1':>8} {'TAE':>8} {'GT TAE':>8} {'frames/s':>9}"
    lines = [
        f"{num_clips} clip(s); one scale/shift per clip; AbsRel and TAE lower, delta1 higher is better; "
        "GT TAE: the TAE of the exact depth on the same clips (the floor)",
        header,
    ]
    lines.append("-" * len(header))
    for method, m in mean.items():
        lines.append(
            f"{method:<10} {cell(m['abs_rel'], '8.4f')} {cell(m['delta1'], '8.4f')} "
            f"{cell(m['tae'], '8.3f')} {cell(m.get('gt_tae'), '8.3f')} {cell(m['fps'], '9.2f')}"
        )
    return "\n".join(lines)


def format_family_table(families: dict) -> str:
    """One line per scene family and method: clips, AbsRel, delta1, TAE and the ground truth's TAE."""
    header = (
        f"{'family':<12} {'method':<10} {'clips':>5} {'AbsRel':>8} {'delta1':>8} {'TAE':>8} {'GT TAE':>8}"
    )
    lines = ["per scene family:", header, "-" * len(header)]
    for family, mean in families.items():
        for method, m in mean.items():
            values = (m["abs_rel"], m["delta1"], m["tae"], m.get("gt_tae"))
            cells = [
                "-" if v is None else f"{v:8.4f}" if i < 2 else f"{v:8.3f}" for i, v in enumerate(values)
            ]
            lines.append(f"{family:<12} {method:<10} {m['clips']:>5} " + " ".join(f"{c:>8}" for c in cells))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- command


def run(args: argparse.Namespace) -> int:
    from .evaluate_real import evaluate_real, format_real_table

    methods = parse_methods(args.methods)
    settings = settings_from_args(args, memory="off")  # evaluated at the sizes given
    if args.data is None and not args.real:
        raise ValueError("--data: give a synthetic dataset folder (made by `dav synth`), or --real, or both")
    paths = _clip_paths(args) if args.data is not None else []
    model = load_model(args)
    settings = settings.for_model(model)
    args.window = settings.window  # the `windows` baseline uses the same length; reported as run
    clips, skipped, mean, families = [], [], {}, {}
    if paths:
        logger.info("%d clip(s), methods %s, window %d", len(paths), methods, settings.window)
        clips, skipped = _score_clips(model, paths, methods, settings, args)
        if not clips:
            raise ValueError(f"--data: none of the {len(paths)} clip(s) in {args.data} could be scored")
        mean = summarize(clips, methods)
        families = summarize_families(clips, methods)
        print(format_table(mean, len(clips)))
        if len(families) > 1:
            print(format_family_table(families))
    real = evaluate_real(model, settings, methods, predict_method, args.max_depth) if args.real else None
    if real is not None:
        print(format_real_table(real))
    if args.json is not None:
        report = _report(args, model, methods, clips, skipped, mean, families)
        if real is not None:
            report["real"] = real
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        logger.info("wrote %s", args.json)
    return 0


def _clip_paths(args: argparse.Namespace) -> list[Path]:
    """The clip folders to score, after the checks that need no model."""
    from ..synthetic import clip_dirs

    if args.max_clips is not None and args.max_clips < 1:
        raise ValueError(f"--max-clips must be >= 1, got {args.max_clips}")
    if not 0 <= args.min_depth < args.max_depth:
        raise ValueError(f"need 0 <= --min-depth < --max-depth, got {args.min_depth} and {args.max_depth}")
    data = Path(args.data)
    if not data.exists():
        raise ValueError(f"--data: dataset directory {data} does not exist")
    if not data.is_dir():
        raise ValueError(f"--data: {data} is not a directory")
    paths = clip_dirs(data)
    if not paths:
        raise ValueError(
            f"--data: no complete clip folders (clip_XXXXXX/) in {data}; make one with `dav synth`"
        )
    return paths if args.max_clips is None else paths[: args.max_clips]


def _score_clips(model, paths, methods, settings, args) -> tuple[list[dict], list[dict]]:
    """(scored clips, skipped clips with the reason) of every clip in ``paths``."""
    import torch

    from ..metrics import build_valid_mask
    from ..synthetic import load_clip

    clips: list[dict] = []
    skipped: list[dict] = []
    for i, path in enumerate(paths):
        clip = load_clip(path)
        if i == 0 and not args.no_warmup:  # first calls pay one-time costs; keep them out of the timings
            predict_method(model, "windows", clip.rgb[:2].astype("float32") / 255.0, settings, 2)
        usable = build_valid_mask(
            torch.as_tensor(clip.depth), torch.as_tensor(clip.valid), args.min_depth, args.max_depth
        )
        if not bool(usable.any()):
            reason = f"no valid GT pixel with depth in ({args.min_depth}, {args.max_depth}) m"
            logger.warning("%s skipped: %s", path.name, reason)
            skipped.append({"name": path.name, "reason": reason})
            continue
        results = evaluate_clip(model, clip, methods, settings, args.window, args.max_depth, args.min_depth)
        clips.append(
            {
                "name": path.name,
                "scene_type": clip.scene_type,
                "seed": clip.seed,
                "frames": clip.frames,
                "size": list(clip.size),
                "gt_tae": ground_truth_tae(clip, args.max_depth, args.min_depth),
                "results": results,
            }
        )
        logger.info(
            "%s (%s, %d frames): %s",
            path.name,
            clip.scene_type,
            clip.frames,
            ", ".join(f"{m} AbsRel {r['abs_rel']:.4f}" for m, r in results.items()),
        )
    return clips, skipped


def _report(args, model, methods, clips, skipped, mean, families) -> dict:
    """The JSON report: model, data, settings, protocol, per-clip results and the means."""
    return {
        "model": str(model.source),
        "data": None if args.data is None else str(Path(args.data)),
        "device": str(model.device),
        "methods": methods,
        "settings": {
            "steps": args.steps,
            "seed": args.seed,
            "max_resolution": args.max_resolution,
            "window": args.window,
            "keyframes_per_pass": args.keyframes_per_pass,
            "pass_chaining": args.pass_chaining,
            "max_depth": args.max_depth,
            "min_depth": args.min_depth,
            "precision": args.precision,
        },
        "protocol": "one least-squares scale/shift in disparity per clip; TAE x100 on the aligned depth",
        "num_clips": len(clips),
        "clips": clips,
        "skipped": skipped,
        "mean": mean,
        "families": families,
    }
