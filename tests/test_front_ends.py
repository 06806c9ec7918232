"""One pipeline, three front ends: `dav depth`, the file-to-file node and the node chain agree exactly."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from dav_core.cli import main as dav_main
from dav_core.commands.bench import write_test_video

pytestmark = pytest.mark.usefixtures("single_thread")

FRAMES = 40
# steps, seed, max resolution, window, keyframes per pass: 40 frames -> several keyframe passes and windows
CLI_SETTINGS = ["--steps", "1", "--seed", "3", "--max-resolution", "64", "--window", "8", "--keyframes-per-pass", "4"]


def write_clip(path: Path, count: int = FRAMES, size: int = 64) -> None:
    """The benchmark's clip: a textured square moving over a gradient (neighbouring frames differ)."""
    write_test_video(path, count, size)


def read_exrs(folder: Path, count: int) -> np.ndarray:
    from dav_core.io.writers import read_depth_exr

    return np.stack([read_depth_exr(folder / f"depth_{i:06d}.exr")[0] for i in range(count)])


def read_mp4(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def run_cli(*args) -> int:
    return dav_main(["depth", *map(str, args), "--no-progress"])


@pytest.fixture
def clip(comfy) -> Path:
    path = comfy.input / "clip.mp4"
    write_clip(path)
    return path


def test_cli_file_node_and_node_chain_give_identical_depth_and_preview(comfy, handle, clip, tiny_dav_dir):
    from nodes.depth import DAV_DecodeDepth, DepthInterpolateWindow, KeyframeDepth, VideoToLatent
    from nodes.image import DepthToColormap
    from nodes.io import DAV_LoadVideo, DAV_VideoDepthToFiles

    cli_out = comfy.output / "cli"
    assert (
        run_cli(clip, "--output", cli_out, "--model", tiny_dav_dir, "--format", "exr,mp4", *CLI_SETTINGS) == 0
    )
    cli = read_exrs(cli_out, FRAMES)

    result = DAV_VideoDepthToFiles().run(
        handle, "clip.mp4", 0, 0, 1, 64, 1, 3, 1, 8, 0, 4, "exr", True, "dav/f2f", False, 16
    )
    file_node = read_exrs(Path(result["result"][0]), FRAMES)

    images, _, _, _ = DAV_LoadVideo().load("clip.mp4", 0, 0, 1, 0)
    (latents,) = VideoToLatent().encode(handle, images, 64, 16)
    (keys,) = KeyframeDepth().solve(handle, latents, 1, 3, 1, 8, 0, 4, 2)
    assert len(keys.plan.keyframe_passes) > 1 and keys.plan.windows
    (depth_latents,) = DepthInterpolateWindow().interpolate(handle, keys)
    mask, _ = DAV_DecodeDepth().decode(handle, depth_latents, "disparity", "fixed", 1.0, 0.0, 16, 2)

    np.testing.assert_array_equal(cli, file_node)
    np.testing.assert_array_equal(cli, mask.numpy())

    # previews: the two files come from one writer; the colormap node draws the same colours
    cli_preview = read_mp4(cli_out / "depth_preview.mp4")
    np.testing.assert_array_equal(cli_preview, read_mp4(Path(result["result"][0]) / "depth_preview.mp4"))
    (colours,) = DepthToColormap().colorize(mask, "Spectral", False, "none")
    colours = (colours.numpy() * 255).round()
    error = np.abs(cli_preview.astype(np.float32) - colours).mean()
    flipped = np.abs(
        cli_preview.astype(np.float32)
        - DepthToColormap().colorize(mask, "Spectral", True, "none")[0].numpy() * 255
    ).mean()
    assert error < 6.0 < flipped, (error, flipped)  # H.264 is lossy; near and far swapped is far off


@pytest.mark.parametrize("chunk_size", [1, 2])
def test_small_chunk_sizes_work(tmp_path, tiny_dav_dir, chunk_size):
    clip = tmp_path / "clip.mp4"
    write_clip(clip, count=12)
    out = tmp_path / "out"
    args = [clip, "--output", out, "--model", tiny_dav_dir, "--chunk-size", chunk_size, *CLI_SETTINGS]
    assert run_cli(*args) == 0
    assert len(list(out.glob("depth_*.png"))) == 12 and (out / "depth_preview.mp4").is_file()


def test_a_file_is_probed_once_opened_once_per_pass_and_each_frame_converted_once(
    tmp_path, tiny_dav_dir, monkeypatch
):
    import dav_core.io.video as video

    clip = tmp_path / "clip.mp4"
    write_clip(clip)
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
        )
        == 0
    )
    assert len(opens) == 3, opens  # one probe, one open for the keyframes, one for the windows
    assert len(converted) == FRAMES and len(set(converted)) == FRAMES  # no frame converted twice or discarded
    assert len(list((tmp_path / "out").glob("depth_*.png"))) == FRAMES


def test_stream_and_stages_share_one_schedule(tiny_model):
    """The stage functions composed by hand give stream_depth's disparity for an array source too."""
    from dav_core.longvideo.runner import stream_depth
    from dav_core.longvideo.settings import LongVideoSettings
    from dav_core.stages import decode_depth, encode_video, fill_windows, solve_keyframes

    frames = torch.rand(13, 64, 64, 3, generator=torch.Generator().manual_seed(0))
    settings = LongVideoSettings(steps=1, max_resolution=64, window=4, max_keyframes_per_pass=3)
    video = encode_video(tiny_model, frames, 64, settings.chunk_size)
    disparity = decode_depth(
        tiny_model, fill_windows(tiny_model, solve_keyframes(tiny_model, video, settings))
    )
    streamed = np.stack([f.disparity for f in stream_depth(tiny_model, frames, settings)])
    np.testing.assert_array_equal(streamed, disparity.numpy())
