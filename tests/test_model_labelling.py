"""The bundled demo model says what it is: one CLI line, its place in the ComfyUI loader, and the manifest."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from dav_core.models.default import BUNDLED_MODEL, bundled_notice, is_bundled, model_record
from tests.helpers import load_pack, run_dav

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "assets" / "sample.mp4"


def _notices(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "bundled demo model" in r.getMessage()]


def test_notice_names_the_model_its_size_and_the_download():
    line = bundled_notice()
    assert "\n" not in line
    size_mb = round(BUNDLED_MODEL.stat().st_size / 1e6)
    for part in ("dav_tiny", f"{size_mb} MB", "synthetic", "`dav download`"):
        assert part in line, part
    assert is_bundled(BUNDLED_MODEL) and is_bundled(str(BUNDLED_MODEL.parent / ".." / "weights" / BUNDLED_MODEL.name))
    assert not is_bundled(REPO / "README.md")


@pytest.mark.slow
def test_cli_says_once_when_the_bundled_model_runs_and_records_it(tmp_path, caplog, tiny_dav_dir, monkeypatch):
    monkeypatch.delenv("DAV_MODEL", raising=False)
    caplog.set_level(logging.INFO)
    out = tmp_path / "bundled"
    run = run_dav("depth", SAMPLE, "--output", out, "--stop", "4", "--no-progress")
    assert run.code == 0, run.err
    assert len(_notices(caplog)) == 1, caplog.text
    model = json.loads((out / "manifest.json").read_text())["job"]["model"]
    assert model["kind"] == "bundled demo" and Path(model["source"]) == BUNDLED_MODEL
    assert "demo" in model["name"]

    caplog.clear()
    out = tmp_path / "checkpoint"
    run = run_dav("depth", SAMPLE, "--model", tiny_dav_dir, "--output", out, "--stop", "4", "--no-progress")
    assert run.code == 0, run.err
    assert _notices(caplog) == []
    model = json.loads((out / "manifest.json").read_text())["job"]["model"]
    assert model["kind"] == "checkpoint" and model["source"] == str(tiny_dav_dir) and "name" not in model


def test_model_record_of_a_checkpoint(tiny_dav_dir):
    assert model_record(tiny_dav_dir) == {"source": str(tiny_dav_dir), "kind": "checkpoint"}
    assert model_record(BUNDLED_MODEL)["kind"] == "bundled demo"


def test_loader_lists_installed_weights_before_the_demo(comfy, tiny_dav_dir):
    model_node = load_pack().nodes.model
    fresh = model_node.list_checkpoints()
    assert fresh == [model_node.BUNDLED_NAME, model_node.DOWNLOAD_CHOICE], fresh
    assert "demo" in model_node.BUNDLED_NAME

    shutil.copytree(tiny_dav_dir, comfy.models_dir / "depth-any-video")  # as `dav download` leaves it
    (comfy.models_dir / "mine.safetensors").write_bytes(BUNDLED_MODEL.read_bytes())
    listed = model_node.list_checkpoints()
    assert listed == ["depth-any-video", "mine.safetensors", model_node.BUNDLED_NAME], listed


def test_workflows_saved_with_the_old_name_still_resolve(comfy):
    model_node = load_pack().nodes.model
    for name in (model_node.BUNDLED_NAME, *model_node.LEGACY_BUNDLED_NAMES):
        assert model_node.resolve_checkpoint(name) == BUNDLED_MODEL
