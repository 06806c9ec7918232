"""One settings object, a run resolved once, one output-folder contract, and the layers that hold them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dav_core.io.depth_outputs import DepthOutputs, batch_identity, depth_files
from dav_core.io.writers import DepthEncoding, read_manifest
from dav_core.run import ResolvedRun, resolve_run
from dav_core.settings import DEFAULTS, LongVideoSettings, build_settings

REPO = Path(__file__).resolve().parents[1]
NUMBERS = [1001, 1002, 1003]


def test_settings_errors_name_the_front_ends_option():
    with pytest.raises(ValueError, match=r"^--window must be 0 \(the model's own\) or >= 3, got 2$"):
        build_settings({"window": 2}, {"window": "--window"})
    with pytest.raises(ValueError, match=r"^overlap must be at most window - 3 = 5, got 6$"):
        build_settings({"window": 8, "overlap": 6})
    with pytest.raises(ValueError, match=r"^max_resolution must be >= 64, got 12"):
        build_settings({"max_resolution": 12})
    with pytest.raises(ValueError, match="unknown settings colour"):
        build_settings({"colour": 1})
    assert build_settings({}) == DEFAULTS == LongVideoSettings()


def test_a_run_is_resolved_once_for_the_model(tiny_model):
    run = resolve_run(tiny_model, LongVideoSettings(memory="off", max_keyframes_per_pass=4), 80, (48, 80))
    assert isinstance(run, ResolvedRun) and run.num_frames == 80
    assert run.settings.window == (tiny_model.interpolation_window or 16)  # window 0 resolved
    assert run.plan.window == run.settings.window and len(run.plan.keyframe_passes) > 1
    assert run.geometry.input_size == (48, 80)
    with pytest.raises(ValueError, match="no frames selected"):
        resolve_run(tiny_model, DEFAULTS, 0, (48, 80))


def test_a_resumed_run_keeps_the_sizes_it_started_with(tiny_model):
    settings = LongVideoSettings(memory="off", chunk_size=16, window_batch=8)
    kept = {"chunk_size": 4, "window_batch": 2, "max_keyframes_per_pass": 8, "window": 8}
    run = resolve_run(tiny_model, settings, 40, (64, 64), kept_sizes=kept)
    assert {f: getattr(run.settings, f) for f in kept} == kept
    larger = {**kept, "chunk_size": 64}  # more than asked for now: planned afresh
    assert resolve_run(tiny_model, settings, 40, (64, 64), kept_sizes=larger).settings.chunk_size == 16


def _job(name: str) -> dict:
    return {"input": {"name": name}, "settings": {"steps": 1}, "model": {"source": "m"}}


def _write(folder: Path, job: dict, formats=("png16",), **options) -> DepthOutputs:
    frame = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    with DepthOutputs(folder, formats, NUMBERS, job, **options) as outputs:
        for number in NUMBERS:
            if number not in outputs.kept:
                outputs.write(number, frame)
    return outputs


def test_overwrite_replaces_the_whole_previous_run(tmp_path):
    _write(tmp_path, _job("a"), ("png16", "mp4"), fps=12.0)
    assert (tmp_path / "depth_preview.mp4").is_file()
    _write(tmp_path, _job("b"), ("exr",), overwrite=True)
    manifest = read_manifest(tmp_path)
    assert manifest["job"] == _job("b") and set(manifest["outputs"]) == {"exr"} and manifest["completed"]
    assert sorted(p.suffix for p in depth_files(tmp_path)) == [".exr"] * 3  # no stale frames or preview


def test_resume_refuses_another_run_or_files_without_identity(tmp_path):
    _write(tmp_path, _job("a"))
    with pytest.raises(ValueError, match="^--resume: the frames in .* were made from another input; use --ov"):
        _write(tmp_path, _job("b"), resume=True, names={"resume": "--resume", "overwrite": "--overwrite"})
    manifest = tmp_path / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["job"]
    manifest.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="^resume: the depth files in .* record no job"):
        _write(tmp_path, _job("a"), resume=True)
    assert read_manifest(tmp_path).get("job") is None  # a refusal changes nothing


def test_a_folder_with_frames_is_refused_without_resume_or_overwrite(tmp_path):
    _write(tmp_path, _job("a"))
    with pytest.raises(ValueError, match="already holds 3 depth files of another run: resume to finish"):
        _write(tmp_path, _job("a"))
    kept = _write(tmp_path, _job("a"), resume=True).kept
    assert kept == set(NUMBERS)


def test_a_saved_batch_is_identified_by_its_values():
    encoding = DepthEncoding(kind="disparity")
    values = np.zeros((3, 2, 2), np.float32)
    same = batch_identity(values, NUMBERS, encoding)
    assert same == batch_identity(values.copy(), NUMBERS, encoding)
    assert same != batch_identity(values + 1, NUMBERS, encoding)
    assert same != batch_identity(values, [1, 2, 3], encoding)


def test_the_layers_hold():
    """import-linter's contracts in pyproject.toml: imports only point down, no circles."""
    out = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
