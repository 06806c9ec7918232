"""The ComfyUI nodes called directly, with stand-ins for ComfyUI's modules and the tiny model."""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import pytest
import torch

from tests.helpers import load_pack, random_frames, write_video

nodes = load_pack().nodes

pytestmark = pytest.mark.usefixtures("single_thread")

NODE_IDS = {
    "LoadDAVModel", "VideoToLatent", "FlowMatchDepthSampler", "KeyframeDepth", "DepthInterpolateWindow",
    "DepthToColormap", "DAV_DecodeDepth", "DAV_LoadVideo", "DAV_SaveDepth", "DAV_VideoDepthToFiles",
    "DAV_DepthToNormals", "DAV_Relight", "DAV_LoadPlate",
}


# --------------------------------------------------------------------------- registry


def test_registry_ids_category_tooltips_and_returns():
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


# --------------------------------------------------------------------------- model loading


def test_load_model_lists_folders_bundles_and_extra_paths(comfy, tiny_dav_dir):
    shutil.copytree(tiny_dav_dir, comfy.models_dir / "tiny_dav")
    comfy.extra.mkdir()
    (comfy.extra / "other.safetensors").write_bytes(b"not a checkpoint")
    names = nodes.model.LoadDAVModel.INPUT_TYPES()["required"]["checkpoint"][0]
    assert "tiny_dav" in names and "other.safetensors" in names
    assert not any(n.startswith("tiny_dav/") for n in names)  # a folder model is one entry
    assert str(comfy.models_dir) in comfy.fp.folder_names_and_paths["depth_any_video"][0]

    (handle,) = nodes.model.LoadDAVModel().load("tiny_dav", "auto")
    assert handle.model.dtype == torch.float32 and handle.model.unet_interp is not None
    handle.acquire()
    assert comfy.loads == 1

    from comfyui_depth_any_video.dav_core.models.loading import CheckpointError  # the nodes' own copy

    with pytest.raises(CheckpointError):
        nodes.model.LoadDAVModel().load("other.safetensors", "fp32")
    with pytest.raises(FileNotFoundError, match="models/depth_any_video"):
        nodes.model.LoadDAVModel().load("missing_model", "fp32")
    assert nodes.model.LoadDAVModel.VALIDATE_INPUTS("tiny_dav") is True
    assert "models/depth_any_video" in nodes.model.LoadDAVModel.VALIDATE_INPUTS("missing_model")
    with pytest.raises(ValueError, match="precision"):
        nodes.model.LoadDAVModel().load("tiny_dav", "fp8")


# --------------------------------------------------------------------------- depth chain


@pytest.mark.slow
def test_short_clip_chain_matches_dav_core(handle):
    from dav_core.depth import predict_depth_window
    from dav_core.settings import DepthSettings

    frames = random_frames(2, 64, 80)
    (latents,) = nodes.depth.VideoToLatent().encode(handle, frames, max_resolution=960, chunk_size=1)
    assert latents.num_frames == 2 and latents.geometry.input_size == (64, 80)
    (depth,) = nodes.depth.FlowMatchDepthSampler().sample(handle, latents, steps=1, seed=5, ensemble=1)
    mask, image = nodes.depth.DAV_DecodeDepth().decode(handle, depth, "disparity", "fixed", 1.0, 0.0, 16, 2)
    expected = predict_depth_window(handle.model, frames, DepthSettings(steps=1, seed=5))
    assert mask.shape == (2, 64, 80) and image.shape == (2, 64, 80, 3)
    torch.testing.assert_close(mask, expected, atol=1e-4, rtol=0)

    shot, _ = nodes.depth.DAV_DecodeDepth().decode(handle, depth, "depth", "shot", 1.0, 0.0, 16, 2)
    assert float(shot.min()) == pytest.approx(0.0, abs=1e-6) and float(shot.max()) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="near"):
        nodes.depth.DAV_DecodeDepth().decode(handle, depth, "disparity", "fixed", 0.2, 0.5, 16, 2)


@pytest.mark.slow
def test_keyframes_and_windows_match_the_streaming_runner(handle):
    from dav_core.settings import LongVideoSettings
    from dav_core.stages import stream_depth

    frames = random_frames(5, 64, 64, seed=1)
    (latents,) = nodes.depth.VideoToLatent().encode(handle, frames, 960, 16)
    (keys,) = nodes.depth.KeyframeDepth().solve(handle, latents, steps=1, seed=3, ensemble=1, window=3, overlap=0,
                                    max_keyframes_per_pass=2, pass_overlap=1)
    assert keys.plan.keyframes == (0, 2, 4) and len(keys.plan.keyframe_passes) == 2
    (depth,) = nodes.depth.DepthInterpolateWindow().interpolate(handle, keys)
    assert depth.latents.shape[0] == 5
    mask, _ = nodes.depth.DAV_DecodeDepth().decode(handle, depth, "disparity", "fixed", 1.0, 0.0, 16, 2)
    settings = LongVideoSettings(steps=1, seed=3, window=3, max_keyframes_per_pass=2, pass_overlap=1)
    expected = torch.stack([torch.from_numpy(f.disparity) for f in stream_depth(handle.model, frames.numpy(), settings)])
    torch.testing.assert_close(mask, expected, atol=1e-4, rtol=0)


def test_depth_nodes_reject_bad_inputs(handle, comfy):
    import copy

    from dav_core.stages import VideoLatents, model_name

    with pytest.raises(ValueError, match="non-empty"):
        nodes.depth.VideoToLatent().encode(handle, torch.zeros(0, 64, 64, 3), 960, 16)
    with pytest.raises(ValueError, match="alpha"):
        nodes.depth.VideoToLatent().encode(handle, torch.zeros(2, 64, 64, 4), 960, 16)
    with pytest.raises(ValueError, match=r"\[0,1\]"):
        nodes.depth.VideoToLatent().encode(handle, torch.full((2, 64, 64, 3), 3.0), 960, 16)
    geometry = types.SimpleNamespace(input_size=(64, 64))
    long = VideoLatents(torch.zeros(40, 4, 8, 8), geometry, id(handle.model), model_name(handle.model))
    with pytest.raises(ValueError, match="solve keyframes"):
        nodes.depth.FlowMatchDepthSampler().sample(handle, long, 1, 0, 1)
    other = nodes.model.DAVHandle(copy.deepcopy(handle.model), "another_model", "fp16")
    with pytest.raises(ValueError, match="same Load Depth Any Video Model"):
        nodes.depth.FlowMatchDepthSampler().sample(other, long, 1, 0, 1)
    with pytest.raises(ValueError, match="overlap"):
        nodes.depth.KeyframeDepth().solve(handle, long, 1, 0, 1, window=4, overlap=3)
    comfy.interrupt = True
    with pytest.raises(comfy.Interrupted):
        nodes.depth.VideoToLatent().encode(handle, random_frames(2), 960, 16)


# --------------------------------------------------------------------------- pictures and relighting


def test_colormap_normalisations():
    depth = torch.stack([torch.linspace(0.2, 0.4, 64).expand(8, 64), torch.linspace(0.4, 0.6, 64).expand(8, 64)])
    (shot,) = nodes.image.DepthToColormap().colorize(depth, "gray", False, "shot")
    assert shot.shape == (2, 8, 64, 3)
    assert shot[0, 0, 0, 0] == 0.0 and shot[1, 0, -1, 0] == 1.0
    (per_frame,) = nodes.image.DepthToColormap().colorize(depth, "gray", True, "per-frame")
    assert per_frame[0, 0, 0, 0] == 1.0 and per_frame[1, 0, 0, 0] == 1.0
    (spectral,) = nodes.image.DepthToColormap().colorize(depth, "Spectral", False, "none")
    assert not torch.allclose(spectral[..., 0], spectral[..., 1])
    with pytest.raises(ValueError, match="colormap"):
        nodes.image.DepthToColormap().colorize(depth, "jet", False, "shot")
    with pytest.raises(ValueError, match="MASK"):
        nodes.image.DepthToColormap().colorize(torch.zeros(0, 4, 4), "gray", False, "shot")


def test_normals_of_a_tilted_plane_and_relight():
    # a floor-like gradient: nearer at the bottom of the frame
    depth = torch.linspace(0.0, 1.0, 32)[:, None].expand(32, 48)[None].repeat(2, 1, 1)
    (normals,) = nodes.image.DAV_DepthToNormals().normals(depth, "disparity", 60.0, 1.0, 10.0)
    assert normals.shape == (2, 32, 48, 3) and 0 <= float(normals.min()) and float(normals.max()) <= 1
    n = normals[0, 16, 24] * 2 - 1
    assert n[2] < 0 and n[1] < 0  # faces the camera, tilted upwards (y down)
    plate = torch.full((2, 32, 48, 3), 0.5)
    (lit_top,) = nodes.image.DAV_Relight().relight(plate, normals, 0.0, 90.0, "#ffffff", 1.0, 0.5, 0.0, 1.0)
    (lit_below,) = nodes.image.DAV_Relight().relight(plate, normals, 0.0, -90.0, "#ffffff", 1.0, 0.5, 0.0, 1.0)
    assert lit_top.mean() > lit_below.mean()
    (unchanged,) = nodes.image.DAV_Relight().relight(plate, normals, 0.0, 90.0, "#ffffff", 1.0, 0.5, 0.0, 0.0)
    torch.testing.assert_close(unchanged, plate)
    (sweep,) = nodes.image.DAV_Relight().relight(plate, normals, -90.0, 0.0, "#ff0000", 1.0, 0.5, 0.0, 1.0,
                                      mask=torch.ones(1, 32, 48))
    assert not torch.allclose(sweep[0], sweep[1])
    with pytest.raises(ValueError, match="hex"):
        nodes.image.DAV_Relight().relight(plate, normals, 0, 0, "orange", 1, 0.5, 0, 1)
    with pytest.raises(ValueError, match="same frames"):
        nodes.image.DAV_Relight().relight(plate[:1], normals, 0, 0, "#ffffff", 1, 0.5, 0, 1)
    with pytest.raises(ValueError, match="far"):
        nodes.image.DAV_DepthToNormals().normals(depth, "disparity", 60.0, 5.0, 2.0)


# --------------------------------------------------------------------------- files


def test_load_video_and_save_depth_numbering(comfy):
    from dav_core.io.writers import output_is_complete, read_manifest

    write_video(comfy.input / "clip.mp4", count=6, size=(64, 96))
    assert "clip.mp4" in nodes.io.DAV_LoadVideo.INPUT_TYPES()["required"]["video"][0]
    images, source, count, fps = nodes.io.DAV_LoadVideo().load("clip.mp4", 1, 0, 2, 48)
    assert images.shape == (3, 32, 48, 3) and count == 3 and fps == pytest.approx(12)
    assert source.frame_numbers == (1, 3, 5)
    depth = images[..., 0]
    out = nodes.io.DAV_SaveDepth().save(depth, "png16", "dav/test", "disparity", "gray", 24.0, True, source)
    folder = Path(out["result"][0])
    assert sorted(p.name for p in folder.glob("*.png")) == ["depth.0001.png", "depth.0003.png", "depth.0005.png"]
    assert output_is_complete(folder) and read_manifest(folder) is not None
    nodes.io.DAV_SaveDepth().save(depth, "mp4", "dav/test", "disparity", "turbo", 24.0, True, source)
    assert (folder / "depth_preview.mp4").is_file()

    with pytest.raises(FileNotFoundError, match="input folder"):
        nodes.io.DAV_LoadVideo().load("nope.mp4", 0, 0, 1, 0)
    assert nodes.io.DAV_LoadVideo.VALIDATE_INPUTS("clip.mp4") is True
    assert "input folder" in nodes.io.DAV_LoadVideo.VALIDATE_INPUTS("nope.mp4")
    with pytest.raises(ValueError, match="start_frame"):
        nodes.io.DAV_LoadVideo().load("clip.mp4", 10, 0, 1, 0)
    with pytest.raises(ValueError, match="outside"):
        nodes.io.DAV_SaveDepth().save(depth, "exr", "../../escape", "disparity", "gray", 24.0, True, None)
    with pytest.raises(ValueError, match="source has 3 frames"):
        nodes.io.DAV_SaveDepth().save(depth[:2], "png16", "dav/x", "disparity", "gray", 24.0, True, source)


def test_video_depth_to_files(comfy, handle):
    from dav_core.io.writers import output_is_complete, read_manifest

    write_video(comfy.input / "shot.mp4", count=3, size=(64, 64))
    out = nodes.io.DAV_VideoDepthToFiles().run(handle, "shot.mp4", 0, 0, 1, 64, 1, 0, 1, 8, 0, 32, "png16", True,
                                      "dav/shot", True, 16)
    folder, count, depth_video = out["result"]
    assert depth_video is None  # no VIDEO type outside ComfyUI
    assert count == 3
    folder = Path(folder)
    assert len(list(folder.glob("depth.*.png"))) == 3 and (folder / "depth_preview.mp4").is_file()
    assert output_is_complete(folder)
    assert json.dumps(read_manifest(folder))
    before = nodes.io.DAV_VideoDepthToFiles.IS_CHANGED(video="shot.mp4", filename_prefix="dav/shot")
    (folder / "manifest.json").unlink()
    assert nodes.io.DAV_VideoDepthToFiles.IS_CHANGED(video="shot.mp4", filename_prefix="dav/shot") != before


def test_video_depth_to_files_interrupt_leaves_an_incomplete_manifest(comfy, handle):
    from dav_core.io.writers import output_is_complete

    write_video(comfy.input / "cut.mp4", count=3, size=(64, 64))
    comfy.interrupt = True  # polled after the first keyframe pass
    with pytest.raises(comfy.Interrupted):
        nodes.io.DAV_VideoDepthToFiles().run(handle, "cut.mp4", 0, 0, 1, 64, 1, 0, 1, 3, 0, 2, "exr", False,
                                    "dav/cut", True, 16)
    assert not output_is_complete(comfy.output / "dav" / "cut")


def test_sample_clip_is_offered_and_resolved(comfy):
    if not nodes._comfy.SAMPLE_CLIP.is_file():
        pytest.skip("assets/sample.mp4 not bundled")
    assert "sample.mp4" in nodes._comfy.list_input_videos()
    assert nodes._comfy.resolve_input_video("sample.mp4") == nodes._comfy.SAMPLE_CLIP


def test_the_pack_puts_its_sample_into_a_fresh_input_folder(comfy, tmp_path):
    """A fresh ComfyUI has an empty input/: the pack puts sample.mp4 there, so core Load Video (which lists
    only the input folder) finds the clip the shipped workflows name; a user's own sample.mp4 is kept."""
    target = tmp_path / "input" / "sample.mp4"
    assert not target.exists()
    assert nodes._comfy.install_sample() == target
    assert target.read_bytes() == nodes._comfy.SAMPLE_CLIP.read_bytes()
    assert not list((tmp_path / "input").glob(".*partial"))
    target.write_bytes(b"the user's own clip")
    assert nodes._comfy.install_sample() == target
    assert target.read_bytes() == b"the user's own clip"


def test_a_read_only_input_folder_is_one_log_line(comfy, tmp_path, monkeypatch, caplog):
    def refuse(*args):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(nodes._comfy.shutil, "copyfile", refuse)
    assert nodes._comfy.install_sample() is None
    assert not (tmp_path / "input" / "sample.mp4").exists()
    assert [r.getMessage() for r in caplog.records if "sample clip" in r.getMessage()] == [
        f"Depth Any Video: could not put the sample clip into {tmp_path / 'input'}: read-only file system"
    ]


def test_sampler_ensemble_matches_dav_core(handle):
    from dav_core.depth import predict_depth_window
    from dav_core.settings import DepthSettings

    frames = random_frames(2, 64, 64, seed=2)
    (latents,) = nodes.depth.VideoToLatent().encode(handle, frames, 960, 16)
    (depth,) = nodes.depth.FlowMatchDepthSampler().sample(handle, latents, steps=1, seed=1, ensemble=2)
    assert depth.latents is None and depth.disparity.shape == (2, 64, 64)
    mask, _ = nodes.depth.DAV_DecodeDepth().decode(handle, depth, "disparity", "fixed", 1.0, 0.0, 16, 2)
    expected = predict_depth_window(handle.model, frames, DepthSettings(steps=1, seed=1, ensemble=2))
    torch.testing.assert_close(mask, expected, atol=1e-4, rtol=0)
