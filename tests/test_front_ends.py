"""One pipeline, three front ends: `dav depth`, the file-to-file node and the node chain agree exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import DavRun, load_pack, read_mp4, run_dav, write_test_clip

nodes = load_pack().nodes

pytestmark = pytest.mark.usefixtures("single_thread")

CLIP_FRAMES = FRAMES = 40
# steps, seed, max resolution, window, keyframes per pass: 40 frames -> several keyframe passes and windows
CLI_SETTINGS = ["--steps", "1", "--seed", "3", "--max-resolution", "64", "--window", "8", "--keyframes-per-pass", "4"]


def read_exrs(folder: Path, count: int) -> np.ndarray:
    from dav_core.io.writers import read_depth_exr

    return np.stack([read_depth_exr(folder / f"depth.{i:04d}.exr")[0] for i in range(count)])


def run_cli(*args) -> DavRun:
    return run_dav("depth", *args, "--no-progress")


@pytest.mark.slow
def test_cli_file_node_and_node_chain_give_identical_depth_and_preview(comfy, handle, clip, tiny_dav_dir):
    shutil.copy(clip, comfy.input / "clip.mp4")
    cli_out = comfy.output / "cli"
    assert (
        run_cli(clip, "--output", cli_out, "--model", tiny_dav_dir, "--format", "exr,mp4", *CLI_SETTINGS).code == 0
    )
    cli = read_exrs(cli_out, FRAMES)

    result = nodes.io.DAV_VideoDepthToFiles().run(
        handle, "clip.mp4", 0, 0, 1, 64, 1, 3, 1, 8, 0, 4, "exr", True, "dav/f2f", False, 16
    )
    file_node = read_exrs(Path(result["result"][0]), FRAMES)

    images, _, _, _ = nodes.io.DAV_LoadVideo().load("clip.mp4", 0, 0, 1, 0)
    (latents,) = nodes.depth.VideoToLatent().encode(handle, images, 64, 16)
    (keys,) = nodes.depth.KeyframeDepth().solve(handle, latents, 1, 3, 1, 8, 0, 4, 2)
    assert len(keys.plan.keyframe_passes) > 1 and keys.plan.windows
    (depth_latents,) = nodes.depth.DepthInterpolateWindow().interpolate(handle, keys)
    mask, _ = nodes.depth.DAV_DecodeDepth().decode(handle, depth_latents, "disparity", "fixed", 1.0, 0.0, 16, 2)

    np.testing.assert_array_equal(cli, file_node)
    np.testing.assert_array_equal(cli, mask.numpy())

    # previews: the two files come from one writer; the colormap node draws the same colours
    cli_preview = read_mp4(cli_out / "depth_preview.mp4")
    np.testing.assert_array_equal(cli_preview, read_mp4(Path(result["result"][0]) / "depth_preview.mp4"))
    (colours,) = nodes.image.DepthToColormap().colorize(mask, "Spectral", False, "none")
    colours = (colours.numpy() * 255).round()
    error = np.abs(cli_preview.astype(np.float32) - colours).mean()
    flipped = np.abs(
        cli_preview.astype(np.float32)
        - nodes.image.DepthToColormap().colorize(mask, "Spectral", True, "none")[0].numpy() * 255
    ).mean()
    assert error < 6.0 < flipped, (error, flipped)  # H.264 is lossy; near and far swapped is far off


@pytest.mark.parametrize("chunk_size", [1, 2])
def test_small_chunk_sizes_work(tmp_path, tiny_dav_dir, chunk_size):
    clip = write_test_clip(tmp_path / "clip.mp4", 12)
    out = tmp_path / "out"
    args = [clip, "--output", out, "--model", tiny_dav_dir, "--chunk-size", chunk_size, *CLI_SETTINGS]
    assert run_cli(*args).code == 0
    assert len(list(out.glob("depth.*.png"))) == 12 and (out / "depth_preview.mp4").is_file()


def test_a_file_is_probed_once_opened_once_per_pass_and_each_frame_converted_once(
    tmp_path, clip, tiny_dav_dir, monkeypatch
):
    import dav_core.io.video as video

    opens, converted = [], []
    real_open, real_convert = video.av.open, video._frame_to_float

    def counting_open(*args, **kwargs):
        opens.append(args[0])
        return real_open(*args, **kwargs)

    def counting_convert(frame):
        converted.append(frame.pts)
        return real_convert(frame)

    monkeypatch.setattr(video.av, "open", counting_open)
    monkeypatch.setattr(video, "_frame_to_float", counting_convert)
    assert (
        run_cli(
            clip, "--output", tmp_path / "out", "--model", tiny_dav_dir, "--format", "png16", *CLI_SETTINGS
        ).code
        == 0
    )
    assert len(opens) == 3, opens  # one probe, one open for the keyframes, one for the windows
    assert len(converted) == FRAMES and len(set(converted)) == FRAMES  # no frame converted twice or discarded
    assert len(list((tmp_path / "out").glob("depth.*.png"))) == FRAMES


def test_stream_and_stages_share_one_schedule(tiny_model):
    """The stage functions composed by hand give stream_depth's disparity for an array source too."""
    from dav_core.settings import LongVideoSettings
    from dav_core.stages import decode_depth, encode_video, fill_windows, solve_keyframes, stream_depth

    frames = torch.rand(13, 64, 64, 3, generator=torch.Generator().manual_seed(0))
    settings = LongVideoSettings(steps=1, max_resolution=64, window=4, max_keyframes_per_pass=3)
    video = encode_video(tiny_model, frames, 64, settings.chunk_size)
    disparity = decode_depth(
        tiny_model, fill_windows(tiny_model, solve_keyframes(tiny_model, video, settings))
    )
    streamed = np.stack([f.disparity for f in stream_depth(tiny_model, frames, settings)])
    np.testing.assert_array_equal(streamed, disparity.numpy())
