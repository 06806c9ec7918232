"""Fitting in memory: traced estimates against measured CPU peaks, the planner's choices for GPU budgets,
the memory option, and retrying a step after running out of memory."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from dav_core.memory.budget import GIB, parse_memory
from dav_core.memory.estimate import ModelSpec, activation_bytes, stage_peak, traced_activation_bytes
from dav_core.memory.measure import measure
from dav_core.memory.plan import MARGIN, MEMORY_FIELDS, fit_settings, plan_memory
from dav_core.resize import FrameGeometry
from dav_core.retry import OutOfMemory
from dav_core.stages import LongVideoSettings, stream_depth

pytestmark = pytest.mark.usefixtures("single_thread")

SIZE = (128, 128)  # padded frame size of the estimate checks
measures_rss = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="measuring a call's peak needs Linux /proc"
)


@pytest.fixture(scope="module")
def full_size_spec(reference_dir):
    manifest = json.loads((reference_dir / "full_size_state_dict_manifest.json").read_text())
    return lambda dtype: ModelSpec.from_configs({k: v["config"] for k, v in manifest.items()}, dtype)


def check_estimate(spec: ModelSpec, stage: str, n: int) -> None:
    """Estimated peak of one call within 25 % of the peak measured in a fresh process, for the
    activations alone and with the weights of the stage's component."""
    measured = measure(spec, stage, n, SIZE, threads=1)
    estimated = activation_bytes(spec, stage, n, SIZE, device_type="cpu")
    weights, activations = measured["weights"], measured["activations"]
    ratios = estimated / activations, (weights + estimated) / (weights + activations)
    print(f"{stage} n={n}: estimated {estimated / 2**20:.1f} MiB, measured {activations / 2**20:.1f} MiB")
    assert all(0.75 <= r <= 1.25 for r in ratios), (stage, n, estimated, measured)


# --------------------------------------------------------------------------- estimates


@pytest.mark.slow
@measures_rss
@pytest.mark.parametrize(("stage", "n"), [("encode", 16), ("decode", 16), ("keyframes", 32), ("windows", 8)])
def test_tiny_estimates_match_measured_cpu_peaks(tiny_model, stage, n):
    check_estimate(ModelSpec.from_model(tiny_model), stage, n)


@pytest.mark.slow
@measures_rss
@pytest.mark.parametrize(("stage", "n"), [("encode", 2), ("decode", 2), ("keyframes", 2), ("windows", 2)])
def test_full_size_estimates_match_measured_cpu_peaks(full_size_spec, stage, n):
    """Random full-size weights in fp32 (the UNet alone is 5.7 GB); one call at 128x128."""
    check_estimate(full_size_spec(torch.float32), stage, n)


@pytest.mark.parametrize("stage", ["encode", "keyframes", "windows", "decode"])
def test_estimates_are_linear_in_the_batch(tiny_model, stage):
    spec = ModelSpec.from_model(tiny_model)
    traced = traced_activation_bytes(spec, stage, 12, SIZE)
    assert abs(activation_bytes(spec, stage, 12, SIZE) - traced) <= 0.02 * traced


def test_weights_counted_from_the_configs_match_the_published_parameter_count(full_size_spec):
    spec = full_size_spec(torch.float16)
    params = 1_422_813_482 + 1_422_836_522 + 97_742_847  # unet, unet_interp, vae (manifest)
    assert params * 2 <= spec.weight_bytes <= params * 2 + 2**20  # plus a few buffers


# --------------------------------------------------------------------------- the planner


PLAN_SIZES = {  # input size -> padded size the published model works at (its processing resolution 960)
    (540, 960): FrameGeometry.for_input(540, 960, 960).padded_size,
    (1080, 1920): FrameGeometry.for_input(1080, 1920, 960).padded_size,
}


@pytest.mark.slow
@pytest.mark.parametrize("frame_size", list(PLAN_SIZES))
def test_full_size_plans_fit_gpu_budgets_and_grow_with_them(full_size_spec, frame_size):
    spec = full_size_spec(torch.float16)
    # the default settings: the model's own window, which the planner may shorten to fit (as fit_settings does)
    plans = [plan_memory(spec, PLAN_SIZES[frame_size], gb * GIB, lower_window=True) for gb in (8, 12, 16, 24)]
    for plan in plans:
        assert plan.fits, plan.summary()
        assert max(plan.peaks.values()) <= plan.budget * (1 - MARGIN), plan.summary()
    for smaller, larger in zip(plans, plans[1:], strict=False):
        assert all(getattr(smaller, f) <= getattr(larger, f) for f in MEMORY_FIELDS)
    assert plans[-1].max_keyframes_per_pass == 32 and plans[0].chunk_size < plans[-1].chunk_size


def test_a_budget_below_the_weights_is_refused_naming_the_option(tiny_model):
    with pytest.raises(ValueError, match=r"^memory 1MB: the smallest sizes need about .*give more memory"):
        fit_settings(tiny_model, LongVideoSettings(max_resolution=64), (64, 64), "1MB")


def test_auto_keeps_settings_that_fit_and_a_budget_lowers_them(tiny_model):
    settings = LongVideoSettings(max_resolution=64, window=8)
    same, plan = fit_settings(tiny_model, settings, (48, 64), "auto", free_bytes=8 * GIB)
    assert same == settings and plan.fits
    unchanged, none = fit_settings(tiny_model, settings, (48, 64), "off")
    assert unchanged == settings and none is None
    tight = int(plan.peaks["decode"] / (1 - MARGIN) * 0.8)  # the decode of 16 frames no longer fits
    lowered, small = fit_settings(tiny_model, settings, (48, 64), f"{tight / 2**20:.1f}MB")
    assert lowered.chunk_size < settings.chunk_size and small.fits


@pytest.mark.slow
def test_the_models_own_window_is_shortened_to_fit_and_a_set_window_is_not(full_size_spec, tiny_model):
    """The published model's 16-frame window needs 7.9 GB at 960x576 in fp16: on 8 GB the planner
    runs 8-frame windows, as it would for --window 8, unless the window was set."""
    spec, size = full_size_spec(torch.float16), PLAN_SIZES[(540, 960)]
    assert not plan_memory(spec, size, 8 * GIB, LongVideoSettings(window=16)).fits
    shortened = plan_memory(spec, size, 8 * GIB, LongVideoSettings(window=16), lower_window=True)
    assert shortened.fits and shortened.window == 8 and shortened.apply(LongVideoSettings()).window == 8
    assert plan_memory(spec, size, 24 * GIB, LongVideoSettings(window=16), lower_window=True).window == 16

    own = LongVideoSettings(window=0, max_resolution=64)  # tiny_model states no window: 16
    roomy, plan = fit_settings(tiny_model, own, (64, 64), "auto", free_bytes=8 * GIB)
    assert roomy.window == 16 and plan.window == 16
    tiny = ModelSpec.from_model(tiny_model)
    one_16, one_8 = (stage_peak(tiny, "windows", 1, (64, 64), w, "cpu") for w in (16, 8))
    assert one_8 < one_16
    budget = (one_8 + one_16) / 2 / (1 - MARGIN)  # one 8-frame window fits, one of 16 does not
    free = int(budget - tiny.weight_bytes)
    assert fit_settings(tiny_model, own, (64, 64), "auto", free_bytes=free)[0].window < 16
    set_window = replace(own, window=16)  # a set window stays as set
    assert fit_settings(tiny_model, set_window, (64, 64), "auto", free_bytes=free)[0].window == 16


@pytest.mark.parametrize(
    ("text", "expected"),
    [("auto", "auto"), ("off", "off"), ("8GB", 8 * GIB), ("1.5gb", int(1.5 * GIB)), ("512MB", 512 * 2**20)],
)
def test_memory_option_parses(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["8", "lots", "0GB", "-1GB", "8TB", ""])
def test_bad_memory_option_names_the_parameter_and_the_choices(text):
    with pytest.raises(ValueError, match=r"^memory must be auto, off or a size such as 8GB or 512MB; got"):
        parse_memory(text)


def test_cli_refuses_a_bad_memory_option(tmp_path, capsys):
    from dav_core.cli import main

    with pytest.raises(SystemExit) as exit_code:
        main(["depth", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out"), "--memory", "lots"])
    assert exit_code.value.code == 2
    assert "argument --memory: must be auto, off or a size such as 8GB" in capsys.readouterr().err


# --------------------------------------------------------------------------- out of memory

FRAMES = 43
# 43 frames: 7 keyframes in 3 passes of 4; 6 windows of 8 frames in UNet calls of 4 and 2; VAE calls of 8
SETTINGS = LongVideoSettings(
    steps=1, seed=2, max_resolution=64, max_keyframes_per_pass=4, window_batch=4, chunk_size=8, window=8
)


def rolling_noise(n: int = FRAMES) -> np.ndarray:
    """Noise frames, each the previous one shifted 2 pixels right."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.8, (48, 64, 3)).astype(np.float32)
    return np.stack([np.roll(base, 2 * i, axis=1) for i in range(n)])


def depth(model, settings=SETTINGS) -> np.ndarray:
    return np.stack([f.disparity for f in stream_depth(model, rolling_noise(), settings)])


@pytest.fixture(scope="module")
def uninterrupted(tiny_model):
    return depth(tiny_model)


def inject(monkeypatch, module, name: str, batch_of, limit: int, lasting: bool = False) -> list[int]:
    """Make ``module.name`` raise CUDA's out-of-memory error on its second call with a batch (as
    ``batch_of(args)`` counts it) over ``limit`` (``lasting``: on every such call); returns the batch
    sizes it saw."""
    real, seen, over = getattr(module, name), [], [0]

    def failing(*args, **kwargs):
        seen.append(batch_of(args))
        if seen[-1] > limit:
            over[0] += 1
            if lasting or over[0] == 2:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return seen


STEPS = {  # component, method, what its first argument's batch counts
    "encode": ("vae", "encode", lambda a: a[0].shape[0]),
    "keyframes": ("unet", "forward", lambda a: a[0].shape[1]),
    "windows": ("unet_interp", "forward", lambda a: a[0].shape[0]),
    "decode": ("vae", "decode", lambda a: a[0].shape[0]),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_an_out_of_memory_in_the_middle_of_a_shot_is_retried_and_the_output_is_identical(
    tiny_model, uninterrupted, monkeypatch, step, caplog
):
    component, method, batch_of = STEPS[step]
    seen = inject(monkeypatch, getattr(tiny_model, component), method, batch_of, limit=1)
    with caplog.at_level(logging.WARNING, logger="dav_core.retry"):
        out = depth(tiny_model)
    assert len(seen) >= 3 and "out of memory" in caplog.text  # the 2nd call failed, was retried, went on
    np.testing.assert_array_equal(out, uninterrupted)


@pytest.mark.parametrize("step", ["encode", "windows"])
def test_a_lasting_out_of_memory_halves_the_batch_and_the_shot_completes(
    tiny_model, uninterrupted, monkeypatch, step, caplog
):
    """Halved calls are other calls: equal up to float rounding (bit-identical with these kernels, for
    2 or more per call, as measured in dav_core.retry; not promised)."""
    component, method, batch_of = STEPS[step]
    limit = {"encode": 2, "windows": 2}[step]
    seen = inject(monkeypatch, getattr(tiny_model, component), method, batch_of, limit, lasting=True)
    with caplog.at_level(logging.WARNING, logger="dav_core.retry"):
        out = depth(tiny_model)
    assert max(seen) > limit and seen[-1] <= limit and "per call" in caplog.text
    np.testing.assert_allclose(out, uninterrupted, atol=1e-5)


def test_a_keyframe_pass_that_never_fits_fails_naming_the_setting(tiny_model, monkeypatch):
    component, method, batch_of = STEPS["keyframes"]
    inject(monkeypatch, tiny_model.unet, method, batch_of, limit=1, lasting=True)
    with pytest.raises(OutOfMemory, match="keyframe pass of 4 frames.*max_keyframes_per_pass"):
        depth(tiny_model)


def test_a_resumed_run_keeps_the_sizes_it_started_with(tiny_model, tmp_path):
    from dav_core.io.writers import read_manifest
    from dav_core.job import OutputSpec, write_depth
    from dav_core.longvideo.sources import ArraySource

    settings = LongVideoSettings(steps=1, max_resolution=64, max_keyframes_per_pass=8, window=8)
    _, plan = fit_settings(tiny_model, settings, (48, 64), "auto", free_bytes=8 * GIB)
    tight = f"{plan.peaks['decode'] / (1 - MARGIN) * 0.8 / 2**20:.1f}MB"
    source = ArraySource(rolling_noise(20))
    write_depth(tiny_model, source, replace(settings, memory=tight), OutputSpec(tmp_path, ("png16",)))
    started = read_manifest(tmp_path)["job"]["settings"]
    assert started["chunk_size"] < settings.chunk_size
    (tmp_path / "depth.0019.png").unlink()  # as if interrupted
    resumed = OutputSpec(tmp_path, ("png16",), resume=True)
    result = write_depth(tiny_model, source, replace(settings, memory="auto"), resumed)
    assert result.computed == 1 and read_manifest(tmp_path)["job"]["settings"] == started
