"""The ComfyUI nodes called directly, with stand-ins for ComfyUI's modules and the tiny model."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.usefixtures("single_thread")

REPO = Path(__file__).resolve().parents[1]
NODE_IDS = {
    "LoadDAVModel", "VideoToLatent", "FlowMatchDepthSampler", "KeyframeDepth", "DepthInterpolateWindow",
    "DepthToColormap", "DAV_DecodeDepth", "DAV_LoadVideo", "DAV_SaveDepth", "DAV_VideoDepthToFiles",
    "DAV_DepthToNormals", "DAV_Relight",
}


def _frames(count=3, height=64, width=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(count, height, width, 3, generator=g)


def _write_video(path: Path, count=6, height=64, width=96, fps=12):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "10"}
        for i in range(count):
            x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
            img = np.clip(np.broadcast_to(x, (height, width, 3)) * 0.5 + i * 20, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


# --------------------------------------------------------------------------- registry


def test_registry_ids_category_tooltips_and_returns():
    import nodes

    assert set(nodes.NODE_CLASS_MAPPINGS) == NODE_IDS
    assert set(nodes.NODE_DISPLAY_NAME_MAPPINGS) == NODE_IDS
    for node_id, cls in nodes.NODE_CLASS_MAPPINGS.items():
        assert cls.CATEGORY == "DepthAnyVideo"
        assert callable(getattr(cls, cls.FUNCTION))
        assert len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES) == len(cls.OUTPUT_TOOLTIPS)
        spec = cls.INPUT_TYPES()
        assert set(spec) <= {"required", "optional"}
        for section in spec.values():
            for name, (kind, options) in section.items():
                assert options.get("tooltip"), f"{node_id}.{name} has no tooltip"
                if isinstance(kind, list) and "default" in options:
                    assert options["default"] in kind, f"{node_id}.{name} default not in its list"


def test_root_package_entry_appends_pack_to_sys_path(monkeypatch):
    import importlib.util

    saved = list(sys.path)
    monkeypatch.setattr(sys, "path", [p for p in saved if Path(p or ".").resolve() != REPO])
    spec = importlib.util.spec_from_file_location("dav_pack_entry", REPO / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "dav_pack_entry", module)
    spec.loader.exec_module(module)
    assert set(module.NODE_CLASS_MAPPINGS) == NODE_IDS
    assert sys.path[-1] == str(REPO)  # appended, not inserted
    for name in [m for m in sys.modules if m.startswith("dav_pack_entry.")]:
        monkeypatch.delitem(sys.modules, name)


# --------------------------------------------------------------------------- model loading


def test_load_model_lists_folders_bundles_and_extra_paths(comfy, tiny_dav_dir):
    from nodes.model import LoadDAVModel

    shutil.copytree(tiny_dav_dir, comfy.models_dir / "tiny_dav")
    comfy.extra.mkdir()
    (comfy.extra / "other.safetensors").write_bytes(b"not a checkpoint")
    names = LoadDAVModel.INPUT_TYPES()["required"]["checkpoint"][0]
    assert "tiny_dav" in names and "other.safetensors" in names
    assert not any(n.startswith("tiny_dav/") for n in names)  # a folder model is one entry
    assert str(comfy.models_dir) in comfy.fp.folder_names_and_paths["depth_any_video"][0]

    (handle,) = LoadDAVModel().load("tiny_dav", "auto")
    assert handle.model.dtype == torch.float32 and handle.model.unet_interp is not None
    handle.acquire()
    assert comfy.loads == 1

    from dav_core.models.loading import CheckpointError

    with pytest.raises(CheckpointError):
        LoadDAVModel().load("other.safetensors", "fp32")
    with pytest.raises(FileNotFoundError, match="models/depth_any_video"):
        LoadDAVModel().load("missing_model", "fp32")
    assert LoadDAVModel.VALIDATE_INPUTS("tiny_dav") is True
    assert "models/depth_any_video" in LoadDAVModel.VALIDATE_INPUTS("missing_model")
    with pytest.raises(ValueError, match="precision"):
        LoadDAVModel().load("tiny_dav", "fp8")


# --------------------------------------------------------------------------- depth chain


def test_short_clip_chain_matches_dav_core(handle):
    from dav_core.depth import DepthSettings, predict_depth_window
    from nodes.depth import DAV_DecodeDepth, FlowMatchDepthSampler, VideoToLatent

    frames = _frames(2, 64, 80)
    (latents,) = VideoToLatent().encode(handle, frames, max_resolution=960, chunk_size=1)
    assert latents.num_frames == 2 and latents.geometry.input_size == (64, 80)
    (depth,) = FlowMatchDepthSampler().sample(handle, latents, steps=1, seed=5, ensemble=1)
    mask, image = DAV_DecodeDepth().decode(handle, depth, "disparity", "fixed", 1.0, 0.0, 16, 2)
    expected = predict_depth_window(handle.model, frames, DepthSettings(steps=1, seed=5))
    assert mask.shape == (2, 64, 80) and image.shape == (2, 64, 80, 3)
    torch.testing.assert_close(mask, expected, atol=1e-4, rtol=0)

    shot, _ = DAV_DecodeDepth().decode(handle, depth, "depth", "shot", 1.0, 0.0, 16, 2)
    assert float(shot.min()) == pytest.approx(0.0, abs=1e-6) and float(shot.max()) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="near"):
        DAV_DecodeDepth().decode(handle, depth, "disparity", "fixed", 0.2, 0.5, 16, 2)


def test_keyframes_and_windows_match_the_streaming_runner(handle):
    from dav_core.longvideo.runner import LongVideoSettings, stream_depth
    from nodes.depth import DAV_DecodeDepth, DepthInterpolateWindow, KeyframeDepth, VideoToLatent

    frames = _frames(5, 64, 64, seed=1)
    (latents,) = VideoToLatent().encode(handle, frames, 960, 16)
    (keys,) = KeyframeDepth().solve(handle, latents, steps=1, seed=3, ensemble=1, window=3, overlap=0,
                                    max_keyframes_per_pass=2, pass_overlap=1)
    assert keys.plan.keyframes == (0, 2, 4) and len(keys.plan.keyframe_passes) == 2
    (depth,) = DepthInterpolateWindow().interpolate(handle, keys)
    assert depth.latents.shape[0] == 5
    mask, _ = DAV_DecodeDepth().decode(handle, depth, "disparity", "fixed", 1.0, 0.0, 16, 2)
    settings = LongVideoSettings(steps=1, seed=3, window=3, max_keyframes_per_pass=2, pass_overlap=1)
    expected = torch.stack([torch.from_numpy(f.disparity) for f in stream_depth(handle.model, frames.numpy(), settings)])
    torch.testing.assert_close(mask, expected, atol=1e-4, rtol=0)


def test_depth_nodes_reject_bad_inputs(handle, comfy):
    import copy

    from dav_core.stages import VideoLatents, model_name
    from nodes.depth import FlowMatchDepthSampler, KeyframeDepth, VideoToLatent
    from nodes.model import DAVHandle

    with pytest.raises(ValueError, match="non-empty"):
        VideoToLatent().encode(handle, torch.zeros(0, 64, 64, 3), 960, 16)
    with pytest.raises(ValueError, match="alpha"):
        VideoToLatent().encode(handle, torch.zeros(2, 64, 64, 4), 960, 16)
    with pytest.raises(ValueError, match=r"\[0,1\]"):
        VideoToLatent().encode(handle, torch.full((2, 64, 64, 3), 3.0), 960, 16)
    geometry = types.SimpleNamespace(input_size=(64, 64))
    long = VideoLatents(torch.zeros(40, 4, 8, 8), geometry, id(handle.model), model_name(handle.model))
    with pytest.raises(ValueError, match="solve keyframes"):
        FlowMatchDepthSampler().sample(handle, long, 1, 0, 1)
    other = DAVHandle(copy.deepcopy(handle.model), "another_model", "fp16")
    with pytest.raises(ValueError, match="same Load Depth Any Video Model"):
        FlowMatchDepthSampler().sample(other, long, 1, 0, 1)
    with pytest.raises(ValueError, match="overlap"):
        KeyframeDepth().solve(handle, long, 1, 0, 1, window=4, overlap=3)
    comfy.interrupt = True
    with pytest.raises(comfy.Interrupted):
        VideoToLatent().encode(handle, _frames(2), 960, 16)


# --------------------------------------------------------------------------- pictures and relighting


def test_colormap_normalisations():
    from nodes.image import DepthToColormap

    depth = torch.stack([torch.linspace(0.2, 0.4, 64).expand(8, 64), torch.linspace(0.4, 0.6, 64).expand(8, 64)])
    (shot,) = DepthToColormap().colorize(depth, "gray", False, "shot")
    assert shot.shape == (2, 8, 64, 3)
    assert shot[0, 0, 0, 0] == 0.0 and shot[1, 0, -1, 0] == 1.0
    (per_frame,) = DepthToColormap().colorize(depth, "gray", True, "per-frame")
    assert per_frame[0, 0, 0, 0] == 1.0 and per_frame[1, 0, 0, 0] == 1.0
    (spectral,) = DepthToColormap().colorize(depth, "Spectral", False, "none")
    assert not torch.allclose(spectral[..., 0], spectral[..., 1])
    with pytest.raises(ValueError, match="colormap"):
        DepthToColormap().colorize(depth, "jet", False, "shot")
    with pytest.raises(ValueError, match="MASK"):
        DepthToColormap().colorize(torch.zeros(0, 4, 4), "gray", False, "shot")


def test_normals_of_a_tilted_plane_and_relight():
    from nodes.image import DAV_DepthToNormals, DAV_Relight

    # a floor-like gradient: nearer at the bottom of the frame
    depth = torch.linspace(0.0, 1.0, 32)[:, None].expand(32, 48)[None].repeat(2, 1, 1)
    (normals,) = DAV_DepthToNormals().normals(depth, "disparity", 60.0, 1.0, 10.0)
    assert normals.shape == (2, 32, 48, 3) and 0 <= float(normals.min()) and float(normals.max()) <= 1
    n = normals[0, 16, 24] * 2 - 1
    assert n[2] < 0 and n[1] < 0  # faces the camera, tilted upwards (y down)
    plate = torch.full((2, 32, 48, 3), 0.5)
    (lit_top,) = DAV_Relight().relight(plate, normals, 0.0, 90.0, "#ffffff", 1.0, 0.5, 0.0, 1.0)
    (lit_below,) = DAV_Relight().relight(plate, normals, 0.0, -90.0, "#ffffff", 1.0, 0.5, 0.0, 1.0)
    assert lit_top.mean() > lit_below.mean()
    (unchanged,) = DAV_Relight().relight(plate, normals, 0.0, 90.0, "#ffffff", 1.0, 0.5, 0.0, 0.0)
    torch.testing.assert_close(unchanged, plate)
    (sweep,) = DAV_Relight().relight(plate, normals, -90.0, 0.0, "#ff0000", 1.0, 0.5, 0.0, 1.0,
                                      mask=torch.ones(1, 32, 48))
    assert not torch.allclose(sweep[0], sweep[1])
    with pytest.raises(ValueError, match="hex"):
        DAV_Relight().relight(plate, normals, 0, 0, "orange", 1, 0.5, 0, 1)
    with pytest.raises(ValueError, match="same frames"):
        DAV_Relight().relight(plate[:1], normals, 0, 0, "#ffffff", 1, 0.5, 0, 1)
    with pytest.raises(ValueError, match="far"):
        DAV_DepthToNormals().normals(depth, "disparity", 60.0, 5.0, 2.0)


# --------------------------------------------------------------------------- files


def test_load_video_and_save_depth_numbering(comfy):
    from dav_core.io.writers import output_is_complete, read_manifest
    from nodes.io import DAV_LoadVideo, DAV_SaveDepth

    _write_video(comfy.input / "clip.mp4", count=6)
    assert "clip.mp4" in DAV_LoadVideo.INPUT_TYPES()["required"]["video"][0]
    images, source, count, fps = DAV_LoadVideo().load("clip.mp4", 1, 0, 2, 48)
    assert images.shape == (3, 32, 48, 3) and count == 3 and fps == pytest.approx(12)
    assert source.frame_numbers == (1, 3, 5)
    depth = images[..., 0]
    out = DAV_SaveDepth().save(depth, "png16", "dav/test", "disparity", "gray", 24.0, True, source)
    folder = Path(out["result"][0])
    assert sorted(p.name for p in folder.glob("*.png")) == ["depth_000001.png", "depth_000003.png", "depth_000005.png"]
    assert output_is_complete(folder) and read_manifest(folder) is not None
    DAV_SaveDepth().save(depth, "mp4", "dav/test", "disparity", "turbo", 24.0, True, source)
    assert (folder / "depth_preview.mp4").is_file()

    with pytest.raises(FileNotFoundError, match="input folder"):
        DAV_LoadVideo().load("nope.mp4", 0, 0, 1, 0)
    assert DAV_LoadVideo.VALIDATE_INPUTS("clip.mp4") is True
    assert "input folder" in DAV_LoadVideo.VALIDATE_INPUTS("nope.mp4")
    with pytest.raises(ValueError, match="start_frame"):
        DAV_LoadVideo().load("clip.mp4", 10, 0, 1, 0)
    with pytest.raises(ValueError, match="outside"):
        DAV_SaveDepth().save(depth, "exr", "../../escape", "disparity", "gray", 24.0, True, None)
    with pytest.raises(ValueError, match="source has 3 frames"):
        DAV_SaveDepth().save(depth[:2], "png16", "dav/x", "disparity", "gray", 24.0, True, source)


def test_video_depth_to_files(comfy, handle):
    from dav_core.io.writers import output_is_complete, read_manifest
    from nodes.io import DAV_VideoDepthToFiles

    _write_video(comfy.input / "shot.mp4", count=3, height=64, width=64)
    out = DAV_VideoDepthToFiles().run(handle, "shot.mp4", 0, 0, 1, 64, 1, 0, 1, 8, 0, 32, "png16", True,
                                      "dav/shot", True, 16)
    folder, count, depth_video = out["result"]
    assert depth_video is None  # no VIDEO type outside ComfyUI
    assert count == 3
    folder = Path(folder)
    assert len(list(folder.glob("depth_*.png"))) == 3 and (folder / "depth_preview.mp4").is_file()
    assert output_is_complete(folder)
    assert json.dumps(read_manifest(folder))
    before = DAV_VideoDepthToFiles.IS_CHANGED(video="shot.mp4", filename_prefix="dav/shot")
    (folder / "manifest.json").unlink()
    assert DAV_VideoDepthToFiles.IS_CHANGED(video="shot.mp4", filename_prefix="dav/shot") != before


def test_video_depth_to_files_interrupt_leaves_an_incomplete_manifest(comfy, handle):
    from dav_core.io.writers import output_is_complete
    from nodes.io import DAV_VideoDepthToFiles

    _write_video(comfy.input / "cut.mp4", count=3, height=64, width=64)
    comfy.interrupt = True  # polled after the first keyframe pass
    with pytest.raises(comfy.Interrupted):
        DAV_VideoDepthToFiles().run(handle, "cut.mp4", 0, 0, 1, 64, 1, 0, 1, 3, 0, 2, "exr", False,
                                    "dav/cut", True, 16)
    assert not output_is_complete(comfy.output / "dav" / "cut")


def test_sample_clip_is_offered_and_resolved(comfy):
    from nodes import _comfy

    if not _comfy.SAMPLE_CLIP.is_file():
        pytest.skip("assets/sample.mp4 not bundled")
    assert "sample.mp4" in _comfy.list_input_videos()
    assert _comfy.resolve_input_video("sample.mp4") == _comfy.SAMPLE_CLIP


def test_sampler_ensemble_matches_dav_core(handle):
    from dav_core.depth import DepthSettings, predict_depth_window
    from nodes.depth import DAV_DecodeDepth, FlowMatchDepthSampler, VideoToLatent

    frames = _frames(2, 64, 64, seed=2)
    (latents,) = VideoToLatent().encode(handle, frames, 960, 16)
    (depth,) = FlowMatchDepthSampler().sample(handle, latents, steps=1, seed=1, ensemble=2)
    assert depth.latents is None and depth.disparity.shape == (2, 64, 64)
    mask, _ = DAV_DecodeDepth().decode(handle, depth, "disparity", "fixed", 1.0, 0.0, 16, 2)
    expected = predict_depth_window(handle.model, frames, DepthSettings(steps=1, seed=1, ensemble=2))
    torch.testing.assert_close(mask, expected, atol=1e-4, rtol=0)
