"""`dav bench`: long-video throughput and memory, file to file, one fresh process per clip length.

For each N it writes an N-frame test video (a textured square moving over a gradient), runs the same
file-to-file job as `dav depth` (``dav_core.job.write_depth``: video file in, 16-bit PNGs out) in a child
process, and records wall time per frame, the child's peak RSS, and UNet frame-passes per output frame
(counted with forward hooks, per Euler step). Numbers are only comparable within one run on one machine:
```--against CHECKOUT`` times another checkout of this repository (an older commit) in the same run,
alternating old and new for each N, and prints the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="long-video benchmark: time per frame, peak RSS, UNet passes")
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
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument(
        "--workdir", type=Path, default=None, help="where test videos and outputs go (default: temp)"
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


def child(video: Path, output: Path, model_path: str, steps: int) -> dict:
    """Run one file-to-file job in this process and measure it."""
    import torch

    from ..job import write_depth
    from ..longvideo.settings import LongVideoSettings
    from ..longvideo.sources import FileSource
    from ..models.loading import load_dav

    model = load_dav(model_path)
    unet_frames = {"n": 0}

    def count(module, args, kwargs):
        sample = kwargs.get("sample", args[0] if args else None)
        unet_frames["n"] += sample.shape[0] * sample.shape[1]

    for unet in (model.unet, model.unet_interp):
        unet.register_forward_pre_hook(count, with_kwargs=True)
    source = FileSource(video)
    settings = LongVideoSettings(steps=steps, max_resolution=None)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = write_depth(model, source, settings, output, ("png16",), overwrite=True)
    frames = result.computed
    return {
        "frames": frames,
        "seconds": result.seconds,
        "seconds_per_frame": result.seconds / frames,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_model_load_mb": rss_before / 1024,
        "unet_frame_passes_per_frame": unet_frames["n"] / steps / frames,
        "planned_unet_frame_passes_per_frame": settings.plan(frames).unet_frames_per_output_frame,
        "threads": torch.get_num_threads(),
    }


def _run_child(video: Path, output: Path, args: argparse.Namespace, checkout: Path | None) -> dict:
    """One measurement in a fresh process; ``checkout`` runs another checkout's code instead of this one."""
    command = [sys.executable, "-m", "dav_core.commands.bench", "--child", str(video), str(output)]
    if args.model is None:
        from ..models.default import default_model_path

        args.model = str(default_model_path())
    command += [str(Path(args.model).resolve()), str(args.steps)]
    env = dict(os.environ)
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
        f"UNet frame-passes/frame {result['unet_frame_passes_per_frame']:.3f}"
    )


def run(args: argparse.Namespace) -> int:
    lengths = [int(n) for n in args.frames.split(",") if n.strip()]
    if not lengths or min(lengths) < 1:
        raise ValueError(f"--frames takes positive comma-separated integers, got {args.frames!r}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dav_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.against is not None and not (args.against / "dav_core").is_dir():
        raise ValueError(f"--against: {args.against} is not a checkout of this repository (no dav_core/)")
    repeats = [int(r) for r in args.repeat.split(",") if r.strip()]
    repeats = repeats * len(lengths) if len(repeats) == 1 else repeats
    if len(repeats) != len(lengths) or min(repeats) < 1:
        raise ValueError(f"--repeat takes one positive integer or one per N, got {args.repeat!r}")
    results, baseline = [], []
    for n, repeat in zip(lengths, repeats, strict=True):
        video = workdir / f"clip_{n}_{args.size}.mp4"
        if not video.exists():
            write_test_video(video, n, args.size)
        runs, old_runs = [], []
        for _ in range(repeat):  # alternate old and new so drift in the machine's speed hits both
            if args.against is not None:
                old_runs.append(_run_child(video, workdir / f"out_{n}_against", args, args.against))
            runs.append(_run_child(video, workdir / f"out_{n}", args, None))
        if old_runs:
            baseline.append(_median_run(old_runs, n))
            print(_line("against ", n, baseline[-1]), flush=True)
        results.append(_median_run(runs, n))
        print(_line("this    " if baseline else "", n, results[-1]), flush=True)
        if baseline:
            ratio = baseline[-1]["seconds_per_frame"] / results[-1]["seconds_per_frame"]
            print(
                f"          N={n:>6}: this checkout is {ratio:.2f}x the speed of {args.against}", flush=True
            )
    if len(results) > 1:
        base = results[-2]["peak_rss_mb"]
        print(f"peak RSS ratio N={lengths[-1]} / N={lengths[-2]}: {results[-1]['peak_rss_mb'] / base:.3f}")
    report = {"size": args.size, "steps": args.steps, "machine": platform.platform(), "results": results}
    if baseline:
        report["against"] = {"checkout": str(args.against), "results": baseline}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, video, output, model_path, steps = sys.argv
        print(json.dumps(child(Path(video), Path(output), model_path, int(steps))))
    else:
        sys.exit("usage: python -m dav_core.commands.bench --child VIDEO OUTPUT MODEL STEPS")
