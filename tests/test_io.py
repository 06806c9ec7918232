"""Tests for dav_core.io: video/image readers, streaming depth writers, colormaps."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from dav_core.io.colormaps import COLORMAP_NAMES, apply_colormap, get_colormap
from dav_core.io.video import frame_range, natural_key, open_frames, probe_video, scaled_size
from dav_core.io.writers import (
    DepthEncoding,
    ExrSequenceWriter,
    NpyWriter,
    Png16SequenceWriter,
    PreviewMp4Writer,
    existing_frames,
    make_writer,
    output_is_complete,
    read_depth_exr,
    read_depth_png16,
    read_manifest,
)
from tests.helpers import gray_frames, write_image, write_mp4, write_plate

NORM = DepthEncoding(kind="disparity", low=-1.0, high=3.0, relative=True)


def level(frame: np.ndarray) -> int:
    return round(float(frame.mean()) * 255 / 10)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write_mp4(path, gray_frames(20), fps=25)
    return path


def depth_frames(count: int, height: int = 33, width: int = 47, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 3.0, size=(height, width)).astype(np.float32) for _ in range(count)]


# --------------------------------------------------------------------------- reading


def test_probe_video(video: Path) -> None:
    info = probe_video(video)
    assert (info.num_frames, info.fps, info.width, info.height) == (20, 25.0, 64, 48)


def test_probe_counts_frames_when_container_has_no_count(tmp_path: Path) -> None:
    path = tmp_path / "clip.mkv"  # Matroska headers carry no frame count
    write_mp4(path, gray_frames(7, 16, 16), fps=10, codec="ffv1")
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0
    assert probe_video(path).num_frames == 7


def test_read_all_video_frames(video: Path) -> None:
    frames = list(open_frames(video)[1])
    assert len(frames) == 20
    assert all(f.dtype == np.float32 and f.shape == (48, 64, 3) for f in frames)
    assert all(0.0 <= f.min() and f.max() <= 1.0 for f in frames)
    assert [level(f) for f in frames] == list(range(20))


def test_read_video_range_stride_and_resolution(video: Path) -> None:
    frames = list(open_frames(video, start=3, stop=15, stride=4, max_resolution=32)[1])
    assert [level(f) for f in frames] == [3, 7, 11]
    assert all(f.shape == (24, 32, 3) for f in frames)
    assert [level(f) for f in open_frames(video, start=18, stop=100)[1]] == [18, 19]


def test_open_frames_video(video: Path) -> None:
    info, frames = open_frames(video, start=1, stride=5)
    assert info.num_frames == 20
    selected = frame_range(info.num_frames, 1, None, 5)
    assert [level(f) for f in frames] == list(selected) == [1, 6, 11, 16]


def test_frame_range_and_scaled_size() -> None:
    assert frame_range(10, 2, 7, 2) == range(2, 7, 2)
    assert frame_range(5, 8) == range(8, 8)
    assert scaled_size(1920, 1080, 960) == (960, 540)
    assert scaled_size(100, 50, 200) == (100, 50)  # never upscales
    assert scaled_size(1000, 1, 10) == (10, 1)
    for kwargs, name in [
        (dict(start=-1), "start"),
        (dict(stride=0), "stride"),
        (dict(start=5, stop=2), "stop"),
    ]:
        with pytest.raises(ValueError, match=name):
            frame_range(10, **kwargs)
    with pytest.raises(ValueError, match="max_resolution"):
        scaled_size(10, 10, 0)


def test_image_folder_natural_sort(tmp_path: Path) -> None:
    # unpadded frame numbers: frame_10 comes after frame_9 (numbers come from the names; holes are held)
    write_plate(tmp_path, {f"frame_{n}.png": np.full((6, 8, 3), n, dtype=np.uint8) for n in (10, 2, 1, *range(3, 10))})
    (tmp_path / "notes.txt").write_text("ignored")
    info, frames = open_frames(tmp_path)
    assert (info.num_frames, info.width, info.height) == (10, 8, 6)
    assert [round(float(f[0, 0, 0]) * 255) for f in frames] == list(range(1, 11))
    assert sorted(["f10", "f2", "F1"], key=natural_key) == ["F1", "f2", "f10"]


def test_image_folder_stride_resolution_and_16bit(tmp_path: Path) -> None:
    write_plate(tmp_path, [np.full((40, 80), 1000 * i + 7, dtype=np.uint16) for i in range(5)], "{}.png")
    frames = list(open_frames(tmp_path, start=1, stride=2, max_resolution=20)[1])
    assert len(frames) == 2 and frames[0].shape == (10, 20, 3)
    np.testing.assert_allclose(frames[1], (3007 / 65535), atol=1e-6)  # 16 bits survive


def test_single_image_input(tmp_path: Path) -> None:
    write_image(tmp_path / "one.jpg", np.full((30, 60, 3), 200, dtype=np.uint8))
    info, frames = open_frames(tmp_path / "one.jpg", max_resolution=30)
    assert (info.num_frames, info.width, info.height) == (1, 60, 30)
    (frame,) = list(frames)
    assert frame.shape == (15, 30, 3)


def test_exr_image_input(tmp_path: Path) -> None:
    pytest.importorskip("OpenEXR")
    rgb = np.random.default_rng(0).uniform(0, 1, (5, 4, 3)).astype(np.float32)
    write_image(tmp_path / "img.exr", rgb)
    _, frames = open_frames(tmp_path / "img.exr", colorspace="raw")  # as stored, no colour conversion
    np.testing.assert_array_equal(next(frames), rgb)


def test_input_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_frames(tmp_path / "missing.mp4")
    with pytest.raises(FileNotFoundError):
        probe_video(tmp_path / "missing.mp4")
    (tmp_path / "clip.xyz").write_bytes(b"data")
    with pytest.raises(ValueError, match="unsupported input extension"):
        open_frames(tmp_path / "clip.xyz")
    (tmp_path / "broken.mp4").write_bytes(b"this is not a video")
    with pytest.raises(ValueError, match="cannot read video"):
        open_frames(tmp_path / "broken.mp4")
    (tmp_path / "zero.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot read video"):
        probe_video(tmp_path / "zero.mp4")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(ValueError, match="no image frames"):
        open_frames(empty_dir)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read image"):
        open_frames(tmp_path / "bad.png")


def test_empty_video(tmp_path: Path) -> None:
    path = write_mp4(tmp_path / "empty.avi", np.zeros((0, 32, 32, 3), np.uint8), codec="mpeg4")  # no frames
    with pytest.raises(ValueError, match="has no frames"):
        probe_video(path)


def test_folder_with_mixed_sizes(tmp_path: Path) -> None:
    write_plate(tmp_path, {"a1.png": np.zeros((4, 4, 3), np.uint8), "a2.png": np.zeros((5, 4, 3), np.uint8)})
    with pytest.raises(ValueError, match="a2.png has size"):
        list(open_frames(tmp_path)[1])


# --------------------------------------------------------------------------- writers: round trips


def test_depth_encoding() -> None:
    disp = DepthEncoding("disparity", 0.1, 2.0)
    assert (disp.low, disp.high, disp.near, disp.far) == (0.1, 2.0, 2.0, 0.1)
    depth = DepthEncoding("depth", 0.5, 10.0)
    assert (depth.near, depth.far) == (0.5, 10.0)
    assert DepthEncoding.from_dict(json.loads(json.dumps(NORM.to_dict()))) == NORM
    with pytest.raises(ValueError, match="high must be"):
        DepthEncoding(low=1.0, high=1.0)
    with pytest.raises(ValueError, match="kind must be"):
        DepthEncoding(kind="metric")  # type: ignore[arg-type]


def test_png16_round_trip(tmp_path: Path) -> None:
    frames = depth_frames(3)
    with Png16SequenceWriter(tmp_path, NORM, expected_frames=[11, 13, 15]) as writer:
        for index, depth in zip([11, 13, 15], frames, strict=True):
            writer.write(index, depth)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["depth.0011.png", "depth.0013.png", "depth.0015.png"]
    with Image.open(tmp_path / "depth.0011.png") as img:
        assert img.mode == "I;16" and img.size == (47, 33)
    for number, depth in zip([11, 13, 15], frames, strict=True):
        decoded = read_depth_png16(tmp_path / f"depth.{number:04d}.png", NORM)
        error = np.abs(decoded - depth).max() / (NORM.high - NORM.low)
        assert error <= 1 / 65535
    manifest = read_manifest(tmp_path)
    entry = manifest["outputs"]["png16"]
    assert manifest["completed"] and entry["completed"]
    assert (entry["frame_count"], entry["width"], entry["height"]) == (3, 47, 33)
    assert entry["frame_indices"] == [11, 13, 15] and entry["files"] == "depth.%04d.png"
    assert entry["normalization"] == NORM.to_dict()


def test_png16_clips_out_of_range_and_refuses_nan(tmp_path: Path) -> None:
    with Png16SequenceWriter(tmp_path, DepthEncoding(low=0.0, high=1.0)) as writer:
        writer.write(0, np.array([[-5.0, 0.5, 7.0]], dtype=np.float32))
        with pytest.raises(ValueError, match="frame 1 holds NaN or infinite values"):
            writer.write(1, np.array([[0.5, np.nan, 0.5]], dtype=np.float32))
    with Image.open(tmp_path / "depth.0000.png") as img:
        assert np.asarray(img).tolist() == [[0, 32768, 65535]]
    assert not (tmp_path / "depth.0001.png").exists()


def test_exr_round_trip(tmp_path: Path) -> None:
    oiio = pytest.importorskip("OpenImageIO")
    frames = depth_frames(2)
    with ExrSequenceWriter(tmp_path, NORM, expected_frames=2) as writer:
        for index, depth in enumerate(frames):
            writer.write(index, depth)
    for index, depth in enumerate(frames):
        decoded, norm = read_depth_exr(tmp_path / f"depth.{index:04d}.exr")
        assert decoded.dtype == np.float32
        np.testing.assert_array_equal(decoded, depth)
        assert norm == NORM
        spec = oiio.ImageInput.open(str(tmp_path / f"depth.{index:04d}.exr")).spec()
        assert spec.channelnames == ("depth.Z",)
        values = (spec.getattribute("davKind"), spec.getattribute("davRelative"), spec.getattribute("davFrame"))
        assert values == ("disparity", 1, index)
    assert output_is_complete(tmp_path, "exr")


@pytest.mark.parametrize("dtype,atol", [("float32", 0.0), ("float16", 2e-3)])
def test_npy_round_trip(tmp_path: Path, dtype: str, atol: float) -> None:
    frames = depth_frames(4)
    with NpyWriter(tmp_path, NORM, expected_frames=4, dtype=dtype) as writer:
        for index, depth in enumerate(frames):
            writer.write(index, depth)
    array = np.load(tmp_path / "depth.npy")
    assert array.shape == (4, 33, 47) and array.dtype == np.dtype(dtype)
    if atol == 0.0:
        np.testing.assert_array_equal(array, np.stack(frames))
    else:
        np.testing.assert_allclose(array.astype(np.float32), np.stack(frames), atol=atol)
    assert not (tmp_path / "depth.partial.npy").exists()
    assert read_manifest(tmp_path)["outputs"]["npy"]["file"] == "depth.npy"


def smooth_frames(count: int, height: int = 33, width: int = 47) -> list[np.ndarray]:
    """Horizontal ramps over the normalisation range, shifted per frame (compress well, unlike noise)."""
    ramp = np.linspace(NORM.low, NORM.high, width, dtype=np.float32)
    return [np.tile(np.roll(ramp, 3 * i), (height, 1)) for i in range(count)]


def test_mp4_odd_size(tmp_path: Path) -> None:
    frames = smooth_frames(6)
    with PreviewMp4Writer(tmp_path, NORM, fps=24, colormap="turbo", expected_frames=6) as writer:
        for index, depth in enumerate(frames):
            writer.write(index, depth)
    path = tmp_path / "depth_preview.mp4"
    assert path.exists() and not (tmp_path / "depth_preview.partial.mp4").exists()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert stream.average_rate == 24
    assert len(decoded) == 6
    assert decoded[0].shape == (34, 48, 3)  # 33 x 47 padded to even
    expected = writer.colorize(frames[0]).astype(np.float32)
    # lossy 4:2:0 coding, but the same picture (a wrong picture is ~50 off)
    assert np.abs(decoded[0].astype(np.float32) - expected).mean() < 8
    entry = read_manifest(tmp_path)["outputs"]["mp4"]
    assert entry["completed"] and (entry["width"], entry["height"]) == (47, 33)


def test_several_writers_share_a_folder(tmp_path: Path) -> None:
    frames = depth_frames(2, 8, 8)
    png = make_writer("png16", tmp_path, NORM, expected_frames=2)
    mp4 = make_writer("mp4", tmp_path, NORM, fps=10, expected_frames=2)
    with png, mp4:
        for index, depth in enumerate(frames):
            png.write(index, depth)
            mp4.write(index, depth)
            assert not output_is_complete(tmp_path)
    assert output_is_complete(tmp_path) and output_is_complete(tmp_path, "png16") and output_is_complete(tmp_path, "mp4")
    with pytest.raises(ValueError, match="format must be one of"):
        make_writer("tiff", tmp_path, NORM)


# --------------------------------------------------------------------------- interruption and resume


def write_interrupted(writer, frames: list[np.ndarray], stop_after: int) -> None:
    with pytest.raises(KeyboardInterrupt), writer:
        for index, depth in enumerate(frames):
            if index == stop_after:
                raise KeyboardInterrupt
            writer.write(index, depth)


def test_interruption_keeps_frames_and_no_completed_manifest(tmp_path: Path) -> None:
    frames = depth_frames(5)
    write_interrupted(Png16SequenceWriter(tmp_path, NORM, expected_frames=5), frames, stop_after=3)
    assert sorted(p.name for p in tmp_path.glob("depth.*")) == [f"depth.{i:04d}.png" for i in range(3)]
    assert not list(tmp_path.glob(".*tmp"))
    for index in range(3):
        decoded = read_depth_png16(tmp_path / f"depth.{index:04d}.png", NORM)
        assert np.abs(decoded - frames[index]).max() <= (NORM.high - NORM.low) / 65535
    manifest = read_manifest(tmp_path)
    assert manifest["completed"] is False and manifest["outputs"]["png16"]["frame_count"] == 3
    assert not output_is_complete(tmp_path)


def test_interrupted_single_file_outputs_stay_partial(tmp_path: Path) -> None:
    frames = depth_frames(5, 16, 16)
    write_interrupted(NpyWriter(tmp_path, NORM, expected_frames=5), frames, stop_after=2)
    write_interrupted(PreviewMp4Writer(tmp_path, NORM, fps=10, expected_frames=5), frames, stop_after=2)
    assert not (tmp_path / "depth.npy").exists() and not (tmp_path / "depth_preview.mp4").exists()
    partial = np.load(tmp_path / "depth.partial.npy")
    np.testing.assert_array_equal(partial[:2], np.stack(frames[:2]))
    manifest = read_manifest(tmp_path)
    assert not manifest["completed"]
    assert manifest["outputs"]["npy"]["file"] == "depth.partial.npy"
    assert not manifest["outputs"]["mp4"]["completed"]


def test_close_with_missing_frames_is_incomplete(tmp_path: Path) -> None:
    with NpyWriter(tmp_path, NORM, expected_frames=3) as writer:
        writer.write(0, depth_frames(1)[0])
    assert not (tmp_path / "depth.npy").exists()
    assert not output_is_complete(tmp_path)


def test_stale_completed_manifest_is_cleared_on_open(tmp_path: Path) -> None:
    frames = depth_frames(2, 8, 8)
    with Png16SequenceWriter(tmp_path, NORM, expected_frames=2) as writer:
        for index, depth in enumerate(frames):
            writer.write(index, depth)
    assert output_is_complete(tmp_path)
    writer = Png16SequenceWriter(tmp_path, NORM, expected_frames=2, overwrite=True)
    assert not output_is_complete(tmp_path) and not list(tmp_path.glob("*.png"))
    writer.abort()


def test_resume(tmp_path: Path) -> None:
    frames = depth_frames(5, 12, 10)
    write_interrupted(Png16SequenceWriter(tmp_path, NORM, expected_frames=5), frames, stop_after=3)
    assert existing_frames(tmp_path, "png16") == [0, 1, 2]

    # a damaged file (truncated) and a file of the wrong size do not count as written
    data = (tmp_path / "depth.0002.png").read_bytes()
    (tmp_path / "depth.0002.png").write_bytes(data[: len(data) // 2])
    write_image(tmp_path / "depth.0001.png", np.zeros((3, 3), np.uint16))
    assert existing_frames(tmp_path, "png16") == [0]

    with pytest.raises(ValueError, match=r"already holds 3 png16 frames from another run: resume it \(resume=True\)"):
        Png16SequenceWriter(tmp_path, NORM, expected_frames=5)
    with pytest.raises(ValueError, match="cannot resume"):
        Png16SequenceWriter(tmp_path, DepthEncoding(low=0.0, high=1.0), expected_frames=5, resume=True)

    with Png16SequenceWriter(tmp_path, NORM, expected_frames=5, resume=True) as writer:
        assert writer.existing == {0}
        for index in range(5):
            if index not in writer.existing:
                writer.write(index, frames[index])
    assert output_is_complete(tmp_path)
    assert existing_frames(tmp_path, "png16") == [0, 1, 2, 3, 4]
    assert read_manifest(tmp_path)["outputs"]["png16"]["frame_indices"] == [0, 1, 2, 3, 4]


def test_resume_exr_and_unsupported_format(tmp_path: Path) -> None:
    pytest.importorskip("OpenImageIO")
    frames = depth_frames(3, 6, 6)
    write_interrupted(ExrSequenceWriter(tmp_path, NORM, expected_frames=3), frames, stop_after=2)
    (tmp_path / "depth.0001.exr").write_bytes(b"\x76\x2f\x31\x01garbage")
    assert existing_frames(tmp_path, "exr") == [0]
    with pytest.raises(ValueError, match="format must be one of png16, exr"):
        existing_frames(tmp_path, "npy")


def test_writer_validation(tmp_path: Path) -> None:
    writer = Png16SequenceWriter(tmp_path, NORM, expected_frames=[0, 2])
    with pytest.raises(ValueError, match="2-D"):
        writer.write(0, np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="not among the expected"):
        writer.write(1, np.zeros((2, 2)))
    writer.write(0, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="already written"):
        writer.write(0, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="expected \\(2, 2\\)"):
        writer.write(2, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="frame_index must be an integer"):
        writer.write(1.5, np.zeros((2, 2)))
    writer.close()
    assert not output_is_complete(tmp_path)
    with pytest.raises(ValueError, match="closed"):
        writer.write(2, np.zeros((2, 2)))

    npy = NpyWriter(tmp_path / "n", NORM, expected_frames=2)
    npy.write(3, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must increase"):
        npy.write(3, np.zeros((2, 2)))
    npy.abort()
    with pytest.raises(ValueError, match="expected_frames is required"):
        NpyWriter(tmp_path / "n", NORM, expected_frames=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fps must be"):
        PreviewMp4Writer(tmp_path / "m", NORM, fps=0)
    with pytest.raises(ValueError, match="encoding must be"):
        Png16SequenceWriter(tmp_path / "p", (0.0, 1.0))  # type: ignore[arg-type]


def test_single_file_needs_overwrite(tmp_path: Path) -> None:
    for attempt in range(2):
        with NpyWriter(tmp_path, NORM, expected_frames=1, overwrite=attempt == 1) as writer:
            writer.write(0, np.full((2, 2), attempt, np.float32))
    assert np.load(tmp_path / "depth.npy").max() == 1
    with pytest.raises(ValueError, match="overwrite=True"):
        NpyWriter(tmp_path, NORM, expected_frames=1)


# --------------------------------------------------------------------------- colormaps


def test_colormaps() -> None:
    for name in COLORMAP_NAMES:
        lut = get_colormap(name)
        assert lut.shape == (256, 3) and lut.dtype == np.uint8
        assert len({tuple(c) for c in lut}) > 100  # a real ramp, not a few flat colours
    assert get_colormap("Spectral")[0].tolist() == [0x9E, 0x01, 0x42]
    assert get_colormap("viridis")[-1].tolist() == [0xFD, 0xE7, 0x25]
    np.testing.assert_array_equal(get_colormap("gray")[:, 0], np.arange(256))
    np.testing.assert_array_equal(get_colormap("inferno_r"), get_colormap("inferno")[::-1])
    turbo = get_colormap("turbo").astype(int)
    assert (
        turbo[128, 1] > 200 and turbo[0, 2] < 100 and turbo[255, 0] > turbo[255, 2]
    )  # green middle, red end
    rgb = apply_colormap(np.array([[0.0, 1.0], [0.5, np.nan]]), "gray")
    assert rgb.shape == (2, 2, 3) and rgb[:, :, 0].tolist() == [[0, 255], [128, 0]]
    with pytest.raises(ValueError, match="colormap must be one of"):
        get_colormap("jet")
