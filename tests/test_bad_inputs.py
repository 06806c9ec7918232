"""Bad input and faults, through the entry points a user has: the `dav` CLI in a subprocess, the Python
API and the node functions. Each case asserts the exit code or exception, that the message names the
parameter or file and what is allowed, and that no traceback reaches a CLI user.

CLI cases run two at a time (module fixture); each gets its own folder.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import REPO, node_classes, tiny_model, write_image, write_mp4, write_plate, write_video

pytestmark = pytest.mark.usefixtures("single_thread")

FAST = ["--steps", "1", "--max-resolution", "64", "--no-progress"]


# --------------------------------------------------------------------------- inputs the cases make


def model_copy(tiny: Path, target: Path, mutate: Callable[[Path], None] | None = None) -> Path:
    shutil.copytree(tiny, target)
    if mutate is not None:
        mutate(target)
    return target


def _unet_file(model: Path) -> Path:
    return next((model / "unet").glob("*.safetensors"))


def nan_weights(model: Path) -> None:
    from safetensors.torch import load_file, save_file

    path = _unet_file(model)
    tensors = load_file(str(path))
    key = sorted(tensors)[0]
    tensors[key] = torch.full_like(tensors[key], float("nan"))
    save_file(tensors, str(path), metadata={"format": "pt"})


def wrong_shapes(model: Path) -> None:
    from safetensors.torch import load_file, save_file

    path = _unet_file(model)
    tensors = load_file(str(path))
    key = next(k for k in sorted(tensors) if tensors[k].ndim == 4)
    tensors[key] = torch.zeros(*tensors[key].shape[:-1], tensors[key].shape[-1] + 1)
    save_file(tensors, str(path), metadata={"format": "pt"})


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def pickle_as(model: Path, suffix: str, renamed: bool = False) -> None:
    path = _unet_file(model)
    state = {"w": torch.zeros(2)}
    path.unlink()
    torch.save(state, path.with_name("diffusion_pytorch_model.safetensors" if renamed else f"model{suffix}"))


# --------------------------------------------------------------------------- CLI cases


@dataclass
class Cli:
    """``dav depth`` run in a subprocess in ``work``; ``make(work)`` creates inputs and returns the args."""

    id: str
    make: Callable[[Path, Path], list]  # (work, tiny model folder) -> args after "depth"
    code: int
    message: str | None = None  # regex the error line must match
    check: Callable[[Path], None] | None = None  # more checks on the work folder after the run
    env: dict = field(default_factory=dict)
    max_seconds: float | None = None


def depth(input_path, work: Path, model, *extra) -> list:
    return [str(input_path), "--output", str(work / "out"), "--model", str(model), *FAST, *map(str, extra)]


def clip(work: Path, **kwargs) -> Path:
    return write_video(work / "clip.mp4", **kwargs)


def frames_written(count: int, size=None):
    def check(work: Path) -> None:
        pngs = sorted((work / "out").glob("depth.*.png"))
        assert len(pngs) == count, [p.name for p in pngs]
        if size is not None:
            with Image.open(pngs[0]) as image:
                assert (image.height, image.width) == size
        assert json.loads((work / "out" / "manifest.json").read_text())["completed"] is True

    return check


def nothing_written(work: Path) -> None:
    out = work / "out"
    assert not out.exists() or not list(out.glob("depth*")), list(out.iterdir())


def _folder(work: Path, images: dict[str, np.ndarray]) -> Path:
    return write_plate(work / "frames", images)


GRAD = np.tile(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], (30, 1, 3))
ODD = np.tile(np.linspace(0, 250, 31, dtype=np.uint8)[None, :, None], (37, 1, 3))  # odd height and width

CLI_CASES = [
    # inputs
    Cli("input-missing", lambda w, m: depth(w / "nope.mp4", w, m), 2, r"nope\.mp4.*not found|not found.*nope\.mp4"),
    Cli("input-empty-file", lambda w, m: depth((w / "e.mp4").touch() or w / "e.mp4", w, m), 2, r"e\.mp4"),
    Cli("input-not-a-video", lambda w, m: depth(_text(w / "t.mp4"), w, m), 2, r"cannot read video .*t\.mp4"),
    Cli("input-truncated", lambda w, m: depth(_truncated_clip(w), w, m), 2, r"clip\.mp4.*(truncated|ended|cannot)",
        check=nothing_written),
    Cli("input-zero-frames", lambda w, m: depth(write_mp4(w / "z.avi", np.zeros((0, 32, 32, 3), np.uint8), codec="mpeg4"), w, m), 2, r"z\.avi has no frames"),
    Cli("input-extension", lambda w, m: depth(_text(w / "c.xyz"), w, m), 2, r"unsupported input extension '\.xyz'.*allowed"),
    Cli("input-empty-folder", lambda w, m: depth(_mkdir(w / "frames"), w, m), 2, r"no image frames .*frames"),
    Cli("input-folder-non-image", lambda w, m: depth(_folder_with_bad_png(w), w, m), 2, r"cannot read image .*b\.png"),
    Cli("input-mixed-sizes", lambda w, m: depth(_folder(w, {"a1.png": GRAD, "a2.png": GRAD[:20]}), w, m), 2,
        r"a2\.png has size"),
    Cli("input-1-frame-video", lambda w, m: depth(clip(w, count=1), w, m), 0, check=frames_written(1, (48, 64))),
    Cli("input-2-frame-video", lambda w, m: depth(clip(w, count=2), w, m), 0, check=frames_written(2, (48, 64))),
    Cli("input-1x1-image", lambda w, m: depth(write_image(w / "p.png", np.full((1, 1, 3), 90, np.uint8)), w, m), 0,
        check=frames_written(1, (1, 1))),
    Cli("input-1xN-image", lambda w, m: depth(write_image(w / "p.png", np.tile(GRAD[:1], (1, 8, 1))), w, m), 0,
        check=frames_written(1, (1, 320))),
    Cli("input-large-image", lambda w, m: depth(_large_jpeg(w), w, m), 0, check=frames_written(1, (3000, 4000))),
    Cli("input-grayscale", lambda w, m: depth(write_image(w / "g.png", GRAD, "L"), w, m), 0, check=frames_written(1)),
    Cli("input-rgba", lambda w, m: depth(write_image(w / "a.png", GRAD, "RGBA"), w, m), 0, check=frames_written(1)),
    Cli("input-16-bit", lambda w, m: depth(_png16(w), w, m), 0, check=frames_written(1)),
    Cli("input-palette", lambda w, m: depth(write_image(w / "p.png", GRAD, "P"), w, m), 0, check=frames_written(1)),
    Cli("input-odd-fps", lambda w, m: depth(clip(w, count=5, fps=7.3), w, m), 0, check=frames_written(5)),
    Cli("input-variable-fps", lambda w, m: depth(_vfr(w), w, m), 0, check=frames_written(6)),
    Cli("input-odd-size", lambda w, m: depth(_folder(w, {f"{i}.png": ODD + i for i in range(3)}), w, m), 0,
        check=frames_written(3, (37, 31))),
    # settings at and beyond their bounds
    Cli("steps-0", lambda w, m: depth(clip(w), w, m, "--steps", 0), 2, r"steps must be in 1\.\.50, got 0"),
    Cli("steps-51", lambda w, m: depth(clip(w), w, m, "--steps", 51), 2, r"steps must be in 1\.\.50, got 51"),
    Cli("ensemble-0", lambda w, m: depth(clip(w), w, m, "--ensemble", 0), 2, r"ensemble must be in 1\.\.32"),
    Cli("ensemble-33", lambda w, m: depth(clip(w), w, m, "--ensemble", 33), 2, r"ensemble must be in 1\.\.32"),
    Cli("max-resolution-negative", lambda w, m: depth(clip(w), w, m, "--max-resolution", -1), 2,
        r"--max-resolution must be >= 64, got -1"),
    Cli("max-resolution-32", lambda w, m: depth(clip(w), w, m, "--max-resolution", 32), 2,
        r"--max-resolution must be >= 64, got 32"),
    Cli("window-2", lambda w, m: depth(clip(w), w, m, "--window", 2), 2, r"window must be 0 \(the model's own\) or >= 3, got 2"),
    Cli("overlap-negative", lambda w, m: depth(clip(w), w, m, "--overlap", -1), 2, r"--overlap must be >= 0, got -1"),
    Cli("overlap-unplannable", lambda w, m: depth(clip(w), w, m, "--window", 5, "--overlap", 3), 2,
        r"--overlap must be at most window - 3 = 2, got 3"),
    Cli("keyframes-per-pass-1", lambda w, m: depth(clip(w), w, m, "--keyframes-per-pass", 1), 2,
        r"--keyframes-per-pass must be >= 2, got 1"),
    Cli("window-batch-0", lambda w, m: depth(clip(w), w, m, "--window-batch", 0), 2, r"--window-batch must be >= 1, got 0"),
    Cli("chunk-size-0", lambda w, m: depth(clip(w), w, m, "--chunk-size", 0), 2, r"--chunk-size must be >= 1, got 0"),
    Cli("chunk-size-1", lambda w, m: depth(clip(w), w, m, "--chunk-size", 1), 0, check=frames_written(6)),
    Cli("stride-0", lambda w, m: depth(clip(w), w, m, "--stride", 0), 2, r"stride must be >= 1, got 0"),
    Cli("start-negative", lambda w, m: depth(clip(w), w, m, "--start", -1), 2, r"start must be >= 0, got -1"),
    Cli("stop-before-start", lambda w, m: depth(clip(w), w, m, "--start", 4, "--stop", 2), 2,
        r"stop must be None or >= start \(4\), got 2"),
    Cli("start-past-end", lambda w, m: depth(clip(w), w, m, "--start", 50), 2, r"no frames selected .*start=50"),
    Cli("seed-negative", lambda w, m: depth(clip(w), w, m, "--seed", -1), 2, r"seed must be in 0\.\."),
    Cli("format-unknown", lambda w, m: depth(clip(w), w, m, "--format", "tiff"), 2,
        r"--format takes a comma-separated list of png16, exr, npy, mp4; got 'tiff'"),
    Cli("pass-chaining-unknown", lambda w, m: depth(clip(w), w, m, "--pass-chaining", "blend"), 2,
        r"--pass-chaining: invalid choice: 'blend'"),
    Cli("precision-unknown", lambda w, m: depth(clip(w), w, m, "--precision", "fp8"), 2,
        r"--precision: invalid choice: 'fp8'"),
    Cli("colormap-unknown", lambda w, m: depth(clip(w), w, m, "--colormap", "jet"), 2, r"--colormap: invalid choice"),
    Cli("device-cuda-absent", lambda w, m: depth(clip(w), w, m, "--device", "cuda"), 2,
        r"--device cuda: .*(not available|no CUDA).*cpu"),
    Cli("device-nonsense", lambda w, m: depth(clip(w), w, m, "--device", "toaster"), 2, r"--device 'toaster'"),
    Cli("resume-and-overwrite", lambda w, m: depth(clip(w), w, m, "--resume", "--overwrite"), 2,
        r"--resume and --overwrite exclude each other"),
    # outputs
    Cli("output-is-a-file", lambda w, m: _with_output(depth(clip(w), w, m), _text(w / "f.txt")), 2,
        r"--output .*f\.txt is a file"),
    Cli("output-cannot-be-created", lambda w, m: _with_output(depth(clip(w), w, m), _text(w / "f.txt") / "sub"), 2,
        r"--output .*f\.txt/sub.*cannot be created"),
    Cli("output-not-writable", lambda w, m: _with_output(depth(clip(w), w, m), "/proc/self/dav_out"), 2,
        r"--output /proc/self/dav_out.*cannot be created"),
    Cli("output-holds-another-run", lambda w, m: _second_run(w, m), 2,
        r"already holds 7 depth files of another run: --resume to finish that run, or use --overwrite"),
    Cli("resume-after-settings-changed", lambda w, m: _second_run(w, m, "--resume", "--steps", "2"), 2,
        r"--resume: .*made with other settings.*steps.*--overwrite"),
    Cli("resume-after-input-changed", lambda w, m: _second_run(w, m, "--resume", change_input=True), 2,
        r"--resume: .*made from another input.*--overwrite"),
    # models
    Cli("model-missing", lambda w, m: depth(clip(w), w, w / "no_model"), 2, r"model path does not exist: .*no_model"),
    Cli("model-empty-folder", lambda w, m: depth(clip(w), w, _mkdir(w / "empty_model")), 2,
        r"empty_model has no 'unet/' sub-folder .*expected"),
    Cli("model-part-missing", lambda w, m: depth(clip(w), w, model_copy(m, w / "mdl", lambda p: shutil.rmtree(p / "vae"))), 2,
        r"has no 'vae/' sub-folder"),
    Cli("model-pickle-bin", lambda w, m: depth(clip(w), w, model_copy(m, w / "mdl", lambda p: pickle_as(p, ".bin"))), 2,
        r"model\.bin is a pickle checkpoint; only \.safetensors"),
    Cli("model-pickle-pt", lambda w, m: depth(clip(w), w, model_copy(m, w / "mdl", lambda p: pickle_as(p, ".pt"))), 2,
        r"model\.pt is a pickle checkpoint"),
    Cli("model-pickle-ckpt", lambda w, m: depth(clip(w), w, model_copy(m, w / "mdl", lambda p: pickle_as(p, ".ckpt"))), 2,
        r"model\.ckpt is a pickle checkpoint"),
    Cli("model-pickle-renamed", lambda w, m: depth(clip(w), w, model_copy(m, w / "mdl", lambda p: pickle_as(p, "", True))), 2,
        r"diffusion_pytorch_model\.safetensors is a pickle checkpoint"),
    Cli("model-truncated", lambda w, m: depth(clip(w), w, model_copy(m, w / "mdl", lambda p: truncate(_unet_file(p)))), 2,
        r"diffusion_pytorch_model\.safetensors is not a readable safetensors file"),
    Cli("model-wrong-shapes", lambda w, m: depth(clip(w), w, model_copy(m, w / "mdl", wrong_shapes)), 2,
        r"checkpoint does not match the model; 1 wrong shapes"),
    Cli("model-nan-weights", lambda w, m: depth(clip(w), w, model_copy(m, w / "mdl", nan_weights)), 2,
        r"tensors hold NaN or infinite values"),
    Cli("model-hub-offline", lambda w, m: depth(clip(w), w, "someone/depth-model"), 2,
        r"someone/depth-model.*models/depth_any_video", env={"HF_ENDPOINT": "http://127.0.0.1:9"}, max_seconds=20),
]


def _text(path: Path) -> Path:
    path.write_text("this is not a video\n")
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _with_output(args: list, output) -> list:
    args = list(args)
    args[args.index("--output") + 1] = str(output)
    return args


def _folder_with_bad_png(work: Path) -> Path:
    folder = _folder(work, {"a.png": GRAD})
    (folder / "b.png").write_bytes(b"not a png")
    return folder


def _truncated_clip(work: Path) -> Path:
    path = clip(work, count=40)
    truncate(path, 0.5)
    return path


def _large_jpeg(work: Path) -> Path:
    yy, xx = np.mgrid[0:3000, 0:4000]
    return write_image(work / "big.jpg", np.stack([xx % 256, yy % 256, (xx // 16) % 256], -1).astype(np.uint8))


def _png16(work: Path) -> Path:
    return write_image(work / "d.png", np.tile(np.linspace(0, 65535, 40).astype(np.uint16)[None], (30, 1)))


def _vfr(work: Path) -> Path:
    return write_video(work / "vfr.mkv", count=6, fps=30, codec="libx264", pts=[0, 1, 2, 7, 8, 20])


def _second_run(work: Path, model: Path, *extra, change_input: bool = False) -> list:
    """A first run completes in work/out; the case is the second run on the same folder."""
    args = depth(clip(work), work, model)
    subprocess.run([sys.executable, "-m", "dav_core.cli", "depth", *args], cwd=REPO, env=_env({}), check=True,
                   capture_output=True)
    if change_input:
        write_video(work / "clip.mp4", count=6, size=(48, 64), fps=24)
    return [*args, *extra]


def _env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DAV_DEBUG",)}
    env.update({"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **extra})
    return env


def run_dav_process(args: list, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dav_core.cli", "depth", *map(str, args)], cwd=REPO,
                          env=_env(env or {}), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory, tiny_dav_dir) -> dict:
    """Every CLI case run once, two at a time: id -> (returncode, stderr, seconds, work folder)."""

    works = {case.id: tmp_path_factory.mktemp(case.id) for case in CLI_CASES}  # mktemp is not thread-safe

    def one(case: Cli):
        work = works[case.id]
        try:
            args = case.make(work, tiny_dav_dir)
        except Exception as error:  # a broken case setup must show as that case's failure
            return case.id, (None, f"setup failed: {error!r}", 0.0, work)
        start = time.perf_counter()
        done = run_dav_process(args, case.env)
        return case.id, (done.returncode, done.stderr, time.perf_counter() - start, work)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, CLI_CASES))


def error_lines(stderr: str) -> list[str]:
    """What a user reads: stderr without logging and progress lines."""
    return [line for line in stderr.splitlines() if line.strip() and not re.match(r"^(INFO|WARNING|DEBUG) ", line)]


@pytest.mark.slow
@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_cli(case: Cli, cli_results):
    code, stderr, seconds, work = cli_results[case.id]
    assert "Traceback" not in stderr, stderr
    assert code == case.code, stderr[-2000:]
    if case.code != 0:
        lines = error_lines(stderr)
        errors = [line for line in lines if line.startswith("error:") or line.startswith("dav depth: error:")]
        assert len(errors) == 1 and len(lines) <= 3, lines  # one error line (argparse adds its usage line)
        assert re.search(case.message, errors[0]), errors[0]
    if case.check is not None:
        case.check(work)
    if case.max_seconds is not None:
        assert seconds < case.max_seconds, seconds


# --------------------------------------------------------------------------- faults during a run


FAULT_FRAMES = 200  # long enough (several seconds) to be interrupted mid-run


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("long") / "long.mp4", count=FAULT_FRAMES, size=(64, 64))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, long_clip, tiny_dav_dir) -> dict[str, bytes]:
    """The uninterrupted run's PNG bytes, by file name."""
    work = tmp_path_factory.mktemp("reference")
    done = run_dav_process(depth(long_clip, work, tiny_dav_dir, "--format", "png16", "--window-batch", "1"))
    assert done.returncode == 0, done.stderr
    return {p.name: p.read_bytes() for p in sorted((work / "out").glob("depth.*.png"))}


def _wait_for_frames(out: Path, process: subprocess.Popen, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(list(out.glob("depth.*.png"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no frames were written in time"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_signal_mid_run_then_resume_is_identical(sig, tmp_path, long_clip, tiny_dav_dir, reference):
    args = depth(long_clip, tmp_path, tiny_dav_dir, "--format", "png16", "--window-batch", "1")
    command = [sys.executable, "-m", "dav_core.cli", "depth", *args]
    process = subprocess.Popen(command, cwd=REPO, env=_env({}), stderr=subprocess.PIPE, text=True)
    _wait_for_frames(tmp_path / "out", process, 3)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr
    assert process.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["completed"] is False
    written = {p.name for p in (tmp_path / "out").glob("depth.*.png")}
    assert 0 < len(written) < len(reference)
    done = run_dav_process([*args, "--resume"])
    assert done.returncode == 0, done.stderr
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / "out").glob("depth.*.png"))} == reference
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["completed"] is True
    assert not list((tmp_path / "out").glob(".*.tmp"))


@pytest.mark.slow
def test_disk_full_keeps_whole_frames_and_resume_finishes(tmp_path, long_clip, tiny_dav_dir, reference, monkeypatch, capsys):
    from dav_core.cli import main
    from dav_core.io import writers

    real = writers.Png16SequenceWriter._encode
    calls = {"n": 0}

    def full_disk(self, path, frame_index, depth):
        calls["n"] += 1
        if calls["n"] == 5:
            path.write_bytes(b"\x89PNG partial")  # what a full disk leaves: a short temp file
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path, frame_index, depth)

    monkeypatch.setattr(writers.Png16SequenceWriter, "_encode", full_disk)
    args = ["depth", *depth(long_clip, tmp_path, tiny_dav_dir, "--format", "png16", "--window-batch", "1")]
    assert main(args) == 1
    error = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "No space left on device" in error[0], error
    out = tmp_path / "out"
    assert json.loads((out / "manifest.json").read_text())["completed"] is False
    files = sorted(p.name for p in out.iterdir())
    assert not [f for f in files if f.endswith(".tmp")], files  # no partial frame, under any name
    assert all(f in reference for f in files if f.startswith("depth.")) and len(
        [f for f in files if f.startswith("depth.")]
    ) == 4
    for name in (f for f in files if f.startswith("depth.")):
        assert (out / name).read_bytes() == reference[name]
    monkeypatch.setattr(writers.Png16SequenceWriter, "_encode", real)  # space freed
    assert main([*args, "--resume"]) == 0
    assert {p.name: p.read_bytes() for p in sorted(out.glob("depth.*.png"))} == reference


@pytest.mark.slow
def test_second_run_on_the_same_folder_is_refused_while_the_first_runs(tmp_path, long_clip, tiny_dav_dir):
    args = depth(long_clip, tmp_path, tiny_dav_dir, "--format", "png16", "--window-batch", "1", "--steps", "3")
    first = subprocess.Popen([sys.executable, "-m", "dav_core.cli", "depth", *args], cwd=REPO, env=_env({}),
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "out" / "manifest.json").is_file():  # the first run holds the folder
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        second = run_dav_process([*args, "--resume"])
        assert first.poll() is None, "the first run ended before the second started: make the clip longer"
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert re.search(r"--output .*out is in use by another run \(pid \d+\)", second.stderr), second.stderr
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0, first.stderr.read() if first.stderr else ""
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["completed"] is True


# --------------------------------------------------------------------------- Python API and writers


def _writer_nan(kind: str, value: float, tmp: Path):
    from dav_core.io.writers import DepthEncoding, make_writer

    depth = np.full((4, 4), 0.5, np.float32)
    depth[1, 2] = value
    options = {"fps": 24.0} if kind == "mp4" else {}
    writer = make_writer(kind, tmp, DepthEncoding(), expected_frames=1, **options)
    try:
        writer.write(0, depth)
    finally:
        writer.abort()


API_CASES = [
    ("writer-png16-nan", lambda t: _writer_nan("png16", float("nan"), t), ValueError, r"frame 0 holds NaN or infinite"),
    ("writer-exr-inf", lambda t: _writer_nan("exr", float("inf"), t), ValueError, r"frame 0 holds NaN or infinite"),
    ("writer-npy-nan", lambda t: _writer_nan("npy", float("nan"), t), ValueError, r"frame 0 holds NaN or infinite"),
    ("writer-mp4-nan", lambda t: _writer_nan("mp4", float("nan"), t), ValueError, r"frame 0 holds NaN or infinite"),
    ("api-precision-unknown", lambda t: __import__("dav_core.models.loading").models.loading.resolve_dtype("fp8"),
     ValueError, r"precision must be one of auto, fp32, fp16, bf16; got 'fp8'"),
    ("api-frames-wrong-shape", lambda t: _predict(np.zeros((2, 8, 8), np.float32)), ValueError, r"\[T,H,W,3\]"),
]


def _predict(frames):
    from dav_core.depth import predict_depth_window

    return predict_depth_window(tiny_model(), frames)


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c[0])
def test_python_api(case, tmp_path):
    _, call, error, message = case
    with pytest.raises(error, match=message):
        call(tmp_path)
    assert not [p for p in tmp_path.rglob("depth*") if p.is_file() and not p.name.endswith(".json")]


def test_nan_depth_from_the_model_stops_the_run(tmp_path, tiny_model, monkeypatch):
    """A model that produces NaN (fp16 overflow, broken weights) stops with a clear error, no NaN frames."""
    from dav_core import decoding
    from dav_core.job import OutputSpec, write_depth
    from dav_core.longvideo.sources import ArraySource
    from dav_core.settings import LongVideoSettings

    monkeypatch.setattr(decoding, "images_to_disparity", lambda images: images.mean(dim=1) * float("nan"))
    frames = np.random.default_rng(0).random((5, 64, 64, 3), dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"NaN or infinite depth at frames \[0.*fp32"):
        settings = LongVideoSettings(steps=1, max_resolution=64)
        write_depth(tiny_model, ArraySource(frames), settings, OutputSpec(tmp_path, ("png16",)))
    assert not list(tmp_path.glob("depth.*.png"))


# --------------------------------------------------------------------------- nodes


def _node_cases():
    def image(values):
        return torch.as_tensor(values, dtype=torch.float32)

    nan = image(np.full((2, 64, 64, 3), 0.5))
    nan[0, 3, 3, 0] = float("nan")
    inf = image(np.full((2, 64, 64, 3), 0.5))
    inf[1, 0, 0, 2] = float("inf")
    return [
        ("node-image-nan", lambda n, c: n.VideoToLatent().encode(c.handle, nan, 64, 16), ValueError, r"NaN"),
        ("node-image-inf", lambda n, c: n.VideoToLatent().encode(c.handle, inf, 64, 16), ValueError, r"infinite"),
        ("node-image-out-of-range", lambda n, c: n.VideoToLatent().encode(c.handle, image(np.full((2, 64, 64, 3), 2.0)), 64, 16),
         ValueError, r"\[0,1\]"),
        ("node-image-0-frames", lambda n, c: n.VideoToLatent().encode(c.handle, torch.zeros(0, 64, 64, 3), 64, 16),
         ValueError, r"non-empty image batch"),
        ("node-image-4-channels", lambda n, c: n.VideoToLatent().encode(c.handle, torch.zeros(2, 64, 64, 4), 64, 16),
         ValueError, r"4 channels.*alpha"),
        ("node-save-prefix-dotdot", lambda n, c: n.DAV_SaveDepth().save(torch.zeros(1, 4, 4), "png16", "../escape"),
         ValueError, r"filename_prefix '\.\./escape' points outside ComfyUI's output folder"),
        ("node-save-prefix-absolute", lambda n, c: n.DAV_SaveDepth().save(torch.zeros(1, 4, 4), "png16", str(c.outside)),
         ValueError, r"points outside ComfyUI's output folder"),
        ("node-save-symlink-out", lambda n, c: n.DAV_SaveDepth().save(torch.zeros(1, 4, 4), "png16", "link/x"),
         ValueError, r"points outside ComfyUI's output folder"),
        ("node-save-nan-depth", lambda n, c: n.DAV_SaveDepth().save(torch.full((1, 4, 4), float("nan")), "exr", "dav/n"),
         ValueError, r"NaN or infinite"),
        ("node-load-video-dotdot", lambda n, c: n.DAV_LoadVideo().load("../outside/clip.mp4"), ValueError,
         r"outside ComfyUI's input folder"),
        ("node-load-video-absolute", lambda n, c: n.DAV_LoadVideo().load(str(c.outside / "clip.mp4")), ValueError,
         r"outside ComfyUI's input folder"),
        ("node-load-video-symlink-out", lambda n, c: n.DAV_LoadVideo().load("link/clip.mp4"), ValueError,
         r"outside ComfyUI's input folder"),
        ("node-file-to-file-symlink-out", lambda n, c: n.DAV_VideoDepthToFiles().run(c.handle, "link/clip.mp4"),
         ValueError, r"outside ComfyUI's input folder"),
        ("node-checkpoint-dotdot", lambda n, c: n.LoadDAVModel().load("../outside/tiny_dav", "fp32"), ValueError,
         r"checkpoint '\.\./outside/tiny_dav' is outside the model folders"),
    ]


NODE_CASES = _node_cases()


@pytest.mark.parametrize("case", NODE_CASES, ids=lambda c: c[0])
def test_node(case, comfy, handle, tiny_dav_dir):
    outside = comfy.input.parent / "outside"
    outside.mkdir()
    write_video(outside / "clip.mp4", count=2)
    shutil.copytree(tiny_dav_dir, outside / "tiny_dav")
    (comfy.input / "link").symlink_to(outside)
    (comfy.output / "link").symlink_to(outside)
    namespace = SimpleNamespace(**node_classes())
    context = SimpleNamespace(handle=handle, outside=outside)
    before = sorted(p.relative_to(outside) for p in outside.rglob("*"))
    _, call, error, message = case
    with pytest.raises(error, match=message):
        call(namespace, context)
    assert sorted(p.relative_to(outside) for p in outside.rglob("*")) == before  # nothing written outside
    assert not [p for p in comfy.output.rglob("depth*") if p.is_file()]
