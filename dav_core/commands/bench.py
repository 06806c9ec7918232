"""`dav bench`: long-video throughput and memory, file to file, one fresh process per clip length.

For each N it writes an N-frame test video (a textured square moving over a gradient), runs the same
file-to-file job as `dav depth` (``dav_core.job.write_depth``: video file in, 16-bit PNGs out) in a child
process, and records wall time per frame, the child's peak RSS, and UNet frame-passes per output frame
(counted with forward hooks, per Euler step). Numbers are only comparable within one run on one machine:
```--against CHECKOUT`` times another checkout of this repository (an older commit) in the same run,
alternating old and new for each N, and prints the speed ratio.

The child also reports where the time goes (:mod:`dav_core.profiling`): seconds and FLOPs per output
frame for VAE encode, keyframe passes, interpolation windows, VAE decode and writing files, against the
machine's matmul peak measured in the same process. ``--architecture full`` times the published model's
architecture with random weights (no download), written once as a bundle that every child loads.

The child's command line is ``--child VIDEO OUTPUT MODEL STEPS`` in every version, so ``--against`` can run
an old checkout's child; newer settings reach it through environment variables (``DAV_BENCH_DEVICE``,
``DAV_BENCH_PRECISION``), which an old child ignores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..choices import PRECISIONS
from ..settings import build_settings

logger = logging.getLogger(__name__)

DEVICE_ENV = "DAV_BENCH_DEVICE"  # read by the child; an old checkout's child ignores it (CPU)
PRECISION_ENV = "DAV_BENCH_PRECISION"  # read by the child; an old checkout's child ignores it (fp32)
PEAK_SECONDS = 1.0  # how long the child times each peak kernel
ARCHITECTURES = ("checkpoint", "full")  # the --model's own, or the published one with random weights


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="long-video benchmark: time per frame and per stage, FLOPs, peak RSS, UNet passes"
    )
    p.add_argument("--model", help="model folder or bundle (default: $DAV_MODEL, else the bundled model)")
    p.add_argument(
        "--against",
        type=Path,
        default=None,
        help="another checkout of this repository (e.g. `git worktree add /tmp/old HEAD~5`) to time in the "
        "same run; its results are printed beside these with the ratio",
    )
    p.add_argument(
        "--frames", default="100,1000,10000", help="comma-separated clip lengths (default 100,1000,10000)"
    )
    p.add_argument("--size", type=int, default=64, help="square frame size in pixels (default 64)")
    p.add_argument("--steps", type=int, default=3, help="Euler steps (default 3)")
    p.add_argument(
        "--repeat",
        default="1",
        help="runs per N, alternating with --against; the median time is reported. One number for every N, "
        "or comma-separated per N (default 1)",
    )
    p.add_argument(
        "--architecture",
        default="checkpoint",
        choices=ARCHITECTURES,
        help="checkpoint (default): the model of --model; full: the published Depth Any Video architecture "
        "(1.42 B-parameter UNet, interpolation UNet, SVD VAE) with seeded random weights, no download, written "
        "once to a bundle in --workdir at --precision (11.8 GB in fp32, half that in fp16/bf16) that this "
        "and the --against checkout both load; use --size 128 or more",
    )
    p.add_argument(
        "--device",
        default="cpu",
        help=f"torch device the child runs on, e.g. cpu (default), cuda, cuda:1 (passed as ${DEVICE_ENV}: an "
        "--against checkout older than this option ignores it and runs on the CPU)",
    )
    p.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help=f"weights' precision in the child: auto (default: each checkout's own default, e.g. fp16 on CUDA), "
        f"fp32, fp16, bf16 (passed as ${PRECISION_ENV}: an --against checkout older than this option ignores "
        "it and runs fp32)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="run the clip (the first of --frames) on N Ray workers (a local instance) instead, and report each "
        "stage's time (keyframes, windows, decode, write) and the projected speed-up for 1, 2, 4, 8, 16 "
        "workers (needs the ray extra)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="with --workers: torch CPU threads per worker (default: the cores each worker holds)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where test videos, outputs and the --architecture full bundle go, kept for later runs "
        "(default: a temporary folder, removed afterwards)",
    )
    p.set_defaults(func=run)


def write_test_video(path: Path, num_frames: int, size: int) -> None:
    """A deterministic clip: a noisy square moving over a gradient, H.264 at 24 fps."""
    import av

    rng = np.random.default_rng(0)
    texture = (rng.random((size // 4, size // 4, 3)) * 255).astype(np.uint8)
    yy, xx = np.mgrid[0:size, 0:size]
    background = np.stack([xx * 255 // size, yy * 255 // size, (xx + yy) * 127 // size], -1).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(num_frames):
            frame = background.copy()
            x = (i * 3) % (size - texture.shape[1])
            y = size // 3
            frame[y : y + texture.shape[0], x : x + texture.shape[1]] = texture
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def measure_job(
    model, video: Path, output: Path, steps: int, peak_seconds: float = PEAK_SECONDS, settings=None
) -> dict:
    """Run one file-to-file job with ``model`` in this process and measure it: time, peak RSS, UNet
    frame-passes, and per stage seconds and FLOPs against the machine's peak (:mod:`dav_core.profiling`).
    ``settings``: a LongVideoSettings with ``steps`` (default: the defaults at the input's size)."""
    import torch

    from ..job import OutputSpec, write_depth
    from ..longvideo.sources import FileSource
    from ..profiling import StageProfile

    unet_frames = {"n": 0}

    def count(module, args, kwargs):
        sample = kwargs.get("sample", args[0] if args else None)
        unet_frames["n"] += sample.shape[0] * sample.shape[1]

    unets = [u for u in (model.unet, model.unet_interp) if u is not None]
    hooks = [unet.register_forward_pre_hook(count, with_kwargs=True) for unet in unets]
    source = FileSource(video)
    # the defaults of `dav depth` (the model's own window) at the input's size, the sizes as given
    settings = settings or build_settings({"steps": steps, "max_resolution": None, "memory": "off"})
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    profile = StageProfile(model.device)
    try:
        with profile.instrument(model):
            result = write_depth(model, source, settings, OutputSpec(output, ("png16",), overwrite=True))
    finally:
        for hook in hooks:
            hook.remove()
    frames = result.computed
    measured = {
        "frames": frames,
        "seconds": result.seconds,
        "seconds_per_frame": result.seconds / frames,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_model_load_mb": rss_before / 1024,
        "unet_frame_passes_per_frame": unet_frames["n"] / steps / frames,
        "planned_unet_frame_passes_per_frame": result.run.plan.unet_frames_per_output_frame,
        "threads": torch.get_num_threads(),
        "dtype": str(model.dtype).removeprefix("torch."),
    }
    if model.device.type == "cuda":
        measured["peak_cuda_allocated_mb"] = torch.cuda.max_memory_allocated(model.device) / 2**20
    measured.update(_stage_results(model, profile, result.seconds, frames, peak_seconds))  # after the RSS
    return measured


def _stage_results(model, profile, seconds: float, frames: int, peak_seconds: float) -> dict:
    """{"stages": per-stage report, "peak": the machine's GFLOP/s in the model's dtype}."""
    from ..profiling import machine_peak, stage_flops, stage_report

    flops = stage_flops(model, profile)
    peak = machine_peak(model.device, model.dtype, peak_seconds)
    return {"stages": stage_report(profile, flops, seconds, frames, peak["matmul_gflops"]), "peak": peak}


def child(video: Path, output: Path, model_path: str, steps: int) -> dict:
    """Load the model on ``$DAV_BENCH_DEVICE`` (default cpu) in ``$DAV_BENCH_PRECISION`` (default auto)
    and :func:`measure_job`."""
    from ..models.loading import load_dav

    device = os.environ.get(DEVICE_ENV) or "cpu"
    model = load_dav(model_path, dtype=os.environ.get(PRECISION_ENV) or "auto", device=device)
    return measure_job(model, video, output, steps)


def check_device(device: str) -> None:
    """Raise ValueError naming --device when ``device`` is not a torch device this machine has."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"--device takes a torch device such as cpu, cuda or cuda:1; got {device!r}"
        ) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"--device {device}: CUDA is not available here (torch {torch.__version__}); use cpu"
        )
    if parsed.type == "cuda" and (parsed.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def check_disk_space(folder: Path, needed: int, free: int | None = None) -> None:
    """Raise ValueError when ``folder`` has less than ``needed`` bytes free (``free``: as measured)."""
    free = shutil.disk_usage(folder).free if free is None else free
    if free < needed:
        raise ValueError(
            f"--architecture full: the random full-size model needs {needed / 1e9:.1f} GB in {folder}, which "
            f"has {free / 1e9:.1f} GB free; free space, pass --workdir on a larger disk, or use "
            "--precision fp16 or bf16 (half the size)"
        )


def random_bundle(
    workdir: Path, precision: str, configs: dict | None = None, name: str = "full_size"
) -> Path:
    """A model with seeded random weights (``configs``, default the full-size architecture) as a bundle
    ``dav_<name>_random_<precision>.safetensors`` in ``workdir``, in ``precision`` (fp32, fp16, bf16):
    written once, reused when present (a bundle appears only when complete)."""
    import time

    from ..models.loading import DTYPES, save_bundle
    from ..models.random_init import FULL_SIZE_CONFIGS, random_model, weight_bytes

    path = workdir / f"dav_{name}_random_{precision}.safetensors"
    if path.is_file():
        return path
    dtype, configs = DTYPES[precision], configs or FULL_SIZE_CONFIGS
    check_disk_space(workdir, weight_bytes(configs, dtype) + 2**26)  # + header and metadata
    start = time.perf_counter()
    model = random_model(configs, dtype)
    built = time.perf_counter()
    save_bundle(model, path)
    print(
        f"random {name.replace('_', '-')} model ({precision}, {path.stat().st_size / 1e9:.2f} GB): built in {built - start:.1f} s, "
        f"written in {time.perf_counter() - built:.1f} s to {path}",
        flush=True,
    )
    return path


def _child_reads_env(checkout: Path) -> bool:
    """Whether ``checkout``'s benchmark child takes the device and precision from the environment."""
    bench = checkout / "dav_core" / "commands" / "bench.py"
    return bench.is_file() and DEVICE_ENV in bench.read_text()


def _run_child(
    video: Path, output: Path, model: str, args: argparse.Namespace, checkout: Path | None
) -> dict:
    """One measurement in a fresh process; ``checkout`` runs another checkout's code instead of this one."""
    command = [sys.executable, "-m", "dav_core.commands.bench", "--child", str(video), str(output)]
    command += [model, str(args.steps)]
    env = {**os.environ, DEVICE_ENV: args.device, PRECISION_ENV: args.precision}
    if checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(checkout.resolve()), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=checkout)
    if completed.returncode:
        where = f" ({checkout})" if checkout else ""
        raise RuntimeError(f"benchmark child{where} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict], n: int) -> dict:
    """The run with the median time per frame, with every run's time kept beside it."""
    ordered = sorted(runs, key=lambda r: r["seconds_per_frame"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["num_frames"] = n
    median["all_seconds_per_frame"] = [r["seconds_per_frame"] for r in runs]
    return median


def _line(label: str, n: int, result: dict) -> str:
    return (
        f"{label}N={n:>6}: {result['seconds_per_frame'] * 1000:8.1f} ms/frame  peak RSS {result['peak_rss_mb']:7.1f} MB  "
        f"UNet frame-passes/frame {result['unet_frame_passes_per_frame']:.3f}  {result.get('dtype', 'float32?')}"
    )


def _print_result(label: str, n: int, result: dict) -> None:
    """The result's line, then its per-stage table (children of checkouts older than it have none)."""
    print(_line(label, n, result), flush=True)
    if "stages" in result:
        from ..profiling import format_stage_table

        print(format_stage_table(result["stages"], result.get("peak"), indent=" " * 10), flush=True)


def _model_path(args: argparse.Namespace, workdir: Path) -> str:
    """The MODEL every child loads: --model (default: the bundled one) or the full-size random bundle."""
    if args.architecture == "full":
        if args.model is not None:
            raise ValueError(
                "--model and --architecture full exclude each other (full builds its own weights)"
            )
        # auto: each child picks its own precision from exact fp32 weights
        stored = "fp32" if args.precision == "auto" else args.precision
        return str(random_bundle(workdir, stored).resolve())
    if args.model is None:
        from ..models.default import default_model_path

        return str(default_model_path().resolve())
    return str(Path(args.model).resolve())


def _check_options(args: argparse.Namespace) -> tuple[list[int], list[int]]:
    """Validated (lengths, repeats)."""
    lengths = [int(n) for n in args.frames.split(",") if n.strip()]
    if not lengths or min(lengths) < 1:
        raise ValueError(f"--frames takes positive comma-separated integers, got {args.frames!r}")
    if args.against is not None and not (args.against / "dav_core").is_dir():
        raise ValueError(f"--against: {args.against} is not a checkout of this repository (no dav_core/)")
    repeats = [int(r) for r in args.repeat.split(",") if r.strip()]
    repeats = repeats * len(lengths) if len(repeats) == 1 else repeats
    if len(repeats) != len(lengths) or min(repeats) < 1:
        raise ValueError(f"--repeat takes one positive integer or one per N, got {args.repeat!r}")
    check_device(args.device)
    default_run = args.device == "cpu" and args.precision in ("auto", "fp32")
    if args.against is not None and not default_run and not _child_reads_env(args.against):
        raise ValueError(
            f"--against: {args.against} predates --device and --precision (its child runs on the CPU with its "
            "own default precision); compare with --device cpu --precision auto"
        )
    return lengths, repeats


def run(args: argparse.Namespace) -> int:
    lengths, repeats = _check_options(args)
    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="dav_bench_")) if temporary else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.workers is not None:
            return _run_farm(args, lengths[0], workdir)
        return _run_lengths(args, lengths, repeats, workdir)
    finally:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)


def _run_lengths(args: argparse.Namespace, lengths: list[int], repeats: list[int], workdir: Path) -> int:
    model = _model_path(args, workdir)
    results, baseline = [], []
    for n, repeat in zip(lengths, repeats, strict=True):
        video = workdir / f"clip_{n}_{args.size}.mp4"
        if not video.exists():
            write_test_video(video, n, args.size)
        runs, old_runs = [], []
        for _ in range(repeat):  # alternate old and new so drift in the machine's speed hits both
            if args.against is not None:
                old_runs.append(_run_child(video, workdir / f"out_{n}_against", model, args, args.against))
            runs.append(_run_child(video, workdir / f"out_{n}", model, args, None))
        if old_runs:
            baseline.append(_median_run(old_runs, n))
            _print_result("against ", n, baseline[-1])
        results.append(_median_run(runs, n))
        _print_result("this    " if baseline else "", n, results[-1])
        if baseline:
            ratio = baseline[-1]["seconds_per_frame"] / results[-1]["seconds_per_frame"]
            print(
                f"          N={n:>6}: this checkout is {ratio:.2f}x the speed of {args.against}", flush=True
            )
    if len(results) > 1:
        base = results[-2]["peak_rss_mb"]
        print(f"peak RSS ratio N={lengths[-1]} / N={lengths[-2]}: {results[-1]['peak_rss_mb'] / base:.3f}")
    report = {
        "size": args.size,
        "steps": args.steps,
        "architecture": args.architecture,
        "device": args.device,
        "precision": args.precision,
        "machine": platform.platform(),
        "results": results,
    }
    if baseline:
        report["against"] = {"checkout": str(args.against), "results": baseline}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _run_farm(args: argparse.Namespace, frames: int, workdir: Path) -> int:
    """One clip on ``--workers`` Ray workers: wall time, stage times and the projected speed-up."""
    import functools
    import time

    from ..farm.cost import projection_table
    from ..farm.driver import Farm, ShotJob
    from ..job import OutputSpec
    from ..longvideo.sources import FileSource
    from .options import load_model

    if args.workers < 1:
        raise ValueError(f"--workers must be 1 or more, got {args.workers}")
    video = workdir / f"clip_{frames}_{args.size}.mp4"
    if not video.exists():
        write_test_video(video, frames, args.size)
    loader = functools.partial(load_model, argparse.Namespace(
        model=_model_path(args, workdir), precision=args.precision, device=args.device, compile=False
    ))  # fmt: skip
    settings = build_settings({"steps": args.steps, "max_resolution": None, "memory": "off"})  # as measure_job
    started = time.perf_counter()
    with Farm(loader, args.workers, threads=args.threads) as farm:
        ready = time.perf_counter()
        job = ShotJob("bench", FileSource(video), OutputSpec(workdir / "farm_out", ("png16",), overwrite=True))
        (result,), times = farm.run([job], settings, ("png16",), {})
        wall = time.perf_counter() - ready
    if result.error is not None:
        raise RuntimeError(result.error)
    stages = times.as_dict()
    print(f"{frames} frames at {args.size}px on {args.workers} workers ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores): {wall:.1f} s ({frames / wall:.2f} frames/s), Ray start and model loads "
          f"{ready - started:.1f} s")  # fmt: skip
    print("stage seconds (summed over workers): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    table = projection_table(stages)
    print("workers  speed-up one shot  speed-up many shots")
    for row in table:
        print(f"{row['workers']:>7}  {row['one_shot']:>17.2f}  {row['many_shots']:>19.2f}")
    if args.json:
        report = {"frames": frames, "size": args.size, "workers": args.workers, "wall_seconds": wall,
                  "threads": args.threads, "startup_seconds": ready - started, "stages": stages, "projection": table,
                  "machine": platform.platform(), "cores": os.cpu_count()}  # fmt: skip
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, video, output, model_path, steps = sys.argv
        print(json.dumps(child(Path(video), Path(output), model_path, int(steps))))
    else:
        sys.exit(
            "usage: python -m dav_core.commands.bench --child VIDEO OUTPUT MODEL STEPS "
            f"(device and precision from ${DEVICE_ENV}, ${PRECISION_ENV})"
        )
