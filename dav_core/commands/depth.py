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
    announce_model,
    load_model,
    model_path,
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
        type=Path,
        nargs="*",
        help="video file, image, folder of frames, or an image sequence pattern (plate.####.exr, plate.%%04d.exr, "
        "plate.1001-1100#.exr, plate.@@@@.exr); several inputs are several shots, each written to OUTPUT/<name>",
    )
    p.add_argument(
        "--output", "-o", type=Path, required=True, help="output folder (with several shots: their parent)"
    )
    p.add_argument(
        "--shots",
        type=Path,
        default=None,
        help="a file listing shots: one input per line, an optional second column naming its output folder, "
        "# comments; relative paths are relative to the file",
    )
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
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="spread the shots and their interpolation windows over N workers on a local Ray instance (one "
        "GPU each, else the CPU cores split between them); with --ray: at most N (needs the ray extra)",
    )
    p.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="join a running Ray cluster (auto: the one RAY_ADDRESS names) and use its GPUs or nodes",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads per process (per worker with --workers; default: every core, split between "
        "workers). CPU results are bit-identical between runs with the same thread count",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..farm.shots import ShotEntry, read_shot_list
    from ..io.exr import check_exr_type, parse_exr_layers
    from ..io.output_names import check_name
    from ..job import OutputSpec, parse_formats

    names = option_names()
    formats = parse_formats(args.format, "--format")
    layout = {
        "name": check_name(args.name, "--name"),
        "first_frame": args.first_frame,
        "exr_type": check_exr_type(args.exr_type, "--exr-type"),
        "exr_layers": parse_exr_layers(args.exr_layers, "--exr-layers"),
    }
    if args.resume and args.overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    for option, value in (("--workers", args.workers), ("--threads", args.threads)):
        if value is not None and value < 1:
            raise ValueError(f"{option} must be 1 or more, got {value}")
    settings = settings_from_args(args)  # every check that needs no model, before the model loads
    entries = [ShotEntry(path) for path in args.input]
    if args.shots is not None:
        entries += read_shot_list(args.shots)
    if not entries:
        raise ValueError("give an input (video, image or folder of frames) or --shots FILE")
    spec = lambda folder: OutputSpec(folder, formats, args.colormap, args.resume, args.overwrite, **layout)  # noqa: E731
    farm = args.workers is not None or args.ray is not None
    if len(entries) == 1 and args.shots is None:
        job = _open_shot(entries[0], args, spec(args.output), single=True)
        if not farm:
            return _single(args, job, settings, names)
        jobs = [job]
    else:
        jobs = _open_shots(entries, args, spec)
    if farm:
        return _on_farm(args, jobs, settings, formats, names)
    return _one_by_one(args, jobs, settings, names)


def _open_shot(entry, args, output, single: bool = False):
    """The shot's job; a bad input fails the shot (one line), unless it is the only one."""
    from ..farm.driver import ShotJob
    from ..farm.shots import default_name
    from ..longvideo.sources import FileSource

    try:
        source = FileSource(entry.input, start=args.start, stop=args.stop, stride=args.stride, **plate_options(args))
        if source.num_frames == 0:
            raise ValueError(f"no frames selected from {entry.input} (start={args.start}, stop={args.stop})")
    except Exception as error:
        if single:
            raise
        return ShotJob(default_name(entry), None, output, f"{entry.input}: {' '.join(str(error).split())}")
    return ShotJob(default_name(entry, source), source, output)


def _open_shots(entries, args, spec):
    """One job per shot, written to OUTPUT/<name>; a name clash is refused before any work."""
    from dataclasses import replace

    from ..farm.shots import check_names
    from ..io.output_folder import prepare_output_folder

    jobs = [_open_shot(entry, args, None) for entry in entries]
    check_names([j.name for j in jobs], [e.input for e in entries])
    root = prepare_output_folder(args.output, "--output")
    return [replace(j, output=spec(root / j.name)) for j in jobs]


def _set_threads(args) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def _single(args, job, settings, names) -> int:
    """One shot in this process, as always."""
    from ..io.output_folder import prepare_output_folder

    prepare_output_folder(args.output, "--output")
    _set_threads(args)
    model = load_model(args)
    result = _write_one(args, model, job, settings, names)
    rate = result.computed / result.seconds if result.seconds else 0.0
    print(
        f"wrote {result.computed} frames ({result.kept} kept from before) to {result.output} "
        f"in {result.seconds:.1f} s ({rate:.2f} frames/s)",
        file=sys.stderr,
    )
    return 0


def _write_one(args, model, job, settings, names):
    from tqdm import tqdm

    from ..hooks import Hooks
    from ..job import write_depth

    with tqdm(total=1, unit="pass", disable=args.no_progress, file=sys.stderr, desc=job.name) as bar:

        def on_progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        return write_depth(model, job.source, settings, job.output, hooks=Hooks(on_progress=on_progress), names=names)


def _one_by_one(args, jobs, settings, names) -> int:
    """Several shots in this process, one after another; a failed shot does not stop the others."""
    from ..farm.driver import ShotResult

    _set_threads(args)
    model = load_model(args) if any(j.source is not None for j in jobs) else None
    results = []
    for job in jobs:
        if job.error is None:
            try:
                done = _write_one(args, model, job, settings, names)
                result = ShotResult(job.name, str(done.output), done.num_frames, done.computed, done.seconds)
            except Exception as error:  # noqa: BLE001 - reported in the summary; the other shots go on
                result = ShotResult(job.name, str(job.output.folder), 0, 0, 0.0, " ".join(str(error).split()))
        else:
            result = ShotResult(job.name, str(job.output.folder), 0, 0, 0.0, job.error)
        print(_shot_line(result), file=sys.stderr)
        results.append(result)
    return _summary(results)


def _on_farm(args, jobs, settings, formats, names) -> int:
    """The shots on Ray workers (see :mod:`dav_core.farm`)."""
    import functools

    from tqdm import tqdm

    from ..farm.driver import Farm, ShotResult

    if not any(j.source is not None for j in jobs):  # every input is bad: no workers to start
        results = [ShotResult(j.name, str(j.output.folder), 0, 0, 0.0, j.error) for j in jobs]
        for result in results:
            print(_shot_line(result), file=sys.stderr)
        return _summary(results)
    if len(jobs) == 1:
        from ..io.output_folder import prepare_output_folder

        prepare_output_folder(args.output, "--output")
    announce_model(model_path(args))  # once here, not once per worker
    loader = functools.partial(load_model, argparse.Namespace(
        model=args.model, precision=args.precision, device=args.device, compile=args.compile
    ), announce=False)  # fmt: skip
    total = sum(j.source.num_frames for j in jobs if j.source is not None)
    with Farm(loader, args.workers, args.ray, args.threads) as farm, tqdm(
        total=total, unit="frame", disable=args.no_progress, file=sys.stderr, desc="depth"
    ) as bar:

        def on_total(change: int) -> None:
            bar.total += change
            bar.refresh()

        results, _ = farm.run(
            jobs, settings, formats, names, on_frames=bar.update, on_total=on_total,
            on_shot=lambda r: bar.write(_shot_line(r), file=sys.stderr),
        )  # fmt: skip
    return _summary(results) if len(jobs) > 1 else _single_result(results[0])


def _shot_line(result) -> str:
    if result.error is not None:
        return f"shot {result.name} failed: {result.error}"
    rate = result.computed / result.seconds if result.seconds else 0.0
    return f"shot {result.name}: wrote {result.computed} frames to {result.output} in {result.seconds:.1f} s ({rate:.2f} frames/s)"


def _single_result(result) -> int:
    if result.error is not None:
        raise RuntimeError(result.error)
    return 0


def _summary(results) -> int:
    failed = [r.name for r in results if r.error is not None]
    if failed:
        print(f"{len(failed)} of {len(results)} shots failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{len(results)} shots written", file=sys.stderr)
    return 0
