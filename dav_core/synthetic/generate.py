"""Parallel, resumable dataset generation (the engine behind ``dav synth``).

Clip ``i`` is generated from seed ``seed + i``. Each worker process owns one renderer (its own EGL context).
Clips are written to a temporary folder and renamed into place when whole, so after an interruption every
``clip_XXXXXX`` folder is complete; the next run removes stale temporary folders and only renders the
missing clips.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path

from .dataset import TMP_PREFIX, clip_dirname, is_complete, render_clip, write_clip

log = logging.getLogger(__name__)

SETTINGS_FILE = "dataset.json"
LEGACY_SETTINGS = {"effects": "none"}  # what a dataset.json from before a setting existed implies

_WORKER: dict = {}


def resolve_backend(backend: str) -> str:
    """Turn ``auto`` into ``gl`` or ``raycast`` (logged), checking that GL really works here."""
    from .renderer import BACKENDS, gl_unavailable_reason

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "raycast":
        return backend
    reason = gl_unavailable_reason()
    if reason is None:
        return "gl"
    if backend == "gl":
        raise RuntimeError(f"--backend gl: no OpenGL context via EGL ({reason})")
    log.warning("synthetic renderer: OpenGL/EGL unavailable (%s); using the torch ray caster", reason)
    return "raycast"


def _set_threads(threads: int) -> None:
    os.environ["LP_NUM_THREADS"] = str(threads)  # Mesa llvmpipe rasteriser threads (read at context creation)
    import torch

    # the ray caster works on small tensors: intra-op threads only add synchronisation (and some torch CPU
    # kernels get pathologically slow with 2+ threads on a busy machine), so it always runs single-threaded
    torch.set_num_threads(1)


def _init_worker(backend: str, threads: int) -> None:
    _set_threads(threads)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    from .renderer import create_renderer

    _WORKER["renderer"] = create_renderer(backend)
    if multiprocessing.parent_process() is not None:  # pool worker: release GL objects before teardown
        atexit.register(_close_worker)


def _close_worker() -> None:
    renderer = _WORKER.pop("renderer", None)
    if renderer is not None:
        renderer.close()


def _make_clip(job: dict) -> dict:
    from .generators import sample_clip

    t0 = time.perf_counter()
    spec = sample_clip(job["seed"], job["frames"], job["height"], job["width"], scene_type=job["scene_type"])
    clip = render_clip(spec, _WORKER["renderer"], effects=job.get("effects", "none"))
    t1 = time.perf_counter()
    write_clip(clip, job["path"], rgb_format=job["rgb_format"], depth_dtype=job["depth_dtype"])
    return {
        "index": job["index"],
        "frames": clip.frames,
        "render_s": t1 - t0,
        "write_s": time.perf_counter() - t1,
        "scene": clip.scene_type,
    }


def _frames_setting(frames) -> int | list[int]:
    return list(frames) if isinstance(frames, tuple) else int(frames)


def _check_request(clips: int, height: int, width: int, scene_types, effects: str) -> None:
    """Raise ValueError for a request that cannot make a dataset."""
    from .generators import SCENE_TYPES
    from .sensor import EFFECTS_MODES

    if effects not in EFFECTS_MODES:
        raise ValueError(f"effects must be one of {', '.join(EFFECTS_MODES)}, not {effects!r}")
    if clips < 0:
        raise ValueError("--clips must be >= 0")
    if height < 8 or width < 8:
        raise ValueError("--size must be at least 8x8")
    for s in scene_types or []:
        if s not in SCENE_TYPES:
            raise ValueError(f"unknown scene type {s!r}; choose from {', '.join(SCENE_TYPES)}")


def _claim_folder(out: Path, settings: dict, clips: int) -> None:
    """Record ``settings`` in ``out`` (refusing a folder made with other settings) and remove the
    temporary folders an interrupted run left behind."""
    out.mkdir(parents=True, exist_ok=True)
    sfile = out / SETTINGS_FILE
    prev_clips = 0
    if sfile.exists():
        old = json.loads(sfile.read_text())
        old_core = {k: old.get(k, LEGACY_SETTINGS.get(k)) for k in settings}
        if old_core != settings:
            raise ValueError(
                f"{out} holds a dataset made with other settings ({old_core}); use another --out"
            )
        prev_clips = old.get("clips", 0)
    sfile.write_text(json.dumps({**settings, "clips": max(clips, prev_clips)}, indent=1))
    for stale in out.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)


def _missing_clips(out: Path, clips: int, scene_types, seed: int, **shared) -> list[dict]:
    """Jobs for the clips not complete in ``out`` (a partial clip folder is removed); clip ``i`` is drawn
    from seed ``seed + i`` and ``shared`` holds the settings every job shares."""
    todo = []
    for i in range(clips):
        path = out / clip_dirname(i)
        if is_complete(path):
            continue
        if path.exists():  # not ours to trust: regenerate
            shutil.rmtree(path)
        st = scene_types[i % len(scene_types)] if scene_types else None
        todo.append({"index": i, "seed": seed + i, **shared, "scene_type": st, "path": str(path)})
    return todo


class _Tally:
    """Counts finished clips into the run statistics and the progress bar."""

    def __init__(self, stats: dict, bar):
        self.stats, self.bar, self.render_s = stats, bar, 0.0

    def __call__(self, res: dict) -> None:
        self.stats["generated"] += 1
        self.stats["frames"] += res["frames"]
        self.render_s += res["render_s"]
        self.bar.update(1)


def _render_here(todo: list[dict], backend: str, threads: int, tally: _Tally) -> None:
    """Render every job in this process (restoring torch's thread count afterwards)."""
    saved_threads = None
    try:
        import torch

        saved_threads = torch.get_num_threads()
    except ImportError:
        pass
    _init_worker(backend, threads)
    try:
        for job in todo:
            tally(_make_clip(job))
    finally:
        _WORKER.pop("renderer").close()
        if saved_threads:
            torch.set_num_threads(saved_threads)


def _render_in_pool(todo: list[dict], backend: str, n_workers: int, threads: int, tally: _Tally) -> None:
    """Render the jobs in ``n_workers`` spawned processes, each with its own renderer."""
    with ProcessPoolExecutor(
        max_workers=n_workers,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(backend, threads),
    ) as pool:
        pending = {pool.submit(_make_clip, job) for job in todo}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    tally(fut.result())
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _render_jobs(todo: list[dict], stats: dict, backend: str, workers: int | None, progress: bool) -> None:
    """Render ``todo`` with up to ``workers`` processes (default: one a core), filling in ``stats``."""
    from tqdm import tqdm

    resolved = resolve_backend(backend)
    stats["backend"] = resolved
    cores = os.cpu_count() or 1
    n_workers = max(1, min(workers or cores, len(todo)))
    threads = max(1, cores // n_workers)
    stats["workers"] = n_workers
    log.info(
        "dav synth: %d clips to render (%d already complete) with %d worker(s), backend %s",
        len(todo),
        stats["skipped"],
        n_workers,
        resolved,
    )
    t0 = time.perf_counter()
    bar = tqdm(
        total=stats["clips"],
        initial=stats["skipped"],
        unit="clip",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    tally = _Tally(stats, bar)
    try:
        if n_workers == 1:
            _render_here(todo, resolved, threads, tally)
        else:
            _render_in_pool(todo, resolved, n_workers, threads, tally)
    finally:
        bar.close()
    stats["seconds"] = time.perf_counter() - t0
    stats["render_seconds_per_frame"] = tally.render_s / max(stats["frames"], 1)
    stats["frames_per_second"] = stats["frames"] / max(stats["seconds"], 1e-9)


def generate_dataset(
    out_dir: str | Path,
    clips: int,
    frames: int | tuple[int, int] = 32,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
    workers: int | None = None,
    backend: str = "auto",
    scene_types: list[str] | None = None,
    rgb_format: str = "auto",
    depth_dtype: str = "float32",
    progress: bool = True,
    effects: str = "auto",
) -> dict:
    """Generate (or complete) a dataset of ``clips`` clips in ``out_dir``; returns run statistics.

    ``effects``: "auto" (camera/sensor effects sampled per clip, see ``sensor.py``) or "none" (clean)."""
    height, width = size
    _check_request(clips, height, width, scene_types, effects)
    out = Path(out_dir)
    settings = {
        "format": "dav-synthetic",
        "seed": int(seed),
        "frames": _frames_setting(frames),
        "height": int(height),
        "width": int(width),
        "scene_types": list(scene_types) if scene_types else None,
        "depth_dtype": depth_dtype,
        "effects": effects,
    }
    _claim_folder(out, settings, clips)
    todo = _missing_clips(
        out,
        clips,
        scene_types,
        seed=seed,
        frames=frames,
        height=height,
        width=width,
        rgb_format=rgb_format,
        depth_dtype=depth_dtype,
        effects=effects,
    )
    stats = {
        "clips": clips,
        "skipped": clips - len(todo),
        "generated": 0,
        "frames": 0,
        "seconds": 0.0,
        "backend": None,
        "workers": 0,
    }
    if todo:
        _render_jobs(todo, stats, backend, workers, progress)
    return stats
