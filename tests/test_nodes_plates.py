"""DAV Load Plate Sequence and DAV Save Depth on a plate: pattern in the input folder, OCIO lists, the plate's
frame numbers (a hole is held, not saved), the plate's size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
import torch

from tests.helpers import load_pack
from tests.test_plates_in import display_view, picture, write_oiio

nodes = load_pack().nodes
PLATES = nodes.plates


@pytest.fixture(autouse=True)
def _no_ocio_env(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)


def aces_plate(folder: Path, numbers=(1001, 1002, 1004)) -> None:
    """An ACEScg EXR sequence with a hole at 1003, made from ``picture`` with the inverse of the default view."""
    import PyOpenColorIO as ocio

    inverse = display_view(ocio.TRANSFORM_DIR_INVERSE)
    for i, number in enumerate(numbers):
        linear = picture(i).copy()
        inverse.applyRGB(linear)
        write_oiio(folder / f"sh010_plate.{number}.exr", linear, "half")


def test_the_colour_lists_come_from_the_active_config():
    required = PLATES.DAV_LoadPlate.INPUT_TYPES()["required"]
    spaces, displays, views = (required[name][0] for name in ("colorspace", "display", "view"))
    assert spaces[:2] == ["auto", "raw"] and "ACEScg" in spaces and "ACEScct" in spaces
    assert displays[:2] == ["auto", "sRGB - Display"]
    assert views[:2] == ["auto", "ACES 2.0 - SDR 100 nits (Rec.709)"]


def test_load_plate_by_pattern_then_save_depth_by_frame_number(comfy, tmp_path):
    aces_plate(tmp_path / "input" / "plates")
    images, source, count, fps = PLATES.DAV_LoadPlate().load("plates/sh010_plate.####.exr", colorspace="ACEScg")
    assert count == 4 and images.shape == (4, 48, 64, 3) and fps == 24.0
    assert source.frame_numbers == (1001, 1002, 1003, 1004) and source.plate.missing == (1003,)
    # the IMAGE is the plate as displayed: the picture it was made from, and the held frame repeats 1002
    expected = torch.from_numpy(np.stack([picture(0), picture(1), picture(1), picture(2)]))
    assert (images - expected).abs().max() < 2e-3
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0

    depth = torch.linspace(0, 1, 4)[:, None, None].expand(4, 48, 64).contiguous()  # [N,H,W]
    out = nodes.io.DAV_SaveDepth().save(depth, "exr", "dav/plate", source=source)
    folder = Path(out["result"][0])
    assert sorted(p.name for p in folder.glob("*.exr")) == ["depth.1001.exr", "depth.1002.exr", "depth.1004.exr"]
    image = oiio.ImageInput.open(str(folder / "depth.1004.exr"))
    try:
        assert "depth.Z" in list(image.spec().channelnames) and image.spec().getattribute("frame") == 1004
        assert image.spec().getattribute("dav:sourceColorSpace") == "ACEScg"
        assert np.allclose(image.read_image(0, 0, 0, 1, "float")[..., 0], 1.0)
    finally:
        image.close()


def test_a_downscaled_plate_is_saved_at_the_plates_size(comfy, tmp_path):
    aces_plate(tmp_path / "input" / "plates")
    images, source, _, _ = PLATES.DAV_LoadPlate().load("plates/", colorspace="ACEScg", max_resolution=32)
    assert images.shape == (4, 24, 32, 3)
    out = nodes.io.DAV_SaveDepth().save(torch.rand(4, 24, 32), "png16", "dav/small", source=source)
    image = oiio.ImageInput.open(str(Path(out["result"][0]) / "depth.1001.png"))
    assert (image.spec().height, image.spec().width) == (48, 64)
    image.close()


def test_frame_range_and_missing_frames_refused_on_request(comfy, tmp_path):
    aces_plate(tmp_path / "input" / "plates")
    _, source, count, _ = PLATES.DAV_LoadPlate().load("plates/sh010_plate.%04d.exr", frame_range="1002-1003")
    assert count == 2 and source.frame_numbers == (1002, 1003)
    with pytest.raises(ValueError, match="1003"):
        PLATES.DAV_LoadPlate().load("plates/sh010_plate.####.exr", on_missing="error")


@pytest.mark.parametrize(("text", "expected"), [("", (None, None)), ("1001", (1001, 1002)),
                                                ("1001-1050", (1001, 1051)), ("-5--1", (-5, 0))])
def test_frame_range_parsing(text, expected):
    assert PLATES.parse_frame_range(text) == expected


def test_bad_plate_inputs_are_refused_at_prompt_time(comfy, tmp_path, monkeypatch):
    validate = PLATES.DAV_LoadPlate.VALIDATE_INPUTS
    assert validate(pattern="plates/x.####.exr", frame_range="1001-1010") is True
    assert "outside ComfyUI's input folder" in validate(pattern="../secret/x.####.exr", frame_range="")
    assert "DAV_PLATE_ROOTS" in validate(pattern=str(tmp_path / "shots" / "x.####.exr"), frame_range="")
    assert "frame_range" in validate(pattern="plates/x.####.exr", frame_range="10-1")
    assert "pattern is empty" in validate(pattern=" ", frame_range="")
    monkeypatch.setenv("DAV_PLATE_ROOTS", str(tmp_path / "shots"))
    assert validate(pattern=str(tmp_path / "shots" / "x.####.exr"), frame_range="") is True


def test_a_pattern_matching_nothing_is_one_line(comfy, tmp_path):
    (tmp_path / "input" / "plates").mkdir()
    with pytest.raises((ValueError, FileNotFoundError)) as error:
        PLATES.DAV_LoadPlate().load("plates/none.####.exr")
    assert "none.####.exr" in str(error.value) and "\n" not in str(error.value)
