"""Weight compatibility: our model code on the official tiny checkpoints reproduces the official outputs."""

from __future__ import annotations

import json

import pytest
import torch

from dav_core.denoise import denoise_latents
from dav_core.models.loading import COMPONENT_CLASSES
from dav_core.models.vae import encode_frames
from dav_core.sampling import flow_match_sigmas, timesteps_for

TOL = 1e-4


def max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a.float() - b.float()).abs().max().item()


def test_unet_default_positions(tiny_model, parity):
    out = tiny_model.unet(parity["unet.sample"], parity["unet.timestep"])
    assert max_err(out, parity["unet.out_default_positions"]) <= TOL


def test_unet_given_positions(tiny_model, parity):
    out = tiny_model.unet(
        parity["unet.sample"], parity["unet.timestep"], position_ids=parity["unet.position_ids"]
    )
    assert max_err(out, parity["unet.out_given_positions"]) <= TOL
    # the positions matter: the default-position output is far from this one
    assert max_err(out, parity["unet.out_default_positions"]) > 100 * TOL


def test_unet_rope_depends_only_on_relative_positions(tiny_model, parity):
    positions = parity["unet.position_ids"]
    out = tiny_model.unet(parity["unet.sample"], parity["unet.timestep"], position_ids=positions + 1000)
    assert max_err(out, parity["unet.out_given_positions"]) <= TOL


def test_interp_unet(tiny_model, parity):
    out = tiny_model.unet_interp(parity["unet_interp.sample"], 250.0)
    assert max_err(out, parity["unet_interp.out"]) <= TOL


def test_vae_encode_and_decode(tiny_model, parity):
    latents = encode_frames(tiny_model.vae, parity["vae.rgb"])
    assert max_err(latents, parity["vae.latent_scaled"]) <= TOL
    vae = tiny_model.vae
    decoded = vae.decode(parity["vae.latent_scaled"] / vae.config.scaling_factor, num_frames=4).sample
    assert max_err(decoded, parity["vae.decoded"]) <= TOL


def test_schedule_matches_reference(tiny_model, parity):
    sigmas = flow_match_sigmas(3, tiny_model.scheduler_config)
    assert max_err(sigmas, parity["window.sigmas"]) <= 1e-7
    assert max_err(timesteps_for(sigmas, tiny_model.scheduler_config), parity["window.timesteps"]) <= 1e-4


def test_three_step_window(tiny_model, parity):
    latents = encode_frames(tiny_model.vae, parity["window.video01"][0] * 2 - 1)[None]  # [1,6,4,8,8]
    out = denoise_latents(
        tiny_model.unet,
        latents,
        parity["window.noise"],
        steps=3,
        scheduler_config=tiny_model.scheduler_config,
    )
    assert max_err(out, parity["window.depth_latent"]) <= TOL


@pytest.mark.parametrize("component", ["unet", "unet_interp", "vae"])
def test_full_size_model_has_the_published_keys_and_shapes(reference_dir, component):
    manifest = json.loads((reference_dir / "full_size_state_dict_manifest.json").read_text())[component]
    with torch.device("meta"):
        module = COMPONENT_CLASSES[component].from_config(manifest["config"])
    shapes = {k: list(v.shape) for k, v in module.state_dict().items()}
    assert shapes == manifest["keys"]
    assert sum(p.numel() for p in module.parameters()) == manifest["params"]
