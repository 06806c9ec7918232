"""Window 0 = the model's own interpolation window: stated by a bundle, else the published model's."""

from __future__ import annotations

import dataclasses

import pytest

from dav_core.longvideo.settings import PUBLISHED_WINDOW, LongVideoSettings, model_window
from dav_core.models.default import BUNDLED_MODEL
from dav_core.models.loading import load_dav, save_bundle


def test_the_bundled_model_states_its_window():
    model = load_dav(BUNDLED_MODEL, components=("unet", "vae"))
    assert model.interpolation_window == 8  # trained on 3-6 frame windows; 12 and 16 measured worse
    assert LongVideoSettings(window=0).for_model(model).window == 8


def test_a_checkpoint_without_a_window_gets_the_published_one(tiny_dav_dir, tiny_model):
    assert tiny_model.interpolation_window is None  # the published folder layout states none
    assert LongVideoSettings(window=0).for_model(tiny_model).window == PUBLISHED_WINDOW == 16
    assert LongVideoSettings(window=5).for_model(tiny_model).window == 5  # a set window is kept
    assert model_window(12, tiny_model) == 12


def test_bundles_keep_the_window(tiny_model, tmp_path):
    model = dataclasses.replace(tiny_model, interpolation_window=11)
    save_bundle(model, tmp_path / "m.safetensors")
    assert load_dav(tmp_path / "m.safetensors", components=("unet", "vae")).interpolation_window == 11


def test_an_unresolved_window_is_not_planned():
    with pytest.raises(ValueError, match="window 0 means the model's own: call settings.for_model"):
        LongVideoSettings(window=0).plan(100)
    with pytest.raises(ValueError, match="window must be 0 .* or >= 3, got 2"):
        LongVideoSettings(window=2)


def test_the_model_window_reaches_the_long_video_plan(tiny_model):
    """stream_depth plans with the model's window: 100 frames at 16 are 8 windows of 12-13 frames."""
    settings = LongVideoSettings(window=0, max_keyframes_per_pass=8).for_model(tiny_model)
    plan = settings.plan(100)
    assert max(len(w) for w in plan.windows) <= 16 and len(plan.windows) == -(-99 // 15)
    assert plan.unet_frames_per_output_frame <= 1.15
