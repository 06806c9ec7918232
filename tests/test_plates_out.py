"""Depth out as compositors expect it: <name>.<frame>.<ext> with the plate's numbers and padding, EXRs with a
depth layer (and normals), the plate's windows, pixel aspect, frame number and colourspace, anamorphic plates
written back at their storage size, resume and overwrite under the new names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
import torch

from dav_core.io import writers
from dav_core.io.depth_outputs import DepthOutputs, depth_files
from dav_core.io.plate import PlateInfo
from dav_core.io.writers import ExrSequenceWriter, read_depth_exr, read_depth_png16, read_manifest
from dav_core.job import OutputSpec, write_depth
from dav_core.longvideo.sources import ArraySource
from dav_core.resize import resize_frames
from dav_core.settings import LongVideoSettings
from tests.helpers import run_dav, write_image, write_video

pytestmark = pytest.mark.usefixtures("single_thread")

SETTINGS = LongVideoSettings(steps=1, max_resolution=64, memory="off")
NUMBERS = [1001, 1002, 1003, 1004]
ACES = {"config": "ocio://cg-config-latest", "colorspace": "ACEScg", "display": "sRGB - Display", "view": "x"}


def plate_source(plate: PlateInfo | None = None, numbers=NUMBERS, size=(32, 64)) -> ArraySource:
    frames = np.random.default_rng(0).random((len(numbers), *size, 3), dtype=np.float32)
    source = ArraySource(frames, fps=24.0, frame_numbers=numbers)
    if plate is not None:
        source.plate = plate
    return source


def names(folder: Path, pattern: str = "*.*") -> list[str]:
    return sorted(p.name for p in folder.glob(pattern) if p.name != "manifest.json" and not p.name.startswith("."))


def exr_spec(path: Path):
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec()
    inp.close()
    return spec


# --------------------------------------------------------------------------- names


def test_a_plates_frames_keep_their_numbers_and_padding(tmp_path, tiny_model):
    write_depth(tiny_model, plate_source(PlateInfo(padding=4)), SETTINGS, OutputSpec(tmp_path / "a", ("png16",)))
    assert names(tmp_path / "a") == [f"depth.{n}.png" for n in NUMBERS]

    output = OutputSpec(tmp_path / "b", ("png16", "npy", "mp4"), name="sh010_depth")
    write_depth(tiny_model, plate_source(PlateInfo(padding=6)), SETTINGS, output)
    expected = [f"sh010_depth.{n:06d}.png" for n in NUMBERS] + ["sh010_depth.npy", "sh010_depth_preview.mp4"]
    assert names(tmp_path / "b") == sorted(expected)
    manifest = read_manifest(tmp_path / "b")
    assert manifest["completed"] and manifest["name"] == "sh010_depth"
    assert manifest["outputs"]["png16"]["files"] == "sh010_depth.%06d.png"
    assert manifest["plate"] == json.loads(json.dumps(PlateInfo(padding=6).to_dict()))
    array = np.load(tmp_path / "b" / "sh010_depth.npy")
    np.testing.assert_allclose(read_depth_png16(tmp_path / "b" / "sh010_depth.001002.png", writers.DepthEncoding()),
                               array[1], atol=1 / 65535 + 1e-6)


def test_negative_frame_numbers_are_padded_as_fileseq_pads_them(tmp_path):
    numbers = [-2, -1, 0, 1]
    frame = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    job = {"input": {"x": 1}, "settings": {}, "model": None}
    with DepthOutputs(tmp_path, ["png16"], numbers, job) as outputs:
        for number in numbers:
            outputs.write(number, frame)
    assert names(tmp_path) == ["depth.-001.png", "depth.-002.png", "depth.0000.png", "depth.0001.png"]
    assert DepthOutputs(tmp_path, ["png16"], numbers, job, resume=True).kept == set(numbers)


def test_a_videos_frames_are_numbered_from_first_frame(tmp_path, tiny_dav_dir):
    clip = write_video(tmp_path / "clip.mp4", count=3, size=(48, 64))
    common = ["--model", tiny_dav_dir, "--steps", "1", "--max-resolution", "64", "--memory", "off", "--no-progress"]
    run = run_dav("depth", clip, "--output", tmp_path / "a", "--format", "png16", *common)
    assert run.code == 0, run.err
    assert names(tmp_path / "a") == ["depth.0000.png", "depth.0001.png", "depth.0002.png"]
    assert f"to {tmp_path / 'a'}" in run.err

    run = run_dav("depth", clip, "--output", tmp_path / "b", "--format", "exr,mp4", "--first-frame", "1001",
                  "--start", "1", "--name", "shot", *common)
    assert run.code == 0, run.err
    assert names(tmp_path / "b") == ["shot.1002.exr", "shot.1003.exr", "shot_preview.mp4"]
    assert exr_spec(tmp_path / "b" / "shot.1002.exr").getattribute("frame") == 1002
    assert read_manifest(tmp_path / "b")["job"]["output"] == {
        "name": "shot", "first_frame": 1001, "exr_type": "float", "exr_layers": ["depth"]
    }


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--name", "", "--name must be a non-empty file name"),
        ("--name", "a/b", "--name must be a plain file name"),
        ("--name", ".hidden", "--name must be a plain file name"),
        ("--exr-layers", "depth,albedo", "--exr-layers takes a comma-separated list of depth, normals"),
        ("--exr-layers", "normals", "that includes depth"),
    ],
)
def test_bad_names_and_layers_are_refused_naming_the_option(tmp_path, option, value, message):
    clip = write_video(tmp_path / "clip.mp4", count=2)
    run = run_dav("depth", clip, "--output", tmp_path / "out", option, value)
    assert run.code != 0 and any(message in line for line in run.errors), run.err
    assert not (tmp_path / "out").exists()


def test_the_input_sequence_is_not_overwritten_by_outputs_of_its_own_name(tmp_path, tiny_model):
    source = plate_source(PlateInfo(name="plate"))
    source.path = tmp_path / "plate.####.exr"
    with pytest.raises(ValueError, match="'plate' is the name of the input sequence"):
        write_depth(tiny_model, source, SETTINGS, OutputSpec(tmp_path, ("exr",), name="plate", overwrite=True))


# --------------------------------------------------------------------------- EXR


WINDOWS = PlateInfo(
    padding=4, display_window=(10, 20, 73, 51), data_window=(12, 22, 69, 50), colour=ACES, name="sh010"
)


def test_exr_has_a_depth_layer_and_the_plates_header(tmp_path, tiny_model):
    source = plate_source(WINDOWS)
    result = write_depth(tiny_model, source, SETTINGS, OutputSpec(tmp_path, ("exr",)))
    assert names(tmp_path) == [f"depth.{n}.exr" for n in NUMBERS]
    job = read_manifest(tmp_path)["job"]
    for number in NUMBERS:
        spec = exr_spec(tmp_path / f"depth.{number}.exr")
        assert spec.channelnames == ("depth.Z",) and spec.format == oiio.FLOAT
        assert spec.getattribute("frame") == number
        assert spec.getattribute("dav:sourceColorSpace") == "ACEScg"
        assert json.loads(spec.getattribute("dav:colour")) == ACES
        assert spec.getattribute("PixelAspectRatio") == 1.0
        assert spec.getattribute("framesPerSecond") == (24, 1)
        assert json.loads(spec.getattribute("dav:model")) == job["model"]
        assert json.loads(spec.getattribute("dav:settings")) == job["settings"]
        display = (spec.full_x, spec.full_y, spec.full_x + spec.full_width - 1, spec.full_y + spec.full_height - 1)
        data = (spec.x, spec.y, spec.x + spec.width - 1, spec.y + spec.height - 1)
        assert (display, data) == ((10, 20, 73, 51), (12, 22, 69, 50))
    # the stored pixels are the data window's part of the depth over the display window
    whole = write_depth(tiny_model, plate_source(), SETTINGS, OutputSpec(tmp_path / "whole", ("exr",)))
    assert whole.num_frames == result.num_frames
    stored, encoding = read_depth_exr(tmp_path / "depth.1002.exr")
    full, _ = read_depth_exr(tmp_path / "whole" / "depth.1002.exr")
    np.testing.assert_array_equal(stored, full[2:31, 2:60])
    assert encoding == writers.DepthEncoding()


def test_exr_half_and_the_normals_layer(tmp_path, tiny_model):
    output = OutputSpec(tmp_path, ("exr",), exr_type="half", exr_layers=("depth", "normals"))
    write_depth(tiny_model, plate_source(), SETTINGS, output)
    path = tmp_path / "depth.1001.exr"
    spec = exr_spec(path)
    assert sorted(spec.channelnames) == ["N.X", "N.Y", "N.Z", "depth.Z"]
    assert all(spec.channelformat(i) == oiio.HALF for i in range(spec.nchannels))
    pixels = oiio.ImageInput.open(str(path)).read_image("float")  # [H,W,4]
    normals = pixels[..., [spec.channelindex(c) for c in ("N.X", "N.Y", "N.Z")]]
    np.testing.assert_allclose(np.linalg.norm(normals, axis=-1), 1.0, atol=2e-3)  # unit, at half precision
    assert (normals[..., 2] > 0).all()  # OpenGL camera space: visible surfaces face +z
    depth, _ = read_depth_exr(path)
    float_run = write_depth(tiny_model, plate_source(), SETTINGS, OutputSpec(tmp_path / "f", ("exr",)))
    assert float_run.computed == 4
    exact, _ = read_depth_exr(tmp_path / "f" / "depth.1001.exr")
    np.testing.assert_allclose(depth, exact, atol=1e-3)  # half keeps the depth to ~3 digits
    assert not np.array_equal(depth, exact)


def test_normals_lean_the_way_the_surface_turns_and_honour_pixel_aspect(tmp_path):
    """A surface that recedes to the right and up faces right (+x), up (+y) and the viewer (+z, OpenGL axes).
    An anamorphic plate (2:1 pixels, half the columns) of the same surface gives the same normals."""
    rows, cols = np.mgrid[0:32, 0:64].astype(np.float32)
    ramp = 1.0 - 0.4 * cols / 63 - 0.4 * (31 - rows) / 31  # disparity: farther to the right and to the top
    plates = {"square": (ramp, PlateInfo(), 8), "anamorphic": (ramp[:, ::2], PlateInfo(pixel_aspect=2.0), 4)}
    read = {}
    for name, (values, plate, margin) in plates.items():
        with ExrSequenceWriter(tmp_path / name, writers.DepthEncoding(), plate=plate, layers=("depth", "normals")) as w:
            w.write(1, values)
        image = oiio.ImageInput.open(str(tmp_path / name / "depth.0001.exr")).read_image("float")  # [H,W,4]
        read[name] = image[8:24, margin:-margin, :3].mean(axis=(0, 1))  # N.X, N.Y, N.Z of the same region
    assert read["square"][0] > 0.2 and read["square"][1] > 0.2 and read["square"][2] > 0.2
    np.testing.assert_allclose(read["anamorphic"], read["square"], atol=0.02)
    squeezed = ExrSequenceWriter(tmp_path / "wrong", writers.DepthEncoding(), layers=("depth", "normals"))
    wrong = -squeezed._normals(ramp[:, ::2])[1, 8:24, 4:-4].mean()  # N.Y (OpenGL) without the pixel aspect
    assert abs(wrong - read["square"][1]) > 0.05
    squeezed.abort()


def test_an_anamorphic_plate_is_written_at_its_storage_size_with_its_pixel_aspect(tmp_path, tiny_model):
    plate = PlateInfo(pixel_aspect=2.0, storage_size=(32, 32))
    write_depth(tiny_model, plate_source(plate), SETTINGS, OutputSpec(tmp_path, ("exr", "png16")))
    square = write_depth(tiny_model, plate_source(), SETTINGS, OutputSpec(tmp_path / "square", ("exr",)))
    assert square.computed == 4
    spec = exr_spec(tmp_path / "depth.1003.exr")
    assert (spec.height, spec.width, spec.full_height, spec.full_width) == (32, 32, 32, 32)
    assert spec.getattribute("PixelAspectRatio") == 2.0
    depth, _ = read_depth_exr(tmp_path / "depth.1003.exr")
    made, _ = read_depth_exr(tmp_path / "square" / "depth.1003.exr")  # [32,64] at square pixels
    expected = resize_frames(torch.from_numpy(made)[None, None], (32, 32))[0, 0].numpy()
    np.testing.assert_allclose(depth, expected, atol=1e-6)
    manifest = read_manifest(tmp_path)
    assert manifest["plate"]["pixel_aspect"] == 2.0 and manifest["plate"]["storage_size"] == [32, 32]
    assert (manifest["outputs"]["png16"]["width"], manifest["outputs"]["png16"]["height"]) == (32, 32)


def test_a_failed_exr_frame_leaves_no_file_under_its_final_name(tmp_path, monkeypatch):
    real = writers.write_depth_exr

    def failing(path, depth, *, frame, **kwargs):
        real(path, depth, frame=frame, **kwargs)  # the temporary file is complete ...
        if frame == 1002:
            raise OSError("No space left on device")  # ... and then the disk fills

    monkeypatch.setattr(writers, "write_depth_exr", failing)
    with pytest.raises(OSError, match="No space"), ExrSequenceWriter(tmp_path, writers.DepthEncoding()) as w:
        for number in NUMBERS:
            w.write(number, np.full((4, 6), 0.5, np.float32))
    assert names(tmp_path, "*") == ["depth.1001.exr"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_windows_that_do_not_fit_the_depth_are_refused_before_a_file_is_written(tmp_path):
    plate = PlateInfo(display_window=(0, 0, 9, 9))
    with pytest.raises(ValueError, match=r"depth frame 1001 is 6x4 but the plate's display window \(0, 0, 9, 9\) is 10x10"):
        with ExrSequenceWriter(tmp_path, writers.DepthEncoding(), plate=plate) as writer:
            writer.write(1001, np.zeros((4, 6), np.float32))
    assert names(tmp_path, "*") == [] and not list(tmp_path.glob(".*.tmp"))
    assert read_manifest(tmp_path)["completed"] is False


# --------------------------------------------------------------------------- resume and overwrite


def test_resume_keeps_frames_and_overwrite_removes_files_of_earlier_names(tmp_path, tiny_model):
    plate = PlateInfo(padding=4)
    output = OutputSpec(tmp_path, ("png16", "exr"))
    write_depth(tiny_model, plate_source(plate), SETTINGS, output)
    kept = {p.name: p.read_bytes() for p in tmp_path.glob("depth.*")}
    (tmp_path / "depth.1003.png").unlink()  # as if interrupted
    resumed = OutputSpec(tmp_path, ("png16", "exr"), resume=True)
    result = write_depth(tiny_model, plate_source(plate), SETTINGS, resumed)
    assert (result.computed, result.kept) == (1, 3)
    assert {p.name: p.read_bytes() for p in tmp_path.glob("depth.*")} == kept  # same settings, same bits

    renamed = OutputSpec(tmp_path, ("png16", "exr"), resume=True, name="shot")
    with pytest.raises(ValueError, match=r"other names or layout \(name: 'depth' -> 'shot'\)"):
        write_depth(tiny_model, plate_source(plate), SETTINGS, renamed)

    # files of earlier versions (depth_000000.png) and of the recorded name go with an overwrite
    write_image(tmp_path / "depth_000000.png", np.zeros((3, 3), np.uint16))
    (tmp_path / "depth_preview.mp4").write_bytes(b"old")
    with pytest.raises(ValueError, match="already holds 10 depth files of another run"):
        write_depth(tiny_model, plate_source(plate), SETTINGS, OutputSpec(tmp_path, ("png16",), name="shot"))
    (tmp_path / "notes.txt").write_text("mine")
    write_depth(tiny_model, plate_source(plate), SETTINGS, OutputSpec(tmp_path, ("png16",), name="shot", overwrite=True))
    assert names(tmp_path, "*") == ["notes.txt"] + [f"shot.{n}.png" for n in NUMBERS]
    assert [p.name for p in depth_files(tmp_path)] == [f"shot.{n}.png" for n in NUMBERS]
    assert read_manifest(tmp_path)["name"] == "shot"
