"""Synthetic engine camera/sensor effects: exact depth and poses, clean output unchanged, motion blur,
defocus, noise statistics, determinism and the ``dav synth --effects`` setting."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from dav_core.synthetic import (
    CameraTrack,
    Environment,
    Light,
    Material,
    Primitive,
    Scene,
    generate_clip,
    intrinsics_from_fov,
    iter_clips,
    look_at,
    render_clip,
    sample_clip,
)
from dav_core.synthetic.generate import generate_dataset
from dav_core.synthetic.scene import quad_pose, yaw
from dav_core.synthetic.sensor import (
    EFFECT_NAMES,
    SensorEffects,
    apply_sensor,
    haze_allowed,
    pose_at_offset,
    predicted_noise_std,
    quantise,
    sample_sensor,
    subframe_track,
    to_display,
    to_linear,
)
from tests.helpers import synth_parser

pytestmark = pytest.mark.usefixtures("single_thread")

ALL = SensorEffects(
    seed=5,
    effects=EFFECT_NAMES,
    exposure=0.7,
    exposure_drift=0.3,
    white_balance=(1.15, 0.98, 0.85),
    shot_noise=1e-3,
    read_noise=3e-3,
    shutter=0.8,
    blur_samples=3,
    defocus_coc=3.0,
    focus_scale=0.8,
    vignette=0.3,
)


def _only(**kw) -> SensorEffects:
    names = {"shutter": "motion_blur", "defocus_coc": "defocus", "shot_noise": "noise", "read_noise": "noise"}
    return SensorEffects(seed=1, effects=tuple({names[k] for k in kw if k in names}), **kw)


def _wall_scene() -> Scene:
    wall = Primitive(
        "quad", (30.0, 30.0), quad_pose((0.0, 0.0, 4.0), (-1, 0, 0), (0, -1, 0)), Material("brick", uv_tile=0.5)
    )
    light = Light("directional", (-0.3, -1.0, 0.4), (2.0, 2.0, 2.0))
    return Scene("test", [wall], [light], Environment(), ((-20, -20, -2), (20, 20, 12)), max_depth=100.0)


def _pan_track(n: int, deg_per_frame: float, size: int = 48) -> CameraTrack:
    c2w = np.stack([look_at((0, 0, 0), (0, 0, 1)) for _ in range(n)])
    for i in range(n):
        c2w[i, :3, :3] = yaw(math.radians(deg_per_frame * i)) @ c2w[i, :3, :3]
    return CameraTrack(intrinsics_from_fov(size, size, 60.0), c2w, np.arange(n) / 10.0, size, size)


def _grad_energy(rgb: np.ndarray) -> float:
    g = rgb.astype(np.float64).mean(-1)
    return float((np.diff(g, axis=-1) ** 2).mean() + (np.diff(g, axis=-2) ** 2).mean())


def test_sampling_is_deterministic_separate_and_mostly_mixed():
    assert sample_sensor(7) == sample_sensor(7)
    draws = [sample_sensor(s) for s in range(400)]
    clean = np.mean([d.clean for d in draws])
    blur = np.mean([d.motion_blur for d in draws])
    assert 0.28 <= clean <= 0.42 and 0.1 <= blur <= 0.25
    for d in draws:
        json.dumps(d.to_meta())
        assert d.blur_samples % 2 == 1 and 0.1 <= d.exposure <= 1.8  # low light: x 0.2-0.5
    # its own stream: the scene draws of a seed do not depend on whether sensor parameters were drawn
    a = sample_clip(3, 4, 16, 16)
    sample_sensor(3)
    np.testing.assert_array_equal(a.track.c2w, sample_clip(3, 4, 16, 16).track.c2w)


def test_display_transform_round_trips_every_level():
    v = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(quantise(to_display(to_linear(v))), v)


def test_effects_change_only_rgb(renderer):
    spec = sample_clip(11, 4, 32, 32)
    clean = render_clip(spec, renderer)
    np.testing.assert_array_equal(clean.rgb, renderer.render(spec.scene, spec.track).rgb)  # default = old
    assert clean.meta["sensor"] == {}
    for effects in (ALL, dataclasses.replace(ALL, blur_samples=5), "auto"):
        seed = next(s for s in range(11, 200) if not sample_sensor(s).clean)
        spec_e = sample_clip(seed, 4, 32, 32) if effects == "auto" else spec
        ref = clean if effects != "auto" else render_clip(spec_e, renderer)
        out = render_clip(spec_e, renderer, effects=effects)
        np.testing.assert_array_equal(out.depth, ref.depth)
        np.testing.assert_array_equal(out.valid, ref.valid)
        np.testing.assert_array_equal(out.poses, ref.poses)
        np.testing.assert_array_equal(out.intrinsics, ref.intrinsics)
        np.testing.assert_array_equal(out.timestamps, ref.timestamps)
        assert out.rgb.dtype == np.uint8 and out.rgb.shape == ref.rgb.shape
        assert not np.array_equal(out.rgb, ref.rgb)
        assert effects == "auto" or np.abs(out.rgb.astype(int) - ref.rgb).mean() > 5.0
        assert out.meta["sensor"]["clean"] is False and out.meta["sensor"]["effects"]
        json.dumps(out.meta["sensor"])


def test_effects_are_deterministic(renderer):
    seed = next(s for s in range(200) if {"noise", "exposure"} <= set(sample_sensor(s).effects))
    a = generate_clip(seed, 3, (32, 32), renderer=renderer, effects="auto")
    b = generate_clip(seed, 3, (32, 32), renderer=renderer, effects="auto")
    np.testing.assert_array_equal(a.rgb, b.rgb)
    hazy = haze_allowed(a.scene_type, a.meta["scene_info"])  # open-air clips may draw haze
    assert a.meta["sensor"] == b.meta["sensor"] == sample_sensor(seed, hazy).to_meta()
    clean = generate_clip(seed, 3, (32, 32), renderer=renderer, effects="none")
    assert not np.array_equal(a.rgb, clean.rgb)


def test_subframe_poses_interpolate_and_hit_frame_times():
    track = _pan_track(3, 10.0)
    sub = subframe_track(track, 1.0, 3)
    np.testing.assert_array_equal(sub.c2w[1::3], track.c2w)
    np.testing.assert_array_equal(sub.times[1::3], track.times)
    np.testing.assert_allclose(sub.times, [-0.05, 0, 0.05, 0.05, 0.1, 0.15, 0.15, 0.2, 0.25], atol=1e-12)
    # half-way between frames 0 and 1: 5 degrees of yaw (slerp); past the ends: extrapolated
    for i, dt, deg in ((0, 0.05, 5.0), (0, -0.05, -5.0), (2, 0.05, 25.0)):
        expected = yaw(math.radians(deg)) @ track.c2w[0, :3, :3]
        np.testing.assert_allclose(pose_at_offset(track.c2w, track.times, i, dt)[:3, :3], expected, atol=1e-12)


def test_motion_blur_static_is_sharp_and_panning_is_blurred(renderer):
    scene, blur = _wall_scene(), _only(shutter=1.0, blur_samples=5)
    static = _pan_track(3, 0.0)
    sharp = render_clip_like(renderer, scene, static, None)
    still = render_clip_like(renderer, scene, static, blur)
    assert np.abs(still.astype(int) - sharp).max() <= 1
    pan = _pan_track(3, 4.0)  # 4 degrees per frame ~ 3.5 px at 48 px, 60 degrees fov
    sharp, blurred = render_clip_like(renderer, scene, pan, None), render_clip_like(renderer, scene, pan, blur)
    assert _grad_energy(blurred) < 0.8 * _grad_energy(sharp)


def render_clip_like(renderer, scene, track, sensor):
    from dav_core.synthetic.generators import ClipSpec

    spec = ClipSpec(seed=1, scene=scene, track=track, fps=10.0)
    return render_clip(spec, renderer, effects=sensor or "none").rgb


def test_defocus_keeps_focus_plane_and_blurs_far():
    rng = np.random.default_rng(0)
    T, H, W = 2, 48, 64
    rgb = rng.integers(20, 235, (T, H, W, 3)).astype(np.uint8)  # texture-like noise
    depth = np.zeros((T, H, W), np.float32)
    depth[:, :, : W // 2] = 2.0  # left: at the focus distance (median valid depth); right: sky (far)
    valid = depth > 0
    sensor = _only(defocus_coc=4.0 * 128 / W, focus_scale=1.0)  # CoC 4 px at infinity
    out, info = apply_sensor(to_linear(rgb), depth, valid, intrinsics_from_fov(W, H, 60), sensor)
    assert info["focus_distance_m"] == pytest.approx(2.0) and info["coc_inf_px"] == pytest.approx(4.0)
    np.testing.assert_array_equal(out[:, :, : W // 2], rgb[:, :, : W // 2])
    far_in, far_out = rgb[:, 4:-4, W // 2 + 4 : -4], out[:, 4:-4, W // 2 + 4 : -4]
    assert _grad_energy(far_out) < 0.2 * _grad_energy(far_in)
    # a blur in linear light: it keeps the mean radiance (the display mean rises, the display is concave)
    assert to_linear(far_out).mean() == pytest.approx(to_linear(far_in).mean(), rel=0.03)


@pytest.mark.parametrize("level", [40, 128, 200])
def test_noise_std_matches_the_model(level):
    sensor = _only(shot_noise=2e-3, read_noise=5e-3)
    rgb = np.full((4, 64, 64, 3), level, np.uint8)
    out, _ = apply_sensor(to_linear(rgb), np.ones((4, 64, 64)), np.ones((4, 64, 64), bool), np.eye(3), sensor)
    measured = out.astype(np.float64).std(axis=(0, 1, 2), ddof=1)  # per channel
    predicted = float(predicted_noise_std(level / 255.0, sensor))
    assert predicted > 2.0
    np.testing.assert_allclose(measured, predicted, rtol=0.2)
    frames = out.astype(np.float64).reshape(4, -1)
    assert abs(np.corrcoef(frames[0], frames[1])[0, 1]) < 0.05  # independent per frame


def _synth(args: list[str]):
    ns = synth_parser().parse_args(["synth", *args])
    return ns.func(ns)


def test_synth_effects_setting_meta_and_resume(tmp_path, renderer):
    seed = next(s for s in range(300) if not sample_sensor(s).clean and not sample_sensor(s).motion_blur)
    # reference first: a GL context created and released by the in-process run below leaves no context
    # current for the fixture's renderer
    ref = generate_clip(seed, 2, (24, 32), renderer=renderer)
    out = tmp_path / "ds"
    common = ["--out", str(out), "--clips", "2", "--frames", "2", "--size", "24x32", "--seed", str(seed)]
    assert _synth([*common, "--workers", "1", "--no-progress"]) == 0  # default: auto
    assert json.loads((out / "dataset.json").read_text())["effects"] == "auto"
    clips = list(iter_clips(out))
    for c in clips:
        want = sample_sensor(c.seed, haze_allowed(c.scene_type, c.meta["scene_info"])).to_meta()
        assert c.meta["sensor"]["clean"] == want["clean"]
        assert {k: c.meta["sensor"][k] for k in want} == want
    assert clips[0].meta["sensor"]["clean"] is False
    with pytest.raises(ValueError, match="other settings"):
        _synth([*common, "--workers", "1", "--no-progress", "--effects", "none"])
    # --effects none: the clean renders, bit-identical to the library default
    out2 = tmp_path / "clean"
    common[1] = str(out2)
    assert _synth([*common, "--workers", "1", "--no-progress", "--effects", "none"]) == 0
    first = next(iter_clips(out2))
    np.testing.assert_array_equal(first.rgb, ref.rgb)
    assert first.meta["sensor"] == {}
    # a dataset.json from before --effects existed means clean clips
    settings = json.loads((out2 / "dataset.json").read_text())
    del settings["effects"]
    (out2 / "dataset.json").write_text(json.dumps(settings))
    stats = generate_dataset(out2, 2, frames=2, size=(24, 32), seed=seed, workers=1, progress=False, effects="none")
    assert stats["skipped"] == 2
    with pytest.raises(ValueError, match="other settings"):
        generate_dataset(out2, 2, frames=2, size=(24, 32), seed=seed, workers=1, progress=False)
