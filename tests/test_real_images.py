"""The real-image check: scores on scikit-image's Middlebury motorcycle, the baselines, the still camera."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dav_core import real_images as R
from tests.helpers import run_dav


@pytest.fixture(scope="module")
def motorcycle():
    return R.motorcycle()


def test_motorcycle_has_metric_depth_from_its_calibration(motorcycle):
    assert motorcycle.rgb.shape == (500, 741, 3) and motorcycle.rgb.dtype == np.uint8
    depth = motorcycle.depth[motorcycle.valid]
    assert 0.85 < motorcycle.valid.mean() < 0.99  # NaN disparity (occluded, unknown) is invalid
    assert 1.0 < depth.min() and depth.max() < 6.0  # a garage: about 2-5 m with this calibration
    assert (motorcycle.depth[~motorcycle.valid] == 0).all()


def test_exact_reversed_and_constant_predictions(motorcycle):
    disparity = np.where(motorcycle.valid, 1.0 / np.maximum(motorcycle.depth, 1e-3), 0.0)
    exact = R.score_image(disparity * 3 + 1, motorcycle.depth, motorcycle.valid)  # any affine copy
    assert exact["scale"] == pytest.approx(1 / 3, rel=1e-4) and exact["pearson"] == pytest.approx(1.0)
    assert exact["abs_rel"] < 1e-4 and exact["delta1"] == 1.0
    swapped = R.score_image(-disparity, motorcycle.depth, motorcycle.valid)
    assert swapped["scale"] < 0 and swapped["pearson"] == pytest.approx(-1.0)
    scores = R.score_with_baselines(disparity, motorcycle)
    assert scores["constant"]["pearson"] is None and scores["constant"]["scale"] == 0.0
    assert scores["ramp"]["scale"] > 0 and scores["ramp"]["pearson"] > 0.5  # the floor is near at the bottom
    assert R.passes(scores)
    assert not R.passes(R.score_with_baselines(-disparity, motorcycle))
    noisy = disparity + np.random.default_rng(0).normal(0, disparity.std() * 3, disparity.shape)
    assert not R.passes(R.score_with_baselines(noisy, motorcycle)), "weak signal must lose to the ramp"


def test_static_clip_moves_only_the_object(motorcycle):
    clip = R.static_camera_clip(motorcycle, frames=6, size=48)
    assert clip.frames.shape == (6, 32, 48, 3) and clip.moving.shape == (6, 32, 48)
    cols = [np.nonzero(m.any(0))[0] for m in clip.moving]
    assert cols[1].mean() < cols[-2].mean()  # left to right
    untouched = ~clip.moving[2] & ~clip.moving[3]
    assert np.array_equal(clip.frames[2][untouched], clip.frames[3][untouched])
    covered = clip.moving[2] & ~clip.moving[3]
    assert covered.any() and not np.array_equal(clip.frames[2][covered], clip.frames[3][covered])


def test_background_change_counts_background_only():
    moving = np.zeros((4, 32, 32), bool)
    moving[:, :8, :8] = True
    base = torch.linspace(0, 1, 32)[None, :, None].expand(4, 32, 32).clone()  # [T,H,W] a still ramp
    object_only = base.clone()
    object_only[:, :8, :8] = torch.rand(4, 8, 8)
    assert R.background_change(object_only, moving) == pytest.approx(0.0, abs=1e-6)
    flicker = base + torch.tensor([0.0, 0.05, 0.0, 0.05])[:, None, None]
    assert R.background_change(flicker, moving) > 0.02


@pytest.mark.slow
def test_eval_real_reports_the_table(tiny_dav_dir, tmp_path):
    out = tmp_path / "real.json"
    run = run_dav(
        "eval", "--model", tiny_dav_dir, "--real", "--json", out, "--steps", "1", "--max-resolution", "64",
        "--methods", "keyframes",
    )
    assert run.code == 0, run.err
    assert "motorcycle" in run.out and "ramp" in run.out and "static camera" in run.out
    report = json.loads(out.read_text())
    assert report["data"] is None and report["num_clips"] == 0
    moto = report["real"]["images"]["motorcycle"]
    assert set(moto) >= {"model", "constant", "ramp", "pass"}
    assert moto["pass"] == R.passes(moto)
    for kind in ("model", "ramp"):
        assert -1 <= moto[kind]["pearson"] <= 1 and moto[kind]["abs_rel"] > 0
    static = report["real"]["static"]
    assert set(static["background_change"]) == {"keyframes", "per-frame"}
    assert static["ratio_to_per_frame"]["per-frame"] == 1.0


def test_eval_needs_data_or_real(tiny_dav_dir):
    run = run_dav("eval", "--model", tiny_dav_dir)
    assert run.code == 2 and "--data" in run.err and "--real" in run.err
