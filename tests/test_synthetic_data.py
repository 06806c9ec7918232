"""Synthetic engine: determinism, shard format round trip, atomic writes, the `dav synth` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from dav_core.synthetic import (
    SCENE_TYPES,
    clip_dirs,
    generate_clip,
    is_complete,
    iter_clips,
    load_clip,
    render_clip,
    sample_clip,
    write_clip,
)
from dav_core.synthetic.generate import generate_dataset
from tests.helpers import REPO, synth_parser


@pytest.fixture(scope="module")
def clip(renderer):
    return generate_clip(123, frames=5, size=(32, 48), renderer=renderer)


def test_scene_sampling_is_deterministic_and_varied():
    a, b = sample_clip(7, 12, 32, 32), sample_clip(7, 12, 32, 32)
    np.testing.assert_array_equal(a.track.c2w, b.track.c2w)
    np.testing.assert_array_equal(a.track.K, b.track.K)
    assert a.fps == b.fps and a.trajectory == b.trajectory
    assert [p.kind for p in a.scene.primitives] == [p.kind for p in b.scene.primitives]
    for p, q in zip(a.scene.primitives, b.scene.primitives, strict=True):
        np.testing.assert_array_equal(p.pose_at(0.3), q.pose_at(0.3))
        assert p.material == q.material
    kinds = {sample_clip(s, 4, 16, 16).scene.scene_type for s in range(32)}  # seven families
    assert kinds == set(SCENE_TYPES)
    assert not np.array_equal(sample_clip(8, 12, 32, 32).track.c2w, a.track.c2w)
    # every scene type has moving objects and a moving (or panning) camera, unless it is on a tripod
    for st in SCENE_TYPES:
        spec = sample_clip(3, 8, 16, 16, scene_type=st)
        assert any(p.motion is not None for p in spec.scene.primitives), st
        moving = not np.allclose(spec.track.c2w[0], spec.track.c2w[-1])
        assert moving or spec.trajectory["kind"] == "static", st


def test_rendering_is_deterministic(renderer, clip):
    again = generate_clip(123, frames=5, size=(32, 48), renderer=renderer)
    np.testing.assert_array_equal(again.rgb, clip.rgb)
    np.testing.assert_array_equal(again.depth, clip.depth)
    np.testing.assert_array_equal(again.valid, clip.valid)
    np.testing.assert_array_equal(again.poses, clip.poses)


def test_clip_contents(clip):
    T, H, W = 5, 32, 48
    assert clip.rgb.shape == (T, H, W, 3) and clip.rgb.dtype == np.uint8
    assert clip.depth.shape == (T, H, W) and clip.depth.dtype == np.float32
    assert clip.valid.shape == (T, H, W) and clip.valid.dtype == bool
    assert clip.intrinsics.shape == (3, 3) and clip.poses.shape == (T, 4, 4)
    assert (clip.depth[clip.valid] > 0).all() and (clip.depth[~clip.valid] == 0).all()
    np.testing.assert_allclose(
        clip.poses[:, :3, :3].transpose(0, 2, 1) @ clip.poses[:, :3, :3],
        np.broadcast_to(np.eye(3), (T, 3, 3)),
        atol=1e-9,
    )
    assert clip.rgb.std() > 10  # textured, not flat colour


@pytest.mark.parametrize("rgb_format,depth_dtype", [("mp4", "float32"), ("png", "float16")])
def test_shard_round_trip(tmp_path, clip, rgb_format, depth_dtype):
    path = write_clip(clip, tmp_path / "clip_000000", rgb_format=rgb_format, depth_dtype=depth_dtype)
    assert is_complete(path)
    meta = json.loads((path / "meta.json").read_text())
    assert meta["seed"] == 123 and meta["frames"] == 5 and meta["rgb_format"] == rgb_format
    back = load_clip(path)
    np.testing.assert_array_equal(back.rgb, clip.rgb)  # lossless RGB in both formats
    if depth_dtype == "float32":
        np.testing.assert_array_equal(back.depth, clip.depth)
    else:
        np.testing.assert_allclose(back.depth, clip.depth, rtol=1e-3)
    np.testing.assert_array_equal(back.valid, clip.valid)
    np.testing.assert_allclose(back.intrinsics, clip.intrinsics)
    np.testing.assert_allclose(back.poses, clip.poses)
    np.testing.assert_allclose(back.timestamps, clip.timestamps)
    assert back.fps == clip.fps and back.scene_type == clip.scene_type and back.seed == clip.seed
    assert [c.seed for c in iter_clips(tmp_path)] == [123]


def test_interrupted_write_leaves_no_complete_clip(tmp_path, clip, monkeypatch):
    import safetensors.numpy

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # as if the run were stopped while writing

    monkeypatch.setattr(safetensors.numpy, "save_file", boom)
    with pytest.raises(KeyboardInterrupt):
        write_clip(clip, tmp_path / "clip_000000")
    assert list(tmp_path.iterdir()) == []
    # a hard kill leaves a temp folder (maybe with a meta.json): never taken for a clip
    stale = tmp_path / ".tmp-clip_000001-abc"
    stale.mkdir()
    (stale / "meta.json").write_text(json.dumps({"format": "dav-synthetic"}))
    (stale / "depth.safetensors").write_bytes(b"")
    assert not is_complete(stale)
    assert list(iter_clips(tmp_path)) == []


def test_generate_dataset_resumes_and_cleans_up(tmp_path):
    out = tmp_path / "ds"
    stats = generate_dataset(out, 2, frames=3, size=(24, 32), seed=40, workers=1, progress=False)
    assert stats["generated"] == 2 and stats["skipped"] == 0
    first = (out / "clip_000000" / "meta.json").stat().st_mtime_ns
    (out / ".tmp-clip_000002-x").mkdir()  # debris of an interrupted run
    stats = generate_dataset(out, 3, frames=3, size=(24, 32), seed=40, workers=1, progress=False)
    assert stats["generated"] == 1 and stats["skipped"] == 2
    assert (out / "clip_000000" / "meta.json").stat().st_mtime_ns == first
    assert not list(out.glob(".tmp-*"))
    assert [c.seed for c in iter_clips(out)] == [40, 41, 42]
    with pytest.raises(ValueError, match="other settings"):
        generate_dataset(out, 3, frames=3, size=(24, 32), seed=41, workers=1, progress=False)


def test_synth_command_tiny_clips_and_contact_sheet(tmp_path, capsys):
    out, sheet = tmp_path / "ds", tmp_path / "sheet.png"
    args = synth_parser().parse_args(
        ["synth", "--out", str(out), "--clips", "3", "--frames", "2-4", "--size", "24x40", "--seed", "5",
         "--workers", "1", "--contact-sheet", str(sheet), "--no-progress"]
    )
    assert args.func(args) == 0
    clips = list(iter_clips(out))
    assert [c.seed for c in clips] == [5, 6, 7]
    assert all(2 <= c.frames <= 4 and c.size == (24, 40) for c in clips)
    from PIL import Image

    img = Image.open(sheet)
    assert img.width >= 40 * 2 and img.height >= 3 * 2 * 24
    assert "3 clips" in capsys.readouterr().err
    # second run: nothing to do
    assert args.func(args) == 0
    assert "already complete" in capsys.readouterr().err


def test_synth_command_validation():
    parser = synth_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["synth", "--size", "12"])
    args = parser.parse_args(["synth"])
    assert args.func(args) == 2  # needs --out or --contact-sheet


@pytest.mark.slow
def test_killed_synth_run_leaves_only_complete_clips(tmp_path):
    out = tmp_path / "ds"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [
        sys.executable,
        "-m",
        "dav_core.cli",
        "synth",
        "--out",
        str(out),
        "--clips",
        "40",
        "--frames",
        "6",
        "--size",
        "32x32",
        "--seed",
        "9",
        "--workers",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.time() + 45
        while (
            time.time() < deadline and proc.poll() is None and len(clip_dirs(out) if out.exists() else []) < 2
        ):
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)  # the whole pool, mid-write
    finally:
        proc.wait(timeout=30)
    done = clip_dirs(out)
    assert 2 <= len(done) < 40
    for d in out.iterdir():
        if d.name.startswith("clip_"):
            assert is_complete(d)
            load_clip(d)  # every folder that looks like a clip is whole
    # resume with a smaller target completes the prefix without touching finished clips
    n = len(done) + 1
    mtimes = {d.name: (d / "meta.json").stat().st_mtime_ns for d in done}
    stats = generate_dataset(out, n, frames=6, size=(32, 32), seed=9, workers=1, progress=False)
    assert stats["generated"] == n - sum(1 for d in done if int(d.name[5:]) < n)
    for d in done:
        assert (d / "meta.json").stat().st_mtime_ns == mtimes[d.name]
    assert not list(out.glob(".tmp-*"))


def test_render_clip_meta_records_backend(renderer):
    spec = sample_clip(1, 2, 16, 16)
    c = render_clip(spec, renderer)
    assert c.meta["backend"] == renderer.name and c.meta["trajectory"]["kind"] in (
        "orbit",
        "dolly",
        "pan",
        "tracking",
    )
