"""`dav depth INPUT --output DIR`: depth of a video, an image or a folder of frames, streamed to disk."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ..models.default import default_model_path
from .options import add_keyframe_options, add_sampling_options

logger = logging.getLogger(__name__)

FORMATS = ("png16", "exr", "npy", "mp4")
SEQUENCE_FORMATS = ("png16", "exr")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "depth",
        help="video depth (keyframes + interpolation), streamed to disk",
        description="Predict relative disparity (near = 1, far = 0) for every frame of INPUT.",
    )
    p.add_argument("input", type=Path, help="video file, image, or folder of frames")
    p.add_argument("--output", "-o", type=Path, required=True, help="output folder")
    p.add_argument("--model", help="model folder, bundle .safetensors or hub id (default: the bundled model)")
    add_sampling_options(p)
    p.add_argument("--ensemble", type=int, default=1, help="samples combined per keyframe, 1..32 (default 1)")
    p.add_argument(
        "--format",
        default="png16,mp4",
        help=f"comma-separated outputs from {', '.join(FORMATS)} (default png16,mp4)",
    )
    p.add_argument(
        "--window", type=int, default=8, help="interpolation window incl. both keyframes (default 8)"
    )
    p.add_argument("--overlap", type=int, default=0, help="frames shared by neighbouring windows (default 0)")
    add_keyframe_options(p)
    p.add_argument(
        "--window-batch", type=int, default=8, help="interpolation windows per UNet batch (default 8)"
    )
    p.add_argument("--chunk-size", type=int, default=16, help="frames per VAE call (default 16)")
    p.add_argument(
        "--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"], help="model precision"
    )
    p.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda, cuda:1, mps ...")
    p.add_argument("--start", type=int, default=0, help="first source frame (default 0)")
    p.add_argument("--stop", type=int, default=None, help="stop before this source frame")
    p.add_argument("--stride", type=int, default=1, help="take every n-th frame (default 1)")
    p.add_argument(
        "--colormap", default="Spectral", help="preview colormap: Spectral, turbo, inferno, viridis, gray"
    )
    p.add_argument("--resume", action="store_true", help="keep frames already written and compute the rest")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_formats(text: str) -> list[str]:
    formats = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"--format takes a comma-separated list of {', '.join(FORMATS)}; got {text!r}")
    return list(dict.fromkeys(formats))


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from ..io.writers import DepthNormalization, existing_frames, make_writer
    from ..longvideo.runner import LongVideoSettings, stream_depth
    from ..longvideo.sources import FileSource
    from ..models.loading import load_dav, resolve_dtype

    formats = parse_formats(args.format)
    if args.resume and args.overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    settings = LongVideoSettings(
        steps=args.steps,
        seed=args.seed,
        ensemble=args.ensemble,
        max_resolution=args.max_resolution,
        chunk_size=args.chunk_size,
        window=args.window,
        overlap=args.overlap,
        max_keyframes_per_pass=args.keyframes_per_pass,
        window_batch=args.window_batch,
        pass_chaining=args.pass_chaining,
    )
    source = FileSource(args.input, start=args.start, stop=args.stop, stride=args.stride)
    if source.num_frames == 0:
        raise ValueError(f"no frames selected from {args.input} (start={args.start}, stop={args.stop})")
    settings.plan(source.num_frames)  # validates the schedule before any model work

    device = resolve_device(args.device, torch)
    model_path = args.model or default_model_path()
    model = load_dav(model_path, dtype=resolve_dtype(args.precision, device), device=device)
    logger.info("model %s on %s (%s)", model_path, device, model.dtype)

    # files are numbered by source frame: index i of the selection is source frame numbers[i]
    numbers = list(source.frame_numbers)
    skip: set[int] = set()
    if args.resume and all(f in SEQUENCE_FORMATS for f in formats):
        done = set.intersection(*[set(existing_frames(args.output, f)) for f in formats])
        skip = {i for i, n in enumerate(numbers) if n in done}
        logger.info("resuming: %d of %d frames already written", len(skip), source.num_frames)
    elif args.resume:
        logger.warning("--resume only skips work for png16/exr outputs; npy/mp4 are rewritten whole")

    normalization = DepthNormalization(kind="disparity", low=0.0, high=1.0, relative=True)
    fps = getattr(source.info, "fps", 24.0) / max(1, args.stride)
    writers = [
        make_writer(
            fmt,
            args.output,
            normalization,
            expected_frames=numbers,
            **_writer_options(fmt, args, fps),
        )
        for fmt in formats
    ]
    bar = tqdm(total=1, unit="pass", disable=args.no_progress, file=sys.stderr, desc="depth")

    def on_progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    start = time.perf_counter()
    written = 0
    try:
        for frame in stream_depth(model, source, settings, on_progress=on_progress, skip_frames=skip):
            for writer in writers:
                writer.write(numbers[frame.index], frame.disparity)
            written += 1
            bar.set_postfix(frames=f"{written + len(skip)}/{source.num_frames}", refresh=False)
        for writer in writers:
            writer.close()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    finally:
        bar.close()
    elapsed = time.perf_counter() - start
    logger.info(
        "wrote %d frames to %s in %.1f s (%.2f frames/s)", written, args.output, elapsed, written / elapsed
    )
    return 0


def _writer_options(fmt: str, args: argparse.Namespace, fps: float) -> dict:
    if fmt in SEQUENCE_FORMATS:
        return {"resume": args.resume, "overwrite": args.overwrite}
    if fmt == "mp4":
        # invert: near (disparity 1) at the colormap's start, red for Spectral, as in the paper's figures
        return {
            "fps": fps,
            "colormap": args.colormap,
            "invert": True,
            "overwrite": args.overwrite or args.resume,
        }
    return {"overwrite": args.overwrite or args.resume}


def resolve_device(name: str, torch):
    """``auto`` picks CUDA, then MPS, then the CPU; any other name is passed to torch.device."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
