"""`--compile`: torch.compile'd models give the eager output within 1e-4."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from dav_core.models.default import BUNDLED_MODEL
from dav_core.models.loading import load_dav
from dav_core.stages import LongVideoSettings, stream_depth

pytestmark = pytest.mark.usefixtures("single_thread")

HAS_COMPILER = any(shutil.which(cc) for cc in ("g++", "clang++")) and (
    Path(sysconfig.get_paths()["include"]) / "Python.h"
).is_file()  # TorchInductor builds C++ against Python's headers


def _depth(model, frames):
    settings = LongVideoSettings(steps=2, max_resolution=64, window=0, max_keyframes_per_pass=4)
    return np.stack([f.disparity for f in stream_depth(model, frames, settings)])


@pytest.mark.slow
def test_every_stage_compiles_and_matches_eager():
    """Every stage of a long video (keyframe passes, windows, encode, decode with its float32 output
    convolutions) goes through TorchDynamo; ``aot_eager`` runs the captured graphs without code
    generation, so this checks the capture itself, quickly."""
    frames = np.random.default_rng(0).random((12, 64, 64, 3), dtype=np.float32)
    eager = _depth(load_dav(BUNDLED_MODEL), frames)
    torch._dynamo.reset()
    compiled = _depth(load_dav(BUNDLED_MODEL).compile(backend="aot_eager", fullgraph=False), frames)
    np.testing.assert_allclose(compiled, eager, atol=1e-4, rtol=0)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_COMPILER, reason="TorchInductor needs a C++ compiler and the Python headers on the CPU")
def test_inductor_unet_matches_eager():
    """The generated kernels (TorchInductor, what --compile uses) on the reference UNet input."""
    model = load_dav(BUNDLED_MODEL, components=("unet", "vae"))
    sample = torch.randn(1, 4, 8, 8, 8, generator=torch.Generator().manual_seed(0))  # [B,F,C,h,w]
    positions = torch.arange(4)[None]
    with torch.inference_mode():
        eager = model.unet(sample, torch.tensor(500.0), position_ids=positions)
        torch._dynamo.reset()
        model.compile()
        compiled = model.unet(sample, torch.tensor(500.0), position_ids=positions)
    assert (compiled - eager).abs().max().item() <= 1e-4
