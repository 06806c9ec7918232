"""`dav eval`: keyframes / windows / per-frame scored on a tiny synthetic dataset with the tiny model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from dav_core.commands.evaluate import METHODS, ground_truth_tae, parse_methods, score_prediction
from dav_core.synthetic import SyntheticClip, generate_clip, load_clip, write_clip
from dav_core.synthetic.dataset import clip_dirname
from tests.helpers import run_dav

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    # a room and open terrain: few near occluders, so exact depth scores a small TAE (close-up table
    # tops and outdoor posts leave a much higher floor, see test_ground_truth_tae_is_the_tae_of_exact_depth)
    for i, family in enumerate(("room", "terrain")):
        clip = generate_clip(i, frames=12, size=(64, 64), backend="auto", scene_type=family)
        write_clip(clip, root / clip_dirname(i))
    return root


def _perfect_disparity(clip: SyntheticClip) -> np.ndarray:
    safe = np.where(clip.valid, clip.depth, 1.0)
    return np.where(clip.valid, 1.0 / safe, 0.0).astype(np.float32)  # [T,H,W]


def _check_scores(scores: dict) -> None:
    for key in ("abs_rel", "delta1", "tae"):
        assert scores[key] is not None and math.isfinite(scores[key]), (key, scores)
    assert scores["abs_rel"] >= 0
    assert 0 <= scores["delta1"] <= 1
    assert scores["tae"] >= 0


def test_score_perfect_and_inconsistent_predictions(dataset):
    clip = load_clip(dataset / clip_dirname(0))
    perfect = _perfect_disparity(clip)
    scores = score_prediction(perfect, clip.depth, clip.valid, clip.intrinsics, clip.poses)
    assert scores["abs_rel"] < 1e-5
    assert scores["delta1"] == 1.0
    # not exactly 0: bilinear sampling at depth edges and moving objects; small for exact depth
    assert 0 <= scores["tae"] < 2.0

    # the video protocol is invariant to one global scale/shift of the disparity ...
    shifted = score_prediction(perfect * 3 + 0.5, clip.depth, clip.valid, clip.intrinsics, clip.poses)
    assert shifted["abs_rel"] < 1e-5
    assert shifted["tae"] == pytest.approx(scores["tae"], rel=1e-4)
    # ... but not to a different scale per window, which is what the `windows` baseline suffers from
    split = perfect.copy()
    split[6:] = split[6:] * 2.0 + 0.05
    broken = score_prediction(split, clip.depth, clip.valid, clip.intrinsics, clip.poses)
    assert broken["abs_rel"] > 0.05
    assert broken["tae"] > scores["tae"] + 1.0

    one = score_prediction(perfect[:1], clip.depth[:1], clip.valid[:1], clip.intrinsics, clip.poses[:1])
    assert one["tae"] is None and one["abs_rel"] < 1e-5


def test_ground_truth_tae_is_the_tae_of_exact_depth(dataset):
    """The floor reported beside every TAE: what exact depth scores on the same clip."""
    clip = load_clip(dataset / clip_dirname(0))
    floor = ground_truth_tae(clip)
    exact = score_prediction(_perfect_disparity(clip), clip.depth, clip.valid, clip.intrinsics, clip.poses)
    assert floor is not None and 0 < floor < 2.0
    assert floor == pytest.approx(exact["tae"], rel=1e-3)  # exact disparity aligns to the GT itself


def test_vae_floor_is_exact_depth_through_the_models_vae(dataset):
    """The ceiling reported with ``vae-floor``: the bundled VAE reproduces exact depth closely (far better
    than the model predicts it), and a VAE whose decoder is broken shows up in it."""
    import torch

    from dav_core.commands.evaluate import predict_method, vae_floor_disparity
    from dav_core.models.default import BUNDLED_MODEL
    from dav_core.models.loading import load_dav
    from dav_core.settings import LongVideoSettings

    model = load_dav(BUNDLED_MODEL)
    settings = LongVideoSettings(steps=3, max_resolution=0).for_model(model)
    clip = load_clip(dataset / clip_dirname(0))  # a room
    floor = vae_floor_disparity(model, clip, settings)
    assert floor.shape == clip.depth.shape
    floor_scores = score_prediction(floor, clip.depth, clip.valid, clip.intrinsics, clip.poses)
    frames = clip.rgb.astype(np.float32) / 255.0
    predicted = predict_method(model, "keyframes", frames, settings, settings.window)
    model_scores = score_prediction(predicted, clip.depth, clip.valid, clip.intrinsics, clip.poses)
    assert floor_scores["abs_rel"] < 0.08 and floor_scores["delta1"] > 0.95, floor_scores
    assert floor_scores["abs_rel"] < 0.5 * model_scores["abs_rel"], (floor_scores, model_scores)

    with torch.no_grad():
        model.vae.decoder.conv_in.weight.zero_()  # the decoder ignores its latents
    broken = vae_floor_disparity(model, clip, settings)
    broken_scores = score_prediction(broken, clip.depth, clip.valid, clip.intrinsics, clip.poses)
    assert broken_scores["abs_rel"] > 2 * floor_scores["abs_rel"], (broken_scores, floor_scores)


@pytest.mark.slow
def test_eval_command_all_methods(dataset, tiny_dav_dir, tmp_path):
    out = tmp_path / "eval.json"
    run = run_dav("eval", "--model", tiny_dav_dir, "--data", dataset, "--json", out, "--steps", "1", "--max-resolution", "64")
    assert run.code == 0, run.err
    table = run.out
    assert "2 clip(s)" in table
    for method in METHODS:
        assert method in table

    report = json.loads(out.read_text())
    assert report["methods"] == list(METHODS)
    assert report["num_clips"] == 2
    assert [c["name"] for c in report["clips"]] == [clip_dirname(0), clip_dirname(1)]
    for clip in report["clips"]:
        assert clip["frames"] == 12 and clip["size"] == [64, 64]
        assert 0 <= clip["gt_tae"] < 2.0  # the exact depth's own TAE on the clip
        for method in METHODS:
            _check_scores(clip["results"][method])
            assert clip["results"][method]["fps"] > 0
    for method in METHODS:
        mean = report["mean"][method]
        _check_scores(mean)
        assert mean["clips"] == 2 and mean["frames"] == 24 and mean["fps"] > 0
        expected = np.mean([c["results"][method]["abs_rel"] for c in report["clips"]])
        assert mean["abs_rel"] == pytest.approx(expected)
        assert mean["gt_tae"] == pytest.approx(np.mean([c["gt_tae"] for c in report["clips"]]))
    families = report["families"]
    assert sorted(families) == sorted({c["scene_type"] for c in report["clips"]})
    for family, means in families.items():
        members = [c for c in report["clips"] if c["scene_type"] == family]
        for method in METHODS:
            assert means[method]["clips"] == len(members)
            expected = np.mean([c["results"][method]["tae"] for c in members])
            assert means[method]["tae"] == pytest.approx(expected)
    if len(families) > 1:
        assert "per scene family" in table


def test_eval_command_subset(dataset, tiny_dav_dir, tmp_path):
    out = tmp_path / "sub" / "eval.json"
    argv = ["eval", "--model", tiny_dav_dir, "--data", dataset, "--json", out, "--steps", "1", "--max-resolution", "64"]
    run = run_dav(*argv, "--methods", "windows", "--max-clips", "1", "--window", "5", "--no-warmup")
    assert run.code == 0 and "1 clip(s)" in run.out, run.err
    report = json.loads(out.read_text())
    assert report["methods"] == ["windows"] and report["num_clips"] == 1
    assert report["settings"]["window"] == 5
    _check_scores(report["mean"]["windows"])


def test_parse_methods():
    assert parse_methods("per-frame, keyframes,per-frame") == ["per-frame", "keyframes"]
    with pytest.raises(ValueError, match="--methods.*unknown: bogus"):
        parse_methods("keyframes,bogus")
    with pytest.raises(ValueError, match="--methods"):
        parse_methods(" , ")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--methods", "keyframes,nvds"], "--methods"),
        (["--steps", "0"], "--steps"),
        (["--max-clips", "0"], "--max-clips"),
    ],
)
def test_eval_bad_arguments(dataset, tmp_path, extra, message):
    # checked before any model is loaded, so a missing model does not matter
    run = run_dav("eval", "--model", tmp_path / "no-model", "--data", dataset, *extra)
    assert run.code == 2 and message in run.err


def test_eval_bad_data_dirs(tmp_path):
    from dav_core.cli import build_parser
    from dav_core.commands.evaluate import run

    missing = tmp_path / "missing"
    with pytest.raises(ValueError, match="does not exist"):
        run(build_parser().parse_args(["eval", "--data", str(missing)]))

    empty = tmp_path / "empty"
    (empty / ".tmp-clip_000000-x").mkdir(parents=True)  # an unfinished clip does not count
    (empty / "clip_000001").mkdir()  # nor does a folder without meta.json
    with pytest.raises(ValueError, match="no complete clip folders"):
        run(build_parser().parse_args(["eval", "--data", str(empty)]))

    afile = tmp_path / "file.txt"
    afile.write_text("x")
    run = run_dav("eval", "--data", afile)
    assert run.code == 2 and "not a directory" in run.err
