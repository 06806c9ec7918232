"""Synthetic showroom family (large objects on a receding floor before a backdrop or the sky, a receding
row of identical props) and the depth-independent looks: atmospheric haze and the global tone curve."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from dav_core.synthetic import iter_clips, sample_clip
from dav_core.synthetic.sensor import (
    SensorEffects,
    apply_sensor,
    haze_allowed,
    sample_sensor,
    to_display,
    to_linear,
    tone_curve,
)

pytestmark = pytest.mark.usefixtures("single_thread")

SEEDS = range(6)


def _render(renderer, seed: int, frames: int = 8, size: int = 64):
    spec = sample_clip(seed, frames, size, size, scene_type="showroom")
    return spec, renderer.render(spec.scene, spec.track)


@pytest.mark.parametrize("seed", [0, 1])
def test_showroom_renders_with_valid_depth(renderer, seed):
    spec, res = _render(renderer, seed)
    assert spec.scene.scene_type == "showroom" and res.depth.shape == (8, 64, 64)
    d = res.depth[res.valid]
    assert d.size and np.isfinite(d).all()
    assert (d > spec.track.near).all() and (d < spec.scene.max_depth).all()
    assert (res.depth[~res.valid] == 0).all()
    if spec.scene.info["sky"]:
        assert 0.2 < res.valid.mean() < 1.0  # ground and objects below, sky above
    else:
        assert res.valid.all()  # a closed hall
    assert d.min() < 6.0  # the objects stand 1-6 m away


def test_showroom_camera_frames_the_main_object():
    for seed in range(12):
        spec = sample_clip(seed, 8, 64, 64, scene_type="showroom")
        main = spec.scene.primitives[0]  # built first, at the origin
        assert main.name.startswith(("showpiece", "vehicle_body"))
        centre = main.pose[:3, 3]
        cam = spec.track.c2w[:, :3, 3]
        dist = np.linalg.norm((cam - centre)[:, [0, 2]], axis=1)
        assert dist.min() > 0.6 and dist.max() < 6.5, (seed, dist)
        height = cam[:, 1]
        assert ((height > 0.3) & (height < 1.9)).all()
        z = spec.track.c2w[:, :3, 2]  # optical axes: level or pitched down by at most ~20 deg (+ shake)
        pitch = np.degrees(np.arcsin(z[:, 1]))
        assert (pitch < 3).all() and (pitch > -25).all(), (seed, pitch)


def test_central_object_is_in_front_of_the_backdrop(renderer):
    """Unlike a corridor, the middle of the picture is near and its top far (sky counts as infinitely far)."""
    ratios = []
    for seed in SEEDS:
        _, res = _render(renderer, seed)
        depth = np.where(res.valid, res.depth, np.inf)
        centre = np.median(depth[:, 22:42, 22:42])
        top = np.median(depth[:, :10])
        ratios.append(np.log(top / centre) if np.isfinite(top) else 3.0)
    ratios = np.array(ratios)
    assert (ratios > 0).sum() >= 5, ratios
    assert ratios.mean() > 0.5, ratios


def test_row_props_are_identical_and_shrink_with_distance():
    checked = 0
    for seed in range(12):
        spec = sample_clip(seed, 8, 64, 64, scene_type="showroom")
        row = spec.scene.info["row"]
        props = [p for p in spec.scene.primitives if p.name == "row_" + row["kind"]]
        assert len(props) == len(row["positions"])
        if len(props) < 3:
            continue
        assert all(p.size == props[0].size and p.material == props[0].material for p in props)
        if props[0].mesh is not None:
            assert all(p.mesh is props[0].mesh for p in props)
        xz = np.array([p.pose[[0, 2], 3] for p in props])
        np.testing.assert_allclose(xz, np.array(row["positions"]), atol=1e-9)
        steps = np.diff(xz, axis=0)
        direction = steps / np.linalg.norm(steps, axis=1, keepdims=True)
        assert (direction @ direction[0] > 0.999).all()  # on one straight line
        # camera frame of the middle frame: the props recede, and their projected height shrinks
        w2c = np.linalg.inv(spec.track.c2w[len(spec.track.c2w) // 2])
        base = np.array([[x, 0.0, z, 1.0] for x, z in xz]) @ w2c.T
        top = np.array([[x, row["height"], z, 1.0] for x, z in xz]) @ w2c.T
        assert (base[:, 2] > 0).sum() >= 3
        front = base[:, 2] > 0.5
        assert (np.diff(base[front, 2]) > 0).all()
        fy = spec.track.K[1, 1]
        size_px = fy * (base[front, 1] / base[front, 2] - top[front, 1] / top[front, 2])
        assert (size_px > 0).all() and (np.diff(size_px) < 0).all(), size_px
        checked += 1
    assert checked >= 6


def test_haze_pulls_far_pixels_to_the_haze_colour(renderer):
    seed = next(s for s in range(40) if sample_clip(s, 2, 48, 48, scene_type="showroom").scene.info["sky"])
    spec, res = _render(renderer, seed, 4, 48)
    colour = (0.9, 0.95, 1.05)
    hazy = SensorEffects(seed=seed, effects=("haze",), haze_visibility=30.0, haze_color=colour)
    out, _ = apply_sensor(to_linear(res.rgb), res.depth, res.valid, spec.track.K, hazy)
    target = to_display(np.array(colour, np.float32))
    dist_before = np.abs(res.rgb / 255.0 - target).mean(-1)
    dist_after = np.abs(out / 255.0 - target).mean(-1)
    near = res.valid & (res.depth < 5)
    far = res.valid & (res.depth > 20)
    assert near.sum() > 20 and far.sum() > 20
    assert dist_after[far].mean() < dist_after[near].mean()
    assert dist_after[far].mean() < 0.5 * dist_before[far].mean()  # far pixels really changed
    assert dist_after[~res.valid].max() <= 1.0 / 255 + 1e-6  # sky: the full haze colour
    # near pixels change less than far ones
    assert np.abs(out.astype(int) - res.rgb)[near].mean() < np.abs(out.astype(int) - res.rgb)[far].mean()
    # nothing but the RGB is changed: the same exposure path without haze reproduces the input
    plain, _ = apply_sensor(to_linear(res.rgb), res.depth, res.valid, spec.track.K, SensorEffects(seed=seed))
    np.testing.assert_array_equal(plain, res.rgb)


def test_haze_only_for_open_air_clips_and_tone_curve_sampled():
    draws_open = [sample_sensor(s, hazy=True) for s in range(400)]
    draws_closed = [sample_sensor(s) for s in range(400)]
    assert not any("haze" in d.effects for d in draws_closed)
    haze_rate = np.mean(["haze" in d.effects for d in draws_open])
    tone_rate = np.mean(["tone" in d.effects for d in draws_closed])
    assert 0.25 < haze_rate < 0.55 and 0.22 < tone_rate < 0.45
    for d in draws_open:
        if "haze" in d.effects:
            assert 20 <= d.haze_visibility <= 300
        if "tone" in d.effects:
            assert 0.7 <= d.tone_gamma <= 1.4 and 0.6 <= d.tone_saturation <= 1.4
    # the older effects of a seed are unchanged by the new draws (own stream)
    for a, b in zip(draws_open, draws_closed, strict=True):
        assert a.clean == b.clean and a.exposure == b.exposure and a.defocus_coc == b.defocus_coc
    assert haze_allowed("outdoor") and haze_allowed("showroom", {"sky": True})
    assert not haze_allowed("showroom", {"sky": False}) and not haze_allowed("room")


def test_tone_curve_gamma_contrast_saturation():
    y = np.random.default_rng(0).uniform(0, 1, (16, 3)).astype(np.float32)
    np.testing.assert_allclose(tone_curve(y, 1.0, 0.0, 1.0), y, atol=1e-6)
    grey = np.full((1, 3), 0.5, np.float32)
    assert tone_curve(grey, 1.4, 0.0, 1.0)[0, 0] < 0.5 < tone_curve(grey, 0.7, 0.0, 1.0)[0, 0]
    dark, light = np.full((1, 3), 0.2, np.float32), np.full((1, 3), 0.8, np.float32)
    assert tone_curve(dark, 1.0, 0.5, 1.0)[0, 0] < 0.2 and tone_curve(light, 1.0, 0.5, 1.0)[0, 0] > 0.8
    out = tone_curve(y, 1.0, 0.0, 0.0)
    np.testing.assert_allclose(out, out[:, :1].repeat(3, 1), atol=1e-6)  # no saturation: grey


def test_synth_cli_accepts_showroom(tmp_path):
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "dav_core.cli", "synth", "--out", str(out), "--clips", "2", "--frames", "4"]
    cmd += ["--size", "64x64", "--scene", "showroom", "--no-progress", "--workers", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    clips = list(iter_clips(out))
    assert len(clips) == 2 and {c.scene_type for c in clips} == {"showroom"}
    assert all(c.depth.shape == (4, 64, 64) and c.valid.any() for c in clips)
