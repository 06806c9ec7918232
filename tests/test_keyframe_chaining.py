"""Chaining keyframe passes: pin (flow trajectory), align (scale/shift) and none."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from dav_core.longvideo import keyframes as runner
from dav_core.longvideo.keyframes import align_pass_to_reference
from dav_core.longvideo.keyframes import solve_keyframe_passes as solve_keyframes
from dav_core.longvideo.plan import KeyframePass
from dav_core.settings import LongVideoSettings


def _linear_vae(monkeypatch):
    """Replace the VAE round trip by an exactly invertible map: disparity = channel mean."""
    monkeypatch.setattr(runner, "latents_to_disparity", lambda vae, z, chunk: z.mean(dim=1))
    monkeypatch.setattr(
        runner,
        "encode_normalized_depth",
        lambda vae, depth, chunk: ((depth + 1) / 2)[:, None].expand(-1, 4, -1, -1).clone(),
    )


def test_align_maps_the_shared_frames_onto_the_reference(monkeypatch):
    _linear_vae(monkeypatch)
    model = SimpleNamespace(vae=None, device=torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    base = torch.rand(5, 1, 6, 6, generator=g).expand(-1, 4, -1, -1) * 0.5 + 0.2  # [F,4,h,w]
    pass_latents = base.clone()
    reference = 1.3 * base[[0, 1]] + 0.05  # the earlier pass saw frames 0 and 1 in another scale
    aligned = align_pass_to_reference(model, pass_latents, [0, 1], reference, chunk_size=8)
    assert aligned.shape == pass_latents.shape
    torch.testing.assert_close(aligned[[0, 1]], reference, atol=1e-5, rtol=0)
    # the same scale/shift reaches the frames that only this pass has
    torch.testing.assert_close(aligned[2:], 1.3 * base[2:] + 0.05, atol=1e-5, rtol=0)


def _two_passes():
    return (
        KeyframePass(frames=(0, 4, 8, 12), anchors=()),
        KeyframePass(frames=(8, 12, 16, 20), anchors=(8, 12)),
    )


def _rgb(model, frames, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = w = 8
    return {f: torch.randn(4, h, w, generator=g) for f in frames}


@pytest.mark.parametrize("chaining", ["pin", "align", "none"])
def test_every_keyframe_solved_once_and_shared_ones_kept(tiny_model, chaining):
    passes = _two_passes()
    rgb = _rgb(tiny_model, (0, 4, 8, 12, 16, 20))
    settings = LongVideoSettings(steps=2, seed=3)
    solved = solve_keyframes(tiny_model, rgb, passes, settings, chaining=chaining)
    first = solve_keyframes(tiny_model, rgb, passes[:1], settings, chaining=chaining)
    assert sorted(solved) == [0, 4, 8, 12, 16, 20]
    for f in (0, 4, 8, 12):  # the first pass's keyframes are never replaced by a later pass
        torch.testing.assert_close(solved[f], first[f], atol=0, rtol=0)


def test_chaining_changes_only_the_later_passes(tiny_model):
    passes = _two_passes()
    rgb = _rgb(tiny_model, (0, 4, 8, 12, 16, 20))
    settings = LongVideoSettings(steps=2, seed=3)
    results = {
        c: solve_keyframes(tiny_model, rgb, passes, settings, chaining=c) for c in ("pin", "align", "none")
    }
    for c in ("pin", "align"):
        assert (results[c][16] - results["none"][16]).abs().max() > 1e-4, c
        torch.testing.assert_close(results[c][0], results["none"][0], atol=0, rtol=0)


def test_unknown_chaining_is_rejected(tiny_model):
    with pytest.raises(ValueError, match="pass_chaining must be one of pin, align, none"):
        LongVideoSettings(pass_chaining="blend")
    with pytest.raises(ValueError, match="chaining must be one of"):
        solve_keyframes(tiny_model, {}, (), LongVideoSettings(), chaining="blend")
