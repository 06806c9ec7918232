"""`dav depth --workers` on a local Ray cluster with the bundled model: the same bits as one process (npy,
png16, exr; a 120-frame clip and an odd length), several shots in one call, a worker killed mid-run, the
driver killed and resumed, a bad shot failing alone.

One process and the workers run with one torch thread each (2 workers on this 2-core cluster): CPU
results depend on the thread count, not on where the work runs.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import ray  # the test extra installs it: a missing Ray fails here, it does not skip

from tests.helpers import REPO, bar_frames, run_dav, write_plate, write_video

pytestmark = pytest.mark.slow

SMALL = ("--max-resolution", "64", "--no-progress")
SIZE = (36, 48)


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {n: write_video(folder / f"clip{n}.mp4", n, SIZE, crf=0) for n in (120, 37)}


@pytest.fixture(scope="module")
def single(clips, tmp_path_factory):
    """One process, one thread: the reference outputs of each clip (npy, png16, exr)."""
    import torch

    previous = torch.get_num_threads()
    outputs = {}
    try:
        for n, clip in clips.items():
            out = tmp_path_factory.mktemp(f"single{n}")
            run = run_dav("depth", clip, "-o", out, "--format", "npy,png16,exr", "--threads", "1", *SMALL)
            assert run.code == 0, run.err
            outputs[n] = out
    finally:
        torch.set_num_threads(previous)
    return outputs


def read_outputs(folder: Path) -> dict[str, np.ndarray]:
    """Every depth output of a folder read back through the library's readers, frames in file order."""
    from dav_core.io.writers import DepthEncoding, read_depth_exr, read_depth_png16

    encoding = DepthEncoding(kind="disparity", low=0.0, high=1.0, relative=True)
    found = {}
    if (folder / "depth.npy").exists():
        found["npy"] = np.load(folder / "depth.npy")
    pngs = sorted(p for p in folder.glob("*.png"))
    if pngs:
        found["png16"] = np.stack([read_depth_png16(p, encoding) for p in pngs])
    exrs = sorted(folder.glob("*.exr"))
    if exrs:
        found["exr"] = np.stack([read_depth_exr(p)[0] for p in exrs])
    return found


def assert_same(folder: Path, reference: Path, formats=("npy", "png16", "exr")) -> None:
    got, want = read_outputs(folder), read_outputs(reference)
    for fmt in formats:
        assert got[fmt].shape == want[fmt].shape, fmt
        assert np.array_equal(got[fmt], want[fmt]), f"{fmt}: max difference {np.abs(got[fmt] - want[fmt]).max()}"


def test_two_workers_write_the_bits_of_one_process(cluster, clips, single, tmp_path):
    run = run_dav("depth", clips[120], "-o", tmp_path, "--format", "npy,png16,exr", "--workers", "2", *SMALL)
    assert run.code == 0, run.err
    assert_same(tmp_path, single[120])


def test_three_shots_in_one_call_and_an_odd_length_the_same(cluster, clips, single, tmp_path):
    folder = write_plate(tmp_path / "plate", bar_frames(9, SIZE))
    short = write_video(tmp_path / "short.mp4", 12, SIZE, crf=0)  # one window: a single task
    root = tmp_path / "root"
    run = run_dav("depth", clips[37], folder, short, "-o", root, "--format", "npy,png16,exr", "--workers", "2",
                  *SMALL)  # fmt: skip
    assert run.code == 0, run.err
    assert sorted(p.name for p in root.iterdir()) == ["clip37", "plate", "short"]
    assert_same(root / "clip37", single[37])
    assert np.load(root / "plate" / "depth.npy").shape == (9, *SIZE)
    assert np.load(root / "short" / "depth.npy").shape == (12, *SIZE)
    assert sum(line.startswith("shot ") for line in run.err.splitlines()) == 3


def test_a_worker_killed_mid_run_is_replaced_and_the_output_is_the_same(cluster, clips, single, tmp_path):
    import argparse

    from dav_core.commands.options import load_model
    from dav_core.farm.driver import Farm, ShotJob
    from dav_core.job import OutputSpec
    from dav_core.longvideo.sources import FileSource
    from dav_core.settings import LongVideoSettings

    loader = functools.partial(
        load_model, argparse.Namespace(model=None, precision="auto", device="cpu", compile=False)
    )
    job = ShotJob("clip", FileSource(clips[120]), OutputSpec(tmp_path, ("npy", "png16", "exr")))
    with Farm(loader, workers=2) as farm:
        before = farm.pids()
        killed = []

        def on_frames(count: int) -> None:  # first frame written: window blocks and decodes in flight
            if not killed:
                os.kill(before[0], signal.SIGKILL)
                killed.append(before[0])

        results, _ = farm.run([job], LongVideoSettings(max_resolution=64), ("npy", "png16", "exr"), {},
                              on_frames=on_frames)  # fmt: skip
        after = farm.pids()
    assert results[0].error is None and results[0].computed == 120
    assert killed and before[0] not in after  # the process was gone and its actor started again
    assert_same(tmp_path, single[120])


def test_driver_killed_then_resume_gives_the_same_frames(cluster, clips, single, tmp_path):
    out = tmp_path / "out"
    address = ray.get_runtime_context().gcs_address  # the driver joins this cluster: no second Ray start
    command = [sys.executable, "-m", "dav_core.cli", "depth", str(clips[120]), "-o", str(out), "--format", "png16",
               "--ray", address, "--workers", "2", *SMALL]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RAY_ADDRESS", None)
    driver = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 150
        while not list(out.glob("*.png")) and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert driver.poll() is None, "the run ended before it could be killed"
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # anything the killed driver started
        except ProcessLookupError:
            pass
    written = len(list(out.glob("*.png")))
    assert 0 < written < 120
    run = run_dav("depth", clips[120], "-o", out, "--format", "png16", "--workers", "2", "--resume", *SMALL)
    assert run.code == 0, run.err
    assert_same(out, single[120], ["png16"])


def test_a_bad_shot_fails_alone(cluster, clips, tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    good = write_video(tmp_path / "good.mp4", 10, SIZE, crf=0)
    root = tmp_path / "root"
    run = run_dav("depth", good, tmp_path / "broken.mp4", clips[37], "-o", root, "--format", "npy",
                  "--workers", "2", *SMALL)  # fmt: skip
    assert run.code == 1
    assert np.load(root / "good" / "depth.npy").shape == (10, *SIZE)
    assert np.load(root / "clip37" / "depth.npy").shape == (37, *SIZE)
    assert any(line.startswith("shot broken failed:") for line in run.err.splitlines())
    assert "1 of 3 shots failed: broken" in run.err
