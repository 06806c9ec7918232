"""Shared fixtures: the official reference outputs, the tiny official-architecture models, clips and renderers,
and stand-ins for ComfyUI's modules."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests import helpers


@pytest.fixture(scope="session", autouse=True)
def _memory_trace_cache(tmp_path_factory):
    """The memory planner's trace cache in a temporary folder, not the user's home."""
    if "DAV_CACHE_DIR" not in os.environ:
        os.environ["DAV_CACHE_DIR"] = str(tmp_path_factory.mktemp("dav_cache"))
    yield


@pytest.fixture(scope="module")
def single_thread():
    """One intra-op thread for a module: the tensors in these tests are tiny, and more threads only add
    OpenMP contention on a shared 2-core machine. Use with ``pytestmark = pytest.mark.usefixtures(...)``."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_dav_dir() -> Path:
    return helpers.tiny_dav_dir()


@pytest.fixture(scope="session")
def reference_dir(tiny_dav_dir) -> Path:
    return tiny_dav_dir.parent


@pytest.fixture(scope="session")
def parity(reference_dir) -> dict[str, torch.Tensor]:
    return load_file(str(reference_dir / "dav_parity_tensors.safetensors"))


@pytest.fixture(scope="session")
def tiny_model(tiny_dav_dir):
    return helpers.tiny_model()


@pytest.fixture(scope="module")
def clip(request, tmp_path_factory) -> Path:
    """The benchmark's clip as an mp4 (64x64): ``CLIP_FRAMES`` frames where the module sets it, else 12."""
    frames = getattr(request.module, "CLIP_FRAMES", 12)
    return helpers.write_test_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames)


@pytest.fixture(scope="module")
def renderer():
    """The synthetic engine's renderer: GL where possible, else the ray caster."""
    from dav_core.synthetic import create_renderer

    r = create_renderer("auto")
    yield r
    r.close()


@pytest.fixture(scope="module")
def raycaster():
    from dav_core.synthetic.raycast import RaycastRenderer

    return RaycastRenderer()


# --------------------------------------------------------------------------- ComfyUI stand-ins


class Interrupted(Exception):
    pass


@pytest.fixture
def comfy(monkeypatch, tmp_path):
    """Minimal comfy.* and folder_paths modules; returns a namespace to inspect and steer them."""
    state = types.SimpleNamespace(
        interrupt=False, loads=0, bars=[], extra=tmp_path / "extra_models", Interrupted=Interrupted
    )
    models_dir = tmp_path / "models"
    (models_dir / "depth_any_video").mkdir(parents=True)
    (tmp_path / "input").mkdir()
    (tmp_path / "output").mkdir()

    comfy_pkg = types.ModuleType("comfy")
    utils = types.ModuleType("comfy.utils")
    mm = types.ModuleType("comfy.model_management")
    patcher = types.ModuleType("comfy.model_patcher")

    class ProgressBar:
        def __init__(self, total):
            self.total, self.current = total, 0
            state.bars.append(self)

        def update(self, value):
            self.current += value

        def update_absolute(self, value, total=None, preview=None):
            self.current = value

    class ModelPatcher:
        def __init__(self, model, load_device, offload_device, size=0):
            self.model, self.load_device, self.offload_device = model, load_device, offload_device

    def load_models_gpu(models, *args, **kwargs):
        state.loads += 1
        for m in models:
            m.model.to(m.load_device)

    def throw():
        if state.interrupt:
            raise Interrupted("Processing interrupted")

    utils.ProgressBar = ProgressBar
    mm.get_torch_device = lambda: torch.device("cpu")
    mm.unet_offload_device = lambda: torch.device("cpu")
    mm.load_models_gpu = load_models_gpu
    mm.throw_exception_if_processing_interrupted = throw
    patcher.ModelPatcher = ModelPatcher
    comfy_pkg.utils, comfy_pkg.model_management, comfy_pkg.model_patcher = utils, mm, patcher

    fp = types.ModuleType("folder_paths")
    fp.models_dir = str(models_dir)
    # as after extra_model_paths.yaml named an extra depth_any_video folder
    fp.folder_names_and_paths = {"depth_any_video": ([str(state.extra)], set())}
    fp.get_folder_paths = lambda name: list(fp.folder_names_and_paths[name][0])
    fp.get_input_directory = lambda: str(tmp_path / "input")
    fp.get_output_directory = lambda: str(tmp_path / "output")
    fp.get_temp_directory = lambda: str(tmp_path / "temp")
    for name, module in {
        "comfy": comfy_pkg,
        "comfy.utils": utils,
        "comfy.model_management": mm,
        "comfy.model_patcher": patcher,
        "folder_paths": fp,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    state.fp, state.models_dir, state.input, state.output = (
        fp,
        models_dir / "depth_any_video",
        tmp_path / "input",
        tmp_path / "output",
    )
    state.temp = tmp_path / "temp"
    return state


@pytest.fixture(scope="module")
def handle(tiny_model):
    """The tiny model as the model node outputs it."""
    return helpers.load_pack().nodes.model.DAVHandle(tiny_model, "tiny_dav", "fp32")
