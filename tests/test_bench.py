"""`dav bench`: the per-stage report (seconds, FLOPs against a direct count), the child's command line that
`--against` relies on, the random full-size architecture, and the option checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from dav_core.cli import build_parser
from dav_core.commands import bench
from dav_core.models.default import BUNDLED_MODEL
from dav_core.models.loading import load_dav
from dav_core.models.random_init import FULL_SIZE_CONFIGS, random_model
from dav_core.settings import LongVideoSettings

pytestmark = pytest.mark.usefixtures("single_thread")

REPO = Path(__file__).resolve().parents[1]
CLIP_FRAMES = FRAMES = 12  # the shared ``clip`` fixture's length
# 12 frames -> keyframe passes of 4 and 3 frames, windows of 3 and 4 frames in several UNet batches
SETTINGS = LongVideoSettings(steps=1, max_resolution=None, window=4, max_keyframes_per_pass=4, window_batch=3)


def _capture(calls: list):
    """A wrapper recording each call's arguments (cloned) before running it."""

    def wrap(fn):
        def recorded(*args, **kwargs):
            clone = lambda v: v.clone() if isinstance(v, torch.Tensor) else v  # noqa: E731
            calls.append((tuple(map(clone, args)), {k: clone(v) for k, v in kwargs.items()}))
            return fn(*args, **kwargs)

        return recorded

    return wrap


def _direct_flops(fn, calls: list) -> int:
    """Sum over ``calls`` of torch's own FlopCounterMode count of one real call per distinct input
    shape times the calls with that shape; attention through the math kernel (plain matmuls)."""
    groups = defaultdict(list)
    for args, kwargs in calls:
        shapes = [tuple(v.shape) for v in (*args, *kwargs.values()) if isinstance(v, torch.Tensor)]
        groups[tuple(shapes)].append((args, kwargs))
    total = 0
    for members in groups.values():
        args, kwargs = members[0]
        with torch.inference_mode(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            fn(*args, **kwargs)
        total += counter.get_total_flops() * len(members)
    return total


@pytest.mark.slow
def test_stage_report_matches_direct_flop_counts(clip, tmp_path):
    model = load_dav(BUNDLED_MODEL)
    calls = {stage: [] for stage in ("encode", "keyframes", "windows", "decode")}
    model.vae.encode = _capture(calls["encode"])(model.vae.encode)
    model.vae.decode = _capture(calls["decode"])(model.vae.decode)
    for stage, unet in (("keyframes", model.unet), ("windows", model.unet_interp)):
        record = _capture(calls[stage])(lambda *a, **k: None)
        unet.register_forward_pre_hook(lambda m, a, k, record=record: record(*a, **k), with_kwargs=True)

    result = bench.measure_job(model, clip, tmp_path / "out", 1, peak_seconds=0.05, settings=SETTINGS)
    stages = result["stages"]

    assert result["frames"] == FRAMES
    timed = sum(s["seconds"] for name, s in stages.items() if name != "other")
    assert 0 < timed <= result["seconds"]
    assert stages["other"]["seconds"] == pytest.approx(result["seconds"] - timed)
    assert stages["write"]["calls"] == FRAMES and stages["write"]["flops"] is None
    assert result["peak"]["matmul_gflops"] > 0 and result["peak"]["dtype"] == "float32"
    del model.vae.encode, model.vae.decode  # back to the real methods for the direct counts
    methods = {
        "encode": model.vae.encode,
        "decode": model.vae.decode,
        "keyframes": model.unet,
        "windows": model.unet_interp,
    }
    for stage, recorded in calls.items():
        assert stages[stage]["calls"] == len(recorded), stage
        assert stages[stage]["flops"] == _direct_flops(methods[stage], recorded), stage
    for stage in ("keyframes", "windows"):  # calls of several input shapes, each counted once
        assert len({tuple(args[0].shape) for args, _ in calls[stage]}) >= 2, stage
    assert stages["keyframes"]["flops"] > 0 and stages["windows"]["flops"] > 0
    frac = stages["decode"]["fraction_of_peak"]
    expected = stages["decode"]["flops"] / stages["decode"]["seconds"] / 1e9 / result["peak"]["matmul_gflops"]
    assert frac == pytest.approx(expected)


@pytest.mark.slow
def test_child_command_line_of_every_version(clip, tmp_path):
    """`--against` runs an old checkout's child as `--child VIDEO OUTPUT MODEL STEPS`; precision comes
    from the environment."""
    command = [
        sys.executable,
        "-m",
        "dav_core.commands.bench",
        "--child",
        clip,
        tmp_path / "out",
        BUNDLED_MODEL,
        "1",
    ]
    env = {**os.environ, bench.PRECISION_ENV: "bf16"}
    done = subprocess.run(list(map(str, command)), capture_output=True, text=True, cwd=REPO, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["frames"] == FRAMES and result["unet_frame_passes_per_frame"] > 0
    assert result["peak"] == {**result["peak"], "device": "cpu", "dtype": "bfloat16"}
    assert result["stages"]["keyframes"]["flops"] > 0
    assert len(list((tmp_path / "out").glob("*.png"))) == FRAMES


def test_full_architecture_matches_the_published_state_dict(reference_dir):
    manifest = json.loads((reference_dir / "full_size_state_dict_manifest.json").read_text())
    model = random_model(dtype=torch.bfloat16, device="meta")  # what --architecture full builds, no memory
    for name, entry in manifest.items():
        module = getattr(model, name)
        assert FULL_SIZE_CONFIGS[name] == entry["config"], name
        assert {k: list(v.shape) for k, v in module.state_dict().items()} == entry["keys"], name
        assert sum(p.numel() for p in module.parameters()) == entry["params"], name
        assert {p.dtype for p in module.parameters()} == {torch.bfloat16}, name


def test_random_bundle_is_written_once_and_loads(tmp_path):
    """The random-weights bundle both children load (tiny configs here: the full one is 6-12 GB)."""
    tiny = load_dav(BUNDLED_MODEL)
    configs = {name: dict(getattr(tiny, name).config) for name in ("unet", "unet_interp", "vae")}
    configs = {n: {k: v for k, v in c.items() if not k.startswith("_")} for n, c in configs.items()}
    path = bench.random_bundle(tmp_path, "fp16", configs, name="tiny")
    assert bench.random_bundle(tmp_path, "fp16", configs, name="tiny") == path
    loaded = load_dav(path, dtype=torch.float16)
    expected = random_model(configs, torch.float16)
    for name in ("unet", "unet_interp", "vae"):
        got, want = getattr(loaded, name).state_dict(), getattr(expected, name).state_dict()
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want), name


def test_disk_space_message(tmp_path):
    bench.check_disk_space(tmp_path, 1)
    with pytest.raises(
        ValueError, match=r"--architecture full: .* needs 12\.0 GB in .* has 5\.0 GB free; .*fp16"
    ):
        bench.check_disk_space(tmp_path, 12 * 10**9, free=5 * 10**9)


def _args(*argv):
    return build_parser().parse_args(["bench", *argv])


def test_option_errors(tmp_path):
    with pytest.raises(ValueError, match="--device takes a torch device"):
        bench._check_options(_args("--device", "nonsense"))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="--device cuda: CUDA is not available"):
            bench._check_options(_args("--device", "cuda"))
    args = _args("--precision", "auto")
    bench._check_options(args)
    assert args.precision == "auto"  # passed on unresolved: each checkout's child picks its own default
    old = tmp_path / "old"
    (old / "dav_core" / "commands").mkdir(parents=True)
    (old / "dav_core" / "commands" / "bench.py").write_text("# a child without device or precision\n")
    with pytest.raises(ValueError, match="--against: .* predates --device and --precision"):
        bench._check_options(_args("--against", str(old), "--precision", "bf16"))
    bench._check_options(_args("--against", str(old)))  # cpu, fp32: what an old child runs
    with pytest.raises(ValueError, match="--model and --architecture full exclude each other"):
        bench._model_path(_args("--architecture", "full", "--model", "x"), tmp_path)
