"""Half precision: what ``auto`` picks, and the depth error of bf16/fp16 against fp32."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dav_core.commands.evaluate import score_prediction
from dav_core.models import loading
from dav_core.models.default import BUNDLED_MODEL
from dav_core.models.loading import load_dav, resolve_dtype, unet_parameter_count
from dav_core.models.vae import decode_latents
from dav_core.stages import LongVideoSettings, stream_depth
from dav_core.synthetic import generate_clip

pytestmark = pytest.mark.usefixtures("single_thread")

LARGE = loading.FAST_BF16_MIN_PARAMETERS


@pytest.mark.parametrize(
    "device,fast_bf16,parameters,expected",
    [
        ("cuda", False, 10, torch.float16),
        ("cuda", True, LARGE, torch.float16),
        ("cpu", True, LARGE, torch.bfloat16),
        ("cpu", True, LARGE - 1, torch.float32),  # small models stay fp32: same output on every CPU
        ("cpu", True, None, torch.float32),  # size unknown: the safe choice
        ("cpu", False, LARGE, torch.float32),  # no native bf16: emulated, slower than fp32
        ("mps", True, LARGE, torch.float32),
    ],
)
def test_auto_precision(monkeypatch, device, fast_bf16, parameters, expected):
    monkeypatch.setattr(loading, "cpu_has_fast_bf16", lambda: fast_bf16)
    assert resolve_dtype("auto", device, parameters) == expected
    assert resolve_dtype("fp32", device, parameters) == torch.float32  # named precisions are kept
    assert resolve_dtype("bf16", device, parameters) == torch.bfloat16


def test_unet_parameter_count_reads_headers_only(tiny_dav_dir, tiny_model, tmp_path):
    expected = sum(p.numel() for p in tiny_model.unet.parameters())
    assert unet_parameter_count(tiny_dav_dir) == expected  # published folder layout
    bundle = tmp_path / "bundle.safetensors"
    loading.save_bundle(tiny_model, bundle)
    assert unet_parameter_count(bundle) == expected
    assert unet_parameter_count(tmp_path / "missing") is None
    (tmp_path / "broken.safetensors").write_bytes(b"not a header")
    assert unet_parameter_count(tmp_path / "broken.safetensors") is None


def test_load_dav_resolves_auto_by_model_size(monkeypatch, tiny_dav_dir):
    monkeypatch.setattr(loading, "cpu_has_fast_bf16", lambda: True)
    assert load_dav(tiny_dav_dir, dtype="auto", components=("unet", "vae")).dtype == torch.float32
    monkeypatch.setattr(loading, "FAST_BF16_MIN_PARAMETERS", 1000)  # as if the tiny UNet were large
    assert load_dav(tiny_dav_dir, dtype="auto", components=("unet", "vae")).dtype == torch.bfloat16
    model = load_dav(tiny_dav_dir, dtype="auto", components=("unet", "vae"), compute_device="cuda")
    assert model.dtype == torch.float16 and model.device.type == "cpu"  # decided for the compute device


@pytest.mark.slow
def test_half_precision_decode_returns_continuous_values(tiny_model):
    """bf16 keeps 8 significant bits: without the float32 output convolutions the decoded depth is
    rounded to a few hundred levels. With them it stays continuous, and the state dict is untouched."""
    latents = torch.randn(4, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        reference = decode_latents(tiny_model.vae, latents)
    model = load_dav(BUNDLED_MODEL, dtype="fp32", components=("unet", "vae"))
    half = load_dav(BUNDLED_MODEL, dtype="bf16", components=("unet", "vae"))
    assert half.vae.decoder.conv_out.weight.dtype == torch.bfloat16
    assert half.vae.state_dict().keys() == model.vae.state_dict().keys()
    with torch.inference_mode():
        full, out = decode_latents(model.vae, latents), decode_latents(half.vae, latents)
    assert out.dtype == torch.float32
    assert out.unique().numel() >= 0.5 * full.unique().numel()
    assert (out - full).norm() / full.norm() < 2e-2
    assert reference.shape == out.shape


@pytest.fixture(scope="module")
def fp32_depth():
    clip = generate_clip(990001, frames=24, size=(64, 64), backend="auto", scene_type="room")
    frames = clip.rgb.astype(np.float32) / 255.0
    settings = LongVideoSettings(steps=3, seed=0, max_resolution=64, window=8)
    model = load_dav(BUNDLED_MODEL, dtype="fp32")
    return clip, frames, settings, np.stack([f.disparity for f in stream_depth(model, frames, settings)])


# Measured on this clip (a room, 24 frames, keyframes + interpolation, 3 steps): bf16 relative L2 error
# 4.8e-3, mean absolute 1.8e-3, AbsRel 0.1563 vs 0.1557; fp16 4.9e-4 and 1.9e-4, AbsRel equal to 2e-5.
# The bounds leave ~2x margin.
@pytest.mark.slow
@pytest.mark.parametrize("precision,max_rel,max_mean_abs", [("bf16", 1e-2, 4e-3), ("fp16", 1e-3, 5e-4)])
def test_half_precision_depth_error_against_fp32(fp32_depth, precision, max_rel, max_mean_abs):
    clip, frames, settings, reference = fp32_depth
    model = load_dav(BUNDLED_MODEL, dtype=precision)
    depth = np.stack([f.disparity for f in stream_depth(model, frames, settings)])
    assert depth.dtype == np.float32 and np.isfinite(depth).all()
    rel = np.linalg.norm(depth - reference) / np.linalg.norm(reference)
    assert rel < max_rel and np.abs(depth - reference).mean() < max_mean_abs, (rel, np.abs(depth - reference).mean())
    assert len(np.unique(depth)) >= 0.5 * len(np.unique(reference))  # not rounded to a few levels
    scores = [score_prediction(d, clip.depth, clip.valid, clip.intrinsics, clip.poses) for d in (depth, reference)]
    assert abs(scores[0]["abs_rel"] - scores[1]["abs_rel"]) < 5e-3
