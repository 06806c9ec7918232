"""Sampling schedule, single-window depth, ensembling, determinism and input validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from dav_core.depth import predict_depth_window
from dav_core.ensemble import ensemble_disparity
from dav_core.normalization import depth_to_disparity, normalize_depth
from dav_core.resize import FrameGeometry
from dav_core.sampling import euler_sample, flow_match_sigmas, timesteps_for
from dav_core.settings import DepthSettings
from tests.helpers import random_frames


@pytest.mark.parametrize("steps", [1, 2, 3, 10])
@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_sigmas_match_diffusers_scheduler(steps, shift):
    config = {"num_train_timesteps": 1000, "shift": shift}
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
    scheduler.set_timesteps(steps)
    sigmas = flow_match_sigmas(steps, config)
    torch.testing.assert_close(sigmas, scheduler.sigmas.float(), rtol=0, atol=1e-6)
    torch.testing.assert_close(timesteps_for(sigmas, config), scheduler.timesteps.float(), rtol=0, atol=1e-3)


def test_euler_sample_is_exact_for_straight_flows():
    # x_sigma = sigma*noise + (1-sigma)*data has constant velocity noise - data: Euler lands on data
    data, noise = torch.randn(2, 3), torch.randn(2, 3)
    sigmas = flow_match_sigmas(3, {})
    out = euler_sample(lambda x, t: noise - data, noise, sigmas, timesteps_for(sigmas, {}))
    torch.testing.assert_close(out, data)


def test_invalid_step_count():
    with pytest.raises(ValueError, match="steps must be >= 1"):
        flow_match_sigmas(0, {})
    with pytest.raises(ValueError, match="steps must be in 1..50"):
        DepthSettings(steps=0)


def test_same_seed_same_depth_different_seed_differs(tiny_model):
    frames = random_frames(4, 48, 40)
    a = predict_depth_window(tiny_model, frames, DepthSettings(seed=7))
    b = predict_depth_window(tiny_model, frames, DepthSettings(seed=7))
    c = predict_depth_window(tiny_model, frames, DepthSettings(seed=8))
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-4


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (1, 1), (130, 70)])
def test_output_has_input_size(tiny_model, size):
    frames = random_frames(3, *size)
    depth = predict_depth_window(tiny_model, frames, DepthSettings(max_resolution=64))
    assert depth.shape == (3, *size)
    assert depth.min() >= 0 and depth.max() <= 1


def test_single_frame_and_numpy_input(tiny_model):
    depth = predict_depth_window(tiny_model, random_frames(1, 20, 30).numpy())
    assert depth.shape == (1, 20, 30)


def test_ensemble_runs_and_differs_from_single_sample(tiny_model):
    frames = random_frames(4, 48, 40)
    single = predict_depth_window(tiny_model, frames, DepthSettings(seed=3))
    ensembled = predict_depth_window(tiny_model, frames, DepthSettings(seed=3, ensemble=3))
    assert ensembled.shape == single.shape
    assert (ensembled - single).abs().max() > 0


@pytest.mark.parametrize(
    "frames,message",
    [
        (torch.rand(0, 8, 8, 3), "frames is empty"),
        (torch.rand(2, 8, 8), r"frames must be \[T,H,W,3\]"),
        (torch.rand(2, 8, 8, 4), r"frames must be \[T,H,W,3\]"),
        (torch.full((2, 8, 8, 3), float("nan")), "NaN"),
        (torch.rand(2, 8, 8, 3) * 255, r"frames must be in \[0,1\]"),
    ],
)
def test_bad_frames_are_rejected(tiny_model, frames, message):
    with pytest.raises(ValueError, match=message):
        predict_depth_window(tiny_model, frames)


def test_geometry_pads_and_never_crops():
    geometry = FrameGeometry.for_input(100, 250, max_resolution=128)
    assert geometry.resized_size == (51, 128)
    assert geometry.padded_size == (64, 128)
    frames = torch.rand(2, 3, 100, 250)
    padded = geometry.to_model(frames)
    assert padded.shape == (2, 3, 64, 128)
    # padding replicates the last row of the resized image
    torch.testing.assert_close(padded[:, :, 51:], padded[:, :, 50:51].expand(-1, -1, 13, -1))
    assert geometry.to_input(padded[:, 0]).shape == (2, 100, 250)
    with pytest.raises(ValueError, match="max_resolution must be >= 64"):
        FrameGeometry.for_input(10, 10, max_resolution=32)


def test_geometry_round_trip_without_resize_is_exact():
    geometry = FrameGeometry.for_input(37, 53, max_resolution=None)
    maps = torch.rand(2, 37, 53)
    padded = geometry.to_model(maps[:, None])[:, 0]
    assert torch.equal(geometry.to_input(padded), maps)


def test_ensemble_undoes_per_member_scale_and_shift():
    truth = torch.rand(3, 8, 8) * 0.8 + 0.1
    members = torch.stack([truth, truth * 0.5 + 0.2, truth * 1.2 - 0.05])
    combined, spread = ensemble_disparity(members)
    # aligned to the median member, all three agree exactly
    torch.testing.assert_close(spread, torch.zeros_like(spread), atol=1e-5, rtol=0)
    correlation = np.corrcoef(combined.flatten(), truth.flatten())[0, 1]
    assert correlation > 0.9999


def test_ensemble_rejects_an_outlier_member():
    truth = torch.rand(2, 6, 6)
    noisy = truth.clone()
    noisy[0, 0, 0] = 50.0
    combined, _ = ensemble_disparity(torch.stack([truth, truth, noisy]))
    assert (combined - truth.clamp(0, 1)).abs().max() < 0.05


def test_marigold_normalisation_maps_percentiles():
    values = torch.arange(101.0).reshape(1, 1, 101)  # d2 = 2, d98 = 98 exactly
    normalized = normalize_depth(values)[0, 0]
    # ((d - d2)/(d98 - d2) - 0.5) * 2, clipped to [-1, 1]
    torch.testing.assert_close(normalized[[2, 26, 50, 98]], torch.tensor([-1.0, -0.5, 0.0, 1.0]))
    assert normalized[0] == -1 and normalized[100] == 1


def test_normalisation_ignores_invalid_pixels():
    depth = torch.tensor([[[1.0, 2.0, float("inf"), 3.0]]])
    valid = torch.tensor([[[True, True, False, True]]])
    normalized = normalize_depth(depth, valid, low=0, high=100)
    torch.testing.assert_close(normalized, torch.tensor([[[-1.0, 0.0, -1.0, 1.0]]]))
    with pytest.raises(ValueError, match="no valid values"):
        normalize_depth(depth, torch.zeros_like(valid))
    torch.testing.assert_close(depth_to_disparity(depth), torch.tensor([[[1.0, 0.5, 0.0, 1 / 3]]]))
