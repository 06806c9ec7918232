"""`dav depth INPUT --output DIR`: depth of a video, an image or a folder of frames, streamed to disk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..choices import COLORMAPS, OUTPUT_FORMATS
from ..io.exr import EXR_LAYERS, EXR_TYPES
from ..io.output_names import DEFAULT_NAME
from .options import (
    add_keyframe_options,
    add_memory_option,
    add_model_options,
    add_plate_options,
    add_sampling_options,
    add_setting,
    load_model,
    option_names,
    plate_options,
    settings_from_args,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "depth",
        help="video depth (keyframes + interpolation), streamed to disk",
        description="Predict relative disparity (near = 1, far = 0) for every frame of INPUT.",
    )
    p.add_argument(
        "input",
        help="video file, image, folder of frames, or an image sequence pattern: plate.####.exr, plate.%%04d.exr, "
        "plate.1001-1100#.exr, plate.@@@@.exr",
    )
    p.add_argument("--output", "-o", type=Path, required=True, help="output folder")
    add_model_options(p)
    add_sampling_options(p)
    add_setting(p, "ensemble", "samples combined per keyframe, 1..32")
    p.add_argument(
        "--format",
        default="png16,mp4",
        help=f"comma-separated outputs from {', '.join(OUTPUT_FORMATS)} (default png16,mp4)",
    )
    add_setting(
        p,
        "window",
        "interpolation window incl. both keyframes; 0: the model's own (8 for the bundled model, 16 for the "
        "published one)",
    )
    add_setting(p, "overlap", "frames shared by neighbouring windows, at most window - 3")
    add_keyframe_options(p)
    add_setting(p, "window_batch", "interpolation windows per UNet batch")
    add_setting(p, "chunk_size", "frames per VAE call")
    add_memory_option(p)
    p.add_argument(
        "--start", type=int, default=None, help="first frame number of the input, e.g. 1001 (default: the first)"
    )
    p.add_argument("--stop", type=int, default=None, help="stop before this frame number of the input")
    p.add_argument("--stride", type=int, default=1, help="take every n-th frame (default 1)")
    p.add_argument(
        "--colormap", default="Spectral", choices=COLORMAPS, help="preview colormap (default Spectral)"
    )
    add_plate_options(p)
    p.add_argument(
        "--name",
        default=DEFAULT_NAME,
        help=f"name of the output files: NAME.<frame>.png/.exr, NAME.npy, NAME_preview.mp4 (default {DEFAULT_NAME})",
    )
    p.add_argument(
        "--first-frame",
        type=int,
        default=0,
        help="number of a video's first frame in the output names, e.g. 1001 (default 0); added to the "
        "source frame numbers",
    )
    p.add_argument(
        "--exr-type", default="float", choices=EXR_TYPES, help="pixel type of the EXR channels (default float)"
    )
    p.add_argument(
        "--exr-layers",
        default="depth",
        help=f"comma-separated EXR layers from {', '.join(EXR_LAYERS)}: depth (depth.Z), normals (N.X/N.Y/N.Z, "
        "camera space) (default depth)",
    )
    p.add_argument("--resume", action="store_true", help="keep frames already written and compute the rest")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..hooks import Hooks
    from ..io.exr import parse_exr_layers
    from ..io.output_folder import prepare_output_folder
    from ..io.output_names import check_name
    from ..job import OutputSpec, parse_formats, write_depth
    from ..longvideo.sources import FileSource

    names = option_names()
    output = OutputSpec(
        args.output,
        parse_formats(args.format, "--format"),
        args.colormap,
        args.resume,
        args.overwrite,
        name=check_name(args.name, "--name"),
        first_frame=args.first_frame,
        exr_type=args.exr_type,
        exr_layers=parse_exr_layers(args.exr_layers, "--exr-layers"),
    )
    if output.resume and output.overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    settings = settings_from_args(args)  # every check that needs no model, before the model loads
    source = FileSource(args.input, start=args.start, stop=args.stop, stride=args.stride, **plate_options(args))
    if source.num_frames == 0:
        raise ValueError(f"no frames selected from {args.input} (start={args.start}, stop={args.stop})")
    prepare_output_folder(args.output, "--output")
    model = load_model(args)
    with tqdm(total=1, unit="pass", disable=args.no_progress, file=sys.stderr, desc="depth") as bar:

        def on_progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        result = write_depth(model, source, settings, output, hooks=Hooks(on_progress=on_progress), names=names)
    rate = result.computed / result.seconds if result.seconds else 0.0
    print(
        f"wrote {result.computed} frames ({result.kept} kept from before) to {result.output} "
        f"in {result.seconds:.1f} s ({rate:.2f} frames/s)",
        file=sys.stderr,
    )
    return 0
