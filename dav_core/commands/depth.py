"""`dav depth INPUT --output DIR`: depth of a video, an image or a folder of frames, streamed to disk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..choices import COLORMAPS, OUTPUT_FORMATS
from .options import (
    add_keyframe_options,
    add_memory_option,
    add_model_options,
    add_sampling_options,
    load_model,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "depth",
        help="video depth (keyframes + interpolation), streamed to disk",
        description="Predict relative disparity (near = 1, far = 0) for every frame of INPUT.",
    )
    p.add_argument("input", type=Path, help="video file, image, or folder of frames")
    p.add_argument("--output", "-o", type=Path, required=True, help="output folder")
    add_model_options(p)
    add_sampling_options(p)
    p.add_argument("--ensemble", type=int, default=1, help="samples combined per keyframe, 1..32 (default 1)")
    p.add_argument(
        "--format",
        default="png16,mp4",
        help=f"comma-separated outputs from {', '.join(OUTPUT_FORMATS)} (default png16,mp4)",
    )
    p.add_argument(
        "--window",
        type=int,
        default=0,
        help="interpolation window incl. both keyframes; 0 (default): the model's own (8 for the bundled "
        "model, 16 for the published one)",
    )
    p.add_argument("--overlap", type=int, default=0, help="frames shared by neighbouring windows (default 0)")
    add_keyframe_options(p)
    p.add_argument(
        "--window-batch", type=int, default=8, help="interpolation windows per UNet batch (default 8)"
    )
    p.add_argument("--chunk-size", type=int, default=16, help="frames per VAE call (default 16)")
    add_memory_option(p)
    p.add_argument("--start", type=int, default=0, help="first source frame (default 0)")
    p.add_argument("--stop", type=int, default=None, help="stop before this source frame")
    p.add_argument("--stride", type=int, default=1, help="take every n-th frame (default 1)")
    p.add_argument(
        "--colormap", default="Spectral", choices=COLORMAPS, help="preview colormap (default Spectral)"
    )
    p.add_argument("--resume", action="store_true", help="keep frames already written and compute the rest")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..hooks import Hooks
    from ..io.output_folder import prepare_output_folder
    from ..job import parse_formats, write_depth
    from ..longvideo.settings import LongVideoSettings
    from ..longvideo.sources import FileSource

    formats = parse_formats(args.format, "--format")
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
    if settings.window:  # 0 is the model's own: checked once the model is loaded
        settings.plan(source.num_frames)  # validates the schedule before the model loads
    prepare_output_folder(args.output, "--output")
    model = load_model(args)
    with tqdm(total=1, unit="pass", disable=args.no_progress, file=sys.stderr, desc="depth") as bar:

        def on_progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        result = write_depth(
            model,
            source,
            settings,
            args.output,
            formats,
            colormap=args.colormap,
            resume=args.resume,
            overwrite=args.overwrite,
            hooks=Hooks(on_progress=on_progress),
            memory=args.memory,
        )
    rate = result.computed / result.seconds if result.seconds else 0.0
    print(
        f"wrote {result.computed} frames ({result.kept} kept from before) to {result.output} "
        f"in {result.seconds:.1f} s ({rate:.2f} frames/s)",
        file=sys.stderr,
    )
    return 0
