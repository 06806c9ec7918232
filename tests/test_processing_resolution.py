"""The model's own processing resolution: stored in bundles, used when max_resolution is 0."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dav_core.depth import predict_depth_window
from dav_core.models.loading import load_dav, save_bundle
from dav_core.settings import DEFAULT_RESOLUTION, DepthSettings, model_resolution


def test_bundle_round_trips_the_processing_resolution(tiny_model, tmp_path):
    assert tiny_model.processing_resolution is None  # the published layout states none
    save_bundle(tiny_model, tmp_path / "plain.safetensors")
    assert load_dav(tmp_path / "plain.safetensors").processing_resolution is None
    save_bundle(replace(tiny_model, processing_resolution=128), tmp_path / "stated.safetensors")
    assert load_dav(tmp_path / "stated.safetensors").processing_resolution == 128


def test_zero_means_the_models_own_resolution(tiny_model):
    assert model_resolution(0, tiny_model) == DEFAULT_RESOLUTION == 960
    assert model_resolution(0, replace(tiny_model, processing_resolution=64)) == 64
    assert model_resolution(256, replace(tiny_model, processing_resolution=64)) == 256  # explicit wins
    assert model_resolution(None, tiny_model) is None  # no limit


def test_prediction_runs_at_the_models_resolution(tiny_model):
    frames = np.random.default_rng(0).uniform(0, 1, (2, 96, 160, 3)).astype(np.float32)
    at_64 = replace(tiny_model, processing_resolution=64)
    auto = predict_depth_window(at_64, frames, DepthSettings(steps=1))
    explicit = predict_depth_window(tiny_model, frames, DepthSettings(steps=1, max_resolution=64))
    full = predict_depth_window(tiny_model, frames, DepthSettings(steps=1, max_resolution=160))
    assert auto.shape == explicit.shape == (2, 96, 160)
    np.testing.assert_array_equal(auto.numpy(), explicit.numpy())
    assert np.abs(auto.numpy() - full.numpy()).max() > 1e-4


def test_max_resolution_below_the_model_multiple_is_rejected():
    for value in (-1, 1, 63):
        with pytest.raises(ValueError, match=rf"max_resolution must be >= 64, got {value} \(0: the model's own"):
            DepthSettings(max_resolution=value)
    DepthSettings(max_resolution=64)
    DepthSettings(max_resolution=0)
