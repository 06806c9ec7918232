"""Window 0 = the model's own interpolation window: stated by a bundle, else the published model's."""

from __future__ import annotations

import dataclasses

import pytest

from dav_core.models.default import BUNDLED_MODEL
from dav_core.models.loading import load_dav, save_bundle
from dav_core.run import resolve_run
from dav_core.settings import PUBLISHED_WINDOW, LongVideoSettings, model_window


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


def test_window_and_overlap_are_checked_before_any_model():
    with pytest.raises(ValueError, match="window must be 0 .* or >= 3, got 2"):
        LongVideoSettings(window=2)
    with pytest.raises(ValueError, match="^overlap must be at most window - 3 = 5, got 6"):
        LongVideoSettings(window=8, overlap=6)
    LongVideoSettings(window=0, overlap=6)  # the model's own window is checked once resolved


def test_the_model_window_reaches_the_long_video_plan(tiny_model):
    """stream_depth plans with the model's window: 100 frames at 16 are 8 windows of 12-13 frames."""
    settings = LongVideoSettings(window=0, max_keyframes_per_pass=8, memory="off")
    plan = resolve_run(tiny_model, settings, 100, (64, 64)).plan
    assert max(len(w) for w in plan.windows) <= 16 and len(plan.windows) == -(-99 // 15)
    assert plan.unet_frames_per_output_frame <= 1.15
