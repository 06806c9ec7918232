"""Tests for dav_core.filtering on synthetic clips with known corruptions.

Clean clip: a textured, slowly panning background on a tilted plane (6-8 m) with three textured,
striped rectangles (1.5-3.5 m) moving on sinusoidal paths, so every depth edge coincides with an image
edge. Corruptions: two clips spliced (scene cut), depth x3 from mid-clip (depth jump), depth two frames
ahead of / behind the RGB, depth shifted 4 px sideways / down, depth taken from another clip.
Measured scores over 8 seeds are listed in docs/clip_filter_calibration.md; tests/test_filtering_engine.py
checks the same corruptions on clips from the synthetic engine.
"""

from __future__ import annotations

import colorsys
import functools

import numpy as np
import pytest

from dav_core.filtering import (
    DEPTH_JUMP,
    EDGE_MISALIGNMENT,
    INVALID_DEPTH,
    SCENE_CUT,
    TEMPORAL_MISALIGNMENT,
    ClipFilter,
    FilterReport,
    depth_discontinuities,
    depth_jumps,
    detect_scene_cuts,
    validate_clip,
)

pytestmark = pytest.mark.usefixtures("single_thread")

SEEDS = (0, 1, 2)
T = 16


def make_clip(seed: int, t: int = T, size: int = 64, bg_hue: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic clip: rgb uint8 [T,H,W,3], depth float32 [T,H,W] whose edges match the image edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)  # [H,W]
    bg = np.array(colorsys.hsv_to_rgb(bg_hue, 0.6, 0.45))
    rects = [
        {
            "size": rng.integers(14, 22, 2),
            "color": np.array(colorsys.hsv_to_rgb(rng.uniform(), 0.7, 0.9)),
            "depth": rng.uniform(1.5, 3.5),
            "center": rng.uniform(18, size - 18, 2),
            "amp": rng.uniform(3, 8, 2),
            "freq": rng.uniform(0.2, 0.5, 2),
            "phase": rng.uniform(0, 2 * np.pi, 2),
            "period": rng.integers(5, 9),
        }
        for _ in range(3)
    ]
    rects.sort(key=lambda r: -r["depth"])  # paint far to near
    rgb = np.zeros((t, size, size, 3), np.float32)
    depth = np.zeros((t, size, size), np.float32)
    for k in range(t):
        texture = 0.08 * np.sin(2 * np.pi * (xx + 0.7 * k) / 11.0) * np.cos(2 * np.pi * yy / 13.0)
        img = bg[None, None] + texture[..., None]  # [H,W,3]
        dep = 6.0 + 2.0 * yy / size  # tilted background plane
        for r in rects:
            cy, cx = r["center"] + r["amp"] * np.sin(r["freq"] * k + r["phase"])
            y0, x0 = round(cy - r["size"][0] / 2), round(cx - r["size"][1] / 2)
            inside = (yy >= y0) & (yy < y0 + r["size"][0]) & (xx >= x0) & (xx < x0 + r["size"][1])
            stripes = 0.12 * (((xx - x0 + yy - y0) // r["period"]) % 2)
            img = np.where(inside[..., None], r["color"][None, None] - stripes[..., None], img)
            dep = np.where(inside, r["depth"], dep)
        rgb[k], depth[k] = img, dep
    rgb += rng.normal(0.0, 0.01, rgb.shape).astype(np.float32)
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8), depth


def shift_depth(depth: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Depth content moved by (dy, dx) px (dy, dx >= 0); uncovered pixels become invalid (inf)."""
    out = np.full_like(depth, np.inf)
    h, w = depth.shape[1:]
    out[:, dy:, dx:] = depth[:, : h - dy, : w - dx]
    return out


@pytest.fixture(scope="module")
def filt() -> ClipFilter:
    return ClipFilter()


@functools.cache
def clean_report(seed: int) -> FilterReport:
    return ClipFilter().check_clip(*make_clip(seed))


# ----------------------------------------------------------------------------------------------
# clean and corrupted clips end to end
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_clip_passes(seed: int) -> None:
    report = clean_report(seed)
    assert report.passed, report.messages
    assert report.reasons == [] and report.scene_cuts == [] and report.depth_cuts == []
    s = report.scores
    assert s["max_content_score"] < 15  # measured 7.3-11.0 (threshold 20)
    assert s["max_log_depth_jump"] < 0.1  # measured <= 0.033 (threshold 1.0)
    assert s["edge_contrast"] > 2.0  # measured 2.51-2.97 on 8 seeds (threshold 1.1)
    assert s["edge_offset_px"] == 0 and s["edge_offset_gain"] == 1.0  # peak exactly at no shift
    assert s["edge_best_lag"] == 0 and s["edge_lag_gain"] == 0.0
    assert s["motion_best_lag"] == 0 and s["motion_corr_lag0"] > 0.5  # measured 0.66-0.86 at lag 0


@pytest.mark.parametrize("seed", SEEDS)
def test_spliced_clips_are_a_scene_cut(filt: ClipFilter, seed: int) -> None:
    rgb_a, depth_a = make_clip(seed)
    rgb_b, depth_b = make_clip(seed + 100, bg_hue=0.1)  # another scene: different objects, orange background
    rgb = np.concatenate([rgb_a[:8], rgb_b[8:]])
    depth = np.concatenate([depth_a[:8], depth_b[8:]])
    report = filt.check_clip(rgb, depth)
    assert not report.passed
    assert report.reasons == [SCENE_CUT]
    assert report.scene_cuts == [8]
    assert report.scores["max_content_score"] > 35  # measured 38-48


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_depth_jump_without_image_cut(filt: ClipFilter, seed: int) -> None:
    rgb, depth = make_clip(seed)
    depth[8:] *= 3.0  # depth rescaled mid-clip, RGB continuous
    report = filt.check_clip(rgb, depth)
    assert report.reasons == [DEPTH_JUMP]
    assert report.depth_cuts == [8]
    assert report.scores["max_log_depth_jump"] == pytest.approx(np.log(3.0), abs=0.02)


@pytest.mark.parametrize(("seed", "lag"), [(0, 2), (1, 2), (2, 2), (0, -2)])
def test_depth_shifted_in_time_is_rejected(filt: ClipFilter, seed: int, lag: int) -> None:
    rgb, depth = make_clip(seed, t=T + 2)
    if lag > 0:  # depth[t] shows the scene at t + 2
        rgb, depth = rgb[:T], depth[2:]
    else:  # depth[t] shows the scene at t - 2
        rgb, depth = rgb[2:], depth[:T]
    report = filt.check_clip(rgb, depth)
    assert not report.passed
    assert TEMPORAL_MISALIGNMENT in report.reasons
    assert SCENE_CUT not in report.reasons and DEPTH_JUMP not in report.reasons
    # corr(rgb motion[t], depth motion[t + l]) peaks where depth motion[t + l] = true motion[t]
    assert report.scores["motion_best_lag"] == -lag
    assert report.scores["motion_corr_lag0"] < 0.4  # measured 0.15-0.31
    # the depth edges agree best with the image edges of the frame they were rendered for
    assert report.scores["edge_best_lag"] == -lag
    assert report.scores["edge_lag_gain"] > 0.8  # measured 1.19-1.78 on 8 seeds (threshold 0.25)


@pytest.mark.parametrize(("seed", "dy", "dx"), [(0, 0, 4), (1, 0, 4), (2, 0, 4), (0, 4, 0), (1, 4, 0)])
def test_depth_shifted_in_space_is_rejected(filt: ClipFilter, seed: int, dy: int, dx: int) -> None:
    rgb, depth = make_clip(seed)
    report = filt.check_clip(rgb, shift_depth(depth, dy, dx))
    assert report.reasons == [EDGE_MISALIGNMENT]
    # depth moved by (dy, dx) matches image edges at -(dy, dx) (measured exactly on 8 seeds)
    assert abs(report.scores["edge_offset_dy"] + dy) <= 1 and abs(report.scores["edge_offset_dx"] + dx) <= 1
    assert report.scores["edge_offset_px"] >= 3
    assert report.scores["edge_offset_gain"] > 2.0  # measured 2.66-3.63 on 8 seeds (threshold 1.7)
    assert report.scores["edge_contrast"] < clean_report(seed).scores["edge_contrast"]


@pytest.mark.parametrize("seed", SEEDS)
def test_depth_from_another_clip_is_rejected(filt: ClipFilter, seed: int) -> None:
    rgb, _ = make_clip(seed)
    _, other = make_clip(seed + 100)
    report = filt.check_clip(rgb, other)
    assert EDGE_MISALIGNMENT in report.reasons
    assert report.scores["edge_contrast"] < 1.1  # measured 0.92-1.05 on 8 seeds: no better than chance


def test_scene_check_can_be_disabled_depth_jump_still_runs() -> None:
    rgb_a, depth_a = make_clip(0)
    rgb_b, depth_b = make_clip(100, bg_hue=0.1)
    rgb = np.concatenate([rgb_a[:8], rgb_b[8:]])
    depth = np.concatenate([depth_a[:8], 4.0 * depth_b[8:]])
    report = ClipFilter(use_scenedetect=False).check_clip(rgb, depth)
    assert report.reasons == [DEPTH_JUMP] and report.scene_cuts == [] and report.depth_cuts == [8]
    assert "max_content_score" not in report.scores


def test_invalid_depth_frames_are_flagged(filt: ClipFilter) -> None:
    rgb, depth = make_clip(0)
    depth[5] = np.inf
    depth[6] = 0.0
    report = filt.check_clip(rgb, depth)
    assert INVALID_DEPTH in report.reasons
    assert report.scores["min_valid_fraction"] == 0.0


def test_partially_invalid_depth_is_fine(filt: ClipFilter) -> None:
    rgb, depth = make_clip(1)
    depth[:, :, :6] = np.inf  # a strip without depth, e.g. sky or sensor border
    report = filt.check_clip(rgb, depth)
    assert report.passed, report.messages


def test_static_flat_clip_skips_unmeasurable_checks(filt: ClipFilter) -> None:
    rgb = np.full((6, 32, 32, 3), 128, np.uint8)
    depth = np.full((6, 32, 32), 5.0, np.float32)
    report = filt.check_clip(rgb, depth)
    assert report.passed
    assert np.isnan(report.scores["edge_contrast"]) and np.isnan(report.scores["motion_corr_lag0"])


# ----------------------------------------------------------------------------------------------
# building blocks
# ----------------------------------------------------------------------------------------------


def test_detect_scene_cuts_on_hard_cut() -> None:
    rgb = np.zeros((6, 32, 32, 3), np.uint8)
    rgb[:3] = (30, 60, 200)
    rgb[3:] = (220, 180, 20)
    cuts, scores = detect_scene_cuts(rgb)
    assert cuts == [3]
    assert scores.shape == (6,) and scores[3] > 27 and scores[[1, 2, 4, 5]].max() == 0


def test_depth_jumps_hand_computed() -> None:
    depth = np.ones((4, 8, 8), np.float32)
    depth[2:] = np.e  # median log depth 0, 0, 1, 1
    cuts, largest = depth_jumps(depth, max_log_jump=0.5)
    assert cuts == [2] and largest == pytest.approx(1.0, abs=1e-6)
    depth[1] = np.inf  # frame without valid depth: jumps next to it are not measured
    cuts, largest = depth_jumps(depth, max_log_jump=0.5)
    assert cuts == [] and largest == pytest.approx(0.0)


def test_validation_errors(filt: ClipFilter) -> None:
    rgb, depth = make_clip(0, t=4)
    with pytest.raises(ValueError, match=r"rgb must be a uint8 numpy array \[T,H,W,3\]"):
        filt.check_clip(rgb.astype(np.float32), depth)
    with pytest.raises(ValueError, match=r"depth must be a float numpy array \[T,H,W\]"):
        filt.check_clip(rgb, depth[..., None])
    with pytest.raises(ValueError, match="must agree"):
        filt.check_clip(rgb[:3], depth)
    with pytest.raises(ValueError, match="T >= 2"):
        filt.check_clip(rgb[:1], depth[:1])
    bad = depth.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        validate_clip(rgb, bad)
    with pytest.raises(ValueError, match="max_log_depth_jump must be > 0"):
        ClipFilter(max_log_depth_jump=0.0)
    with pytest.raises(ValueError, match="max_lag must be an int >= 0"):
        ClipFilter(max_lag=-1)
    with pytest.raises(ValueError, match=r"min_valid_fraction must be in \[0, 1\)"):
        ClipFilter(min_valid_fraction=1.0)
    with pytest.raises(ValueError, match="min_edge_contrast must be > 0"):
        ClipFilter(min_edge_contrast=0.0)
    with pytest.raises(ValueError, match="edge_lag_margin must be >= 0"):
        ClipFilter(edge_lag_margin=-0.1)


def test_depth_discontinuities_ignore_oblique_planes() -> None:
    """A steep floor plane (depth 1-50 m over the frame) has no occlusion edge; a box in front has one."""
    h = w = 32
    v = np.arange(h, dtype=np.float32)[:, None].repeat(w, 1)  # row index
    disparity = 1.0 - v / h * 0.98  # affine disparity of a plane
    depth = (1.0 / disparity)[None].repeat(2, 0)  # [2,H,W]
    assert not depth_discontinuities(depth).any()
    depth[:, 10:20, 10:20] = 0.5  # a box in front
    edges = depth_discontinuities(depth)
    assert edges[:, 10:20, 10:20].any() and not edges[:, :6].any()


def test_content_spikes_tell_a_cut_from_steady_fast_motion() -> None:
    from dav_core.filtering import content_spikes

    steady = np.array([0.0, 30, 32, 29, 31, 30, 33, 30])  # fast pan / noise: every frame changes a lot
    cut = np.array([0.0, 5, 6, 5, 60, 6, 5, 6])  # one spike at frame 4
    assert content_spikes(steady).max() < 1.2
    spikes = content_spikes(cut)
    assert int(np.argmax(spikes)) == 4 and spikes[4] == pytest.approx(60 / 5.5)
    assert content_spikes(np.zeros(5)).max() == 0  # the floor keeps flat clips finite
    assert ClipFilter(scene_spike_ratio=0).scene_spike_ratio == 0
    with pytest.raises(ValueError, match="scene_spike_ratio"):
        ClipFilter(scene_spike_ratio=-1)
