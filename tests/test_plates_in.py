"""Plates in: OCIO colour conversion, numbered sequences with holes, OpenImageIO readers (EXR layers, parts and
windows, DPX, TIFF), video rotation and pixel aspect, and the bad-plate errors. Every plate is made here."""

from __future__ import annotations

import json
import logging
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as ocio
import pytest

from tests.helpers import run_dav

FAST = ["--steps", "1", "--no-progress", "--format", "png16"]
BUILTIN = "ocio://cg-config-latest"


# --------------------------------------------------------------------------- plates made here


def picture(shift: int = 0, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """A smooth synthetic picture float32 [H,W,3] in [0.03, 0.95]: gradients, a disc, a bar and a highlight
    moving with ``shift``."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([x / w, y / h, 0.5 + 0.4 * np.sin((x + y) / 9.0)], axis=-1) * 0.6 + 0.1
    disc = ((x - 20 - 3 * shift) ** 2 + (y - h / 2) ** 2) < (h / 4) ** 2
    rgb[disc] = rgb[disc] * 0.3 + [0.62, 0.35, 0.2]
    rgb[h // 6 : h // 6 + 5, w // 2 + 2 * shift : w // 2 + 2 * shift + 12] = [0.15, 0.2, 0.8]
    rgb[h - 8 : h - 3, 4 + shift : 14 + shift] = [0.95, 0.94, 0.9]  # a highlight: far above 1 in scene-linear
    return np.clip(rgb, 0.03, 0.95).astype(np.float32)


def write_oiio(path: Path, pixels: np.ndarray, fmt: str = "float", channels=None, **attributes) -> Path:
    """One image through OpenImageIO: ``pixels`` [H,W,C] float in [0,1] for integer formats."""
    pixels = pixels if pixels.ndim == 3 else pixels[..., None]
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], fmt)
    if channels:
        spec.channelnames = tuple(channels)
    for key, value in attributes.items():
        spec.attribute(key, value)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)), out.geterror()
    out.close()
    return path


def display_view(direction) -> object:
    """The built-in config's ACEScg -> default display/view processor, forward or inverse."""
    config = ocio.Config.CreateFromFile(BUILTIN)
    display = config.getDefaultDisplay()
    transform = ocio.DisplayViewTransform(src="ACEScg", display=display, view=config.getDefaultView(display))
    return config.getProcessor(transform, direction).getDefaultCPUProcessor()


def png16_and_acescg(folder: Path, count: int, first: int = 1001) -> tuple[str, str]:
    """The same pictures as 16-bit display-referred PNGs and as ACEScg EXRs made with the inverse view."""
    inverse = display_view(ocio.TRANSFORM_DIR_INVERSE)
    for i in range(count):
        levels = np.round(picture(i) * 65535) / 65535  # what the PNG holds
        write_oiio(folder / f"png/shot.{first + i}.png", levels, "uint16")
        linear = np.ascontiguousarray(levels, dtype=np.float32).copy()
        inverse.applyRGB(linear)
        write_oiio(folder / f"exr/shot.{first + i}.exr", linear, "float")
    return str(folder / "png/shot.####.png"), str(folder / "exr/shot.####.exr")


@pytest.fixture(autouse=True)
def _no_ocio_env(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)


def frames_of(source) -> np.ndarray:
    return np.stack([frame for _, frame in source.frames()])  # [N,H,W,3]


def written_numbers(folder: Path) -> list[int]:
    """Frame numbers of the depth PNGs in ``folder``, parsed from the names (digits before the extension)."""
    return sorted(int(re.search(r"(-?\d+)\.png$", p.name).group(1)) for p in folder.glob("depth*.png"))


def depth_pngs(folder: Path) -> np.ndarray:
    arrays = []
    for path in sorted(folder.glob("depth*.png")):
        image = oiio.ImageInput.open(str(path))
        arrays.append(image.read_image(0, 0, 0, 1, "float")[..., 0])
        image.close()
    return np.stack(arrays)  # [N,H,W] disparity in [0,1]


# --------------------------------------------------------------------------- colour


def test_acescg_exr_reads_as_the_png_the_artist_sees(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    png, exr = png16_and_acescg(tmp_path, 2)
    reference = frames_of(FileSource(png))  # integer: display-referred, unchanged
    np.testing.assert_allclose(reference[0], np.round(picture(0) * 65535) / 65535, atol=1e-6)  # 16 bits kept
    acescg = FileSource(exr, colorspace="ACEScg")
    linear = oiio.ImageInput.open(str(tmp_path / "exr/shot.1001.exr"))
    assert linear.read_image(0, 0, 0, 3, "float").max() > 1.0  # highlights above 1 in the plate
    linear.close()
    converted = frames_of(acescg)
    assert np.abs(converted - reference).max() < 1e-3
    assert acescg.plate.colour == {
        "config": ocio.Config.CreateFromFile(BUILTIN).getName(),
        "colorspace": "ACEScg",
        "display": "sRGB - Display",
        "view": "ACES 2.0 - SDR 100 nits (Rec.709)",
    }
    # an alias names the same space; a float EXR with no colorSpace is scene_linear (ACEScg in this config)
    assert np.abs(frames_of(FileSource(exr, colorspace="lin_ap1")) - reference).max() < 1e-3
    assert FileSource(exr).plate.colour["colorspace"] == "ACEScg"
    raw = frames_of(FileSource(exr, colorspace="raw"))
    assert np.abs(raw - reference).mean() > 0.05  # the old clipped path is another picture
    assert FileSource(exr, colorspace="raw").plate.colour == {"colorspace": "raw"}


def test_declared_colourspace_is_the_default(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    rgb = picture()
    write_oiio(tmp_path / "cct.exr", rgb, "float", colorSpace="ACEScct")
    source = FileSource(tmp_path / "cct.exr")
    assert source.plate.colour["colorspace"] == "ACEScct"
    forced = FileSource(tmp_path / "cct.exr", colorspace="ACEScg")
    assert np.abs(frames_of(source) - frames_of(forced)).mean() > 0.01
    write_oiio(tmp_path / "interop.exr", rgb, "half", **{"oiio:ColorSpace": "ACEScct"})  # stored as colorInteropID
    assert FileSource(tmp_path / "interop.exr").plate.colour["colorspace"] == "ACEScct"


@pytest.mark.slow
def test_depth_of_acescg_exr_equals_depth_of_png(tmp_path: Path) -> None:
    png, exr = png16_and_acescg(tmp_path, 4)
    runs = {}
    for name, args in {"png": [png], "exr": [exr, "--colorspace", "ACEScg"], "raw": [exr, "--colorspace", "raw"]}.items():
        result = run_dav("depth", *args, "-o", tmp_path / f"out_{name}", *FAST)
        assert result.code == 0, result.err
        runs[name] = depth_pngs(tmp_path / f"out_{name}")
    assert runs["png"].shape == (4, 48, 64)
    errors = {name: float(np.abs(runs[name] - runs["png"]).mean()) for name in ("exr", "raw")}
    print("mean |depth - depth of the PNG|:", errors)
    assert errors["exr"] < 1e-3
    assert errors["raw"] > 1e-2  # clipped scene-linear gives other depth
    manifest = json.loads((tmp_path / "out_exr/manifest.json").read_text())
    assert manifest["plate"]["colour"]["colorspace"] == "ACEScg"
    assert manifest["plate"]["name"] == "shot"
    # another conversion is another input: resume refuses it
    again = run_dav("depth", exr, "--colorspace", "ACEScct", "-o", tmp_path / "out_exr", *FAST, "--resume")
    assert again.code == 2 and "another input" in again.err


# --------------------------------------------------------------------------- sequences


def hole_sequence(folder: Path, size=(32, 32)) -> Path:
    folder.mkdir(parents=True)
    for n in [*range(1001, 1007), *range(1008, 1013)]:
        write_oiio(folder / f"sh010_plate.{n}.png", picture(n - 1001, size), "uint16")
    write_oiio(folder / "sh010_plate_thumb.jpg", picture(0, size), "uint8")  # not part of the shot
    return folder


SPELLINGS = ["sh010_plate.####.png", "sh010_plate.%04d.png", "sh010_plate.1001-1012#.png", "sh010_plate.@@@@.png", ""]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_sequence_spellings_and_hole(tmp_path: Path, spelling: str, caplog) -> None:
    from dav_core.longvideo.sources import FileSource

    folder = hole_sequence(tmp_path / "plate")
    with caplog.at_level(logging.WARNING):
        source = FileSource(str(folder / spelling) if spelling else folder)
    assert list(source.frame_numbers) == list(range(1001, 1013))
    assert source.plate.missing == (1007,)
    assert (source.plate.padding, source.plate.name) == (4, "sh010_plate")
    holes = [r.getMessage() for r in caplog.records if "missing" in r.getMessage()]
    assert len(holes) == 1 and "1007" in holes[0]
    frames = dict(source.frames())
    np.testing.assert_array_equal(frames[6], frames[5])  # 1007 holds 1006
    assert not np.array_equal(frames[7], frames[5])


@pytest.mark.slow
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_depth_of_a_sequence_with_a_hole(tmp_path: Path, spelling: str, caplog) -> None:
    folder = hole_sequence(tmp_path / "plate")
    with caplog.at_level(logging.WARNING):
        result = run_dav("depth", folder / spelling if spelling else folder, "-o", tmp_path / "out", *FAST)
    assert result.code == 0, result.err
    assert written_numbers(tmp_path / "out") == [*range(1001, 1007), *range(1008, 1013)]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [
        f"depth.{n}.png" for n in [*range(1001, 1007), *range(1008, 1013)]
    ]
    holes = [r.getMessage() for r in caplog.records if "missing" in r.getMessage()]
    assert len(holes) == 1 and "1007" in holes[0]
    refused = run_dav("depth", folder / spelling if spelling else folder, "-o", tmp_path / "o2", *FAST, "--on-missing", "error")
    assert refused.code == 2 and len(refused.errors) == 1 and "1007" in refused.errors[0], refused.err
    assert "--on-missing" in refused.errors[0]


def test_start_stop_are_frame_numbers(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    folder = hole_sequence(tmp_path / "plate")
    assert list(FileSource(folder, start=1003, stop=1006).frame_numbers) == [1003, 1004, 1005]
    assert list(FileSource(folder, start=1001, stride=5).frame_numbers) == [1001, 1006, 1011]


def test_negative_frame_numbers(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    for n in (-2, -1, 0, 1):
        write_oiio(tmp_path / f"neg.{n:04d}.png", picture(n + 2, (16, 16)), "uint8")
    source = FileSource(str(tmp_path / "neg.####.png"))
    assert list(source.frame_numbers) == [-2, -1, 0, 1] and source.plate.missing == ()


def test_folder_with_two_equal_sequences_is_refused(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    for n in (1, 2):
        write_oiio(tmp_path / f"plate.{n:04d}.png", picture(n, (16, 16)), "uint8")
        write_oiio(tmp_path / f"proxy.{n:04d}.jpg", picture(n, (16, 16)), "uint8")
    with pytest.raises(ValueError, match=r"several sequences.*plate\.####\.png.*proxy\.####\.jpg"):
        FileSource(tmp_path)
    assert FileSource(str(tmp_path / "proxy.####.jpg")).num_frames == 2


# --------------------------------------------------------------------------- readers


def test_dpx_10bit_and_tiff_16_32_keep_precision(tmp_path: Path, caplog) -> None:
    from dav_core.longvideo.sources import FileSource

    ramp = np.linspace(0, 1, 32 * 40, dtype=np.float32).reshape(32, 40)
    rgb = np.stack([ramp, ramp[::-1], 1 - ramp], axis=-1)  # [32,40,3]
    for n in (1, 2):
        write_oiio(tmp_path / f"scan.{n:04d}.dpx", rgb, "uint16", **{"oiio:BitsPerSample": 10})
        write_oiio(tmp_path / f"t16.{n:04d}.tif", rgb, "uint16")
        write_oiio(tmp_path / f"t32.{n:04d}.tif", rgb, "float")
    dpx = frames_of(FileSource(str(tmp_path / "scan.####.dpx")))
    assert np.abs(dpx[0] - rgb).max() < 1.5 / 1023  # 10-bit steps
    assert len(np.unique(dpx[0, ..., 0])) > 256
    t16 = frames_of(FileSource(str(tmp_path / "t16.####.tif")))
    np.testing.assert_allclose(t16[0], rgb, atol=1.01 / 65535)  # 16-bit steps, not cut to 8 bits
    assert len(np.unique(t16[0, ..., 0])) > 1000
    t32 = FileSource(str(tmp_path / "t32.####.tif"), colorspace="raw")
    np.testing.assert_array_equal(frames_of(t32)[1], rgb)
    assert FileSource(str(tmp_path / "t32.####.tif")).plate.colour["colorspace"] == "ACEScg"  # float: scene_linear
    write_oiio(tmp_path / "log.dpx", rgb, "uint16", **{"oiio:BitsPerSample": 10, "dpx:Transfer": "Printing density"})
    with caplog.at_level(logging.WARNING):
        log_source = FileSource(tmp_path / "log.dpx")
    assert log_source.plate.colour == {"colorspace": "raw"}
    assert any("log DPX" in r.getMessage() and "display-referred" in r.getMessage() for r in caplog.records)


def test_half_exr(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    rgb = picture()
    write_oiio(tmp_path / "half.exr", rgb, "half")
    probe = oiio.ImageInput.open(str(tmp_path / "half.exr"))
    assert probe.spec().format == "half"
    probe.close()
    np.testing.assert_allclose(frames_of(FileSource(tmp_path / "half.exr", colorspace="raw"))[0], rgb, atol=1e-3)


def test_multi_part_exr_reads_the_beauty(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    rgb = picture()
    depth = oiio.ImageSpec(64, 48, 1, "float")
    depth.channelnames = ("Z",)
    depth.attribute("name", "depth")
    beauty = oiio.ImageSpec(64, 48, 3, "half")
    beauty.attribute("name", "beauty")
    path = str(tmp_path / "parts.exr")
    out = oiio.ImageOutput.create(path)
    assert out.open(path, (depth, beauty))
    out.write_image(np.full((48, 64, 1), 7.0, np.float32))
    out.open(path, beauty, "AppendSubimage")
    out.write_image(rgb)
    out.close()
    source = FileSource(path, colorspace="raw")
    np.testing.assert_allclose(frames_of(source)[0], rgb, atol=1e-3)
    assert source.plate.colour["layer"] == "beauty"


def test_exr_layers(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    albedo, beauty = np.full((16, 16, 3), 0.25, np.float32), picture(0, (16, 16))
    channels = ["albedo.R", "albedo.G", "albedo.B", "beauty.R", "beauty.G", "beauty.B"]
    path = write_oiio(tmp_path / "aov.exr", np.concatenate([albedo, beauty], axis=-1), "half", channels)
    np.testing.assert_allclose(frames_of(FileSource(path, colorspace="raw"))[0], beauty, atol=1e-3)
    np.testing.assert_allclose(frames_of(FileSource(path, colorspace="raw", layer="albedo"))[0], albedo, atol=1e-3)
    with pytest.raises(ValueError, match=r"layer 'diffuse' is not in .*aov\.exr; its layers: 'albedo', 'beauty'"):
        FileSource(path, layer="diffuse")
    only_data = write_oiio(tmp_path / "z.exr", np.ones((8, 8, 1), np.float32), "float", ["depth.Z"])
    with pytest.raises(ValueError, match=r"no picture layer .*'depth'"):
        FileSource(only_data)


def test_data_window_is_placed_in_the_display_window(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    path = str(tmp_path / "window.exr")
    spec = oiio.ImageSpec(4, 3, 3, "float")
    spec.x, spec.y = 2, 1
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, 8, 6
    out = oiio.ImageOutput.create(path)
    assert out.open(path, spec)
    out.write_image(np.full((3, 4, 3), 0.5, np.float32))
    out.close()
    source = FileSource(path, colorspace="raw")
    assert source.frame_size == (6, 8)
    frame = frames_of(source)[0]
    expected = np.zeros((6, 8, 3), np.float32)
    expected[1:4, 2:6] = 0.5
    np.testing.assert_array_equal(frame, expected)
    assert (source.plate.display_window, source.plate.data_window) == ((0, 0, 7, 5), (2, 1, 5, 3))


def test_anamorphic_exr_is_read_in_square_pixels(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    stored = np.full((24, 16, 3), 0.01, np.float32)
    stored[:, 8:] = 4.0  # a highlight: resampled before the colour conversion, so not clipped to 1 there
    source = FileSource(write_oiio(tmp_path / "ana.exr", stored, "half", PixelAspectRatio=2.0), colorspace="ACEScg")
    square = FileSource(write_oiio(tmp_path / "square.exr", stored, "half"), colorspace="ACEScg")
    assert (source.frame_size, square.frame_size) == ((24, 32), (24, 16))
    frame, reference = frames_of(source)[0], frames_of(square)[0]
    np.testing.assert_allclose(frame[:, :14], reference[:, :1].repeat(14, axis=1), atol=1e-5)
    np.testing.assert_allclose(frame[:, 18:], reference[:, -1:].repeat(14, axis=1), atol=1e-5)
    assert frame[:, 18:].min() > reference[:, :1].max() + 0.3
    assert (source.plate.pixel_aspect, source.plate.storage_size) == (2.0, (24, 16))


def test_nan_and_inf_are_sanitised_and_counted(tmp_path: Path, caplog) -> None:
    from dav_core.io.images import read_image_file
    from dav_core.longvideo.sources import FileSource

    rgb = np.full((8, 8, 3), 0.5, np.float32)
    rgb[0, 0, 0], rgb[1, 1, 1], rgb[2, 2, 2], rgb[3, 3, 0] = np.nan, np.inf, -np.inf, 4.0
    rgb[4, 4, 1] = -2.0
    path = write_oiio(tmp_path / "bad.0001.exr", rgb, "half")
    with caplog.at_level(logging.WARNING):
        pixels = read_image_file(path)
    assert np.isfinite(pixels).all()
    assert (pixels[0, 0, 0], pixels[1, 1, 1], pixels[2, 2, 2]) == (0.0, 4.0, -2.0)
    lines = [r.getMessage() for r in caplog.records if "non-finite" in r.getMessage()]
    assert len(lines) == 1 and "bad.0001.exr" in lines[0] and "3 non-finite" in lines[0]
    assert np.isfinite(frames_of(FileSource(path))).all()


def test_mixed_resolutions_and_corrupt_frames_are_named(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    for n in (1001, 1002, 1004):
        write_oiio(tmp_path / f"mix.{n}.exr", picture(0, (16, 16)), "half")
    write_oiio(tmp_path / "mix.1003.exr", picture(0, (16, 20)), "half")
    with pytest.raises(ValueError, match=r"mix\.1003\.exr has size .*\(frame 1003\)"):
        frames_of(FileSource(str(tmp_path / "mix.####.exr")))
    for n in (1001, 1002, 1003):
        write_oiio(tmp_path / f"cut.{n}.exr", picture(0, (16, 16)), "float", compression="none")
    whole = (tmp_path / "cut.1002.exr").read_bytes()
    (tmp_path / "cut.1002.exr").write_bytes(whole[: len(whole) // 2])  # truncated
    with pytest.raises(ValueError, match=r"frame 1002: .*cut\.1002\.exr"):
        frames_of(FileSource(str(tmp_path / "cut.####.exr")))
    (tmp_path / "cut.1002.exr").write_bytes(b"not an exr at all")
    with pytest.raises(ValueError, match=r"frame 1002: cannot read image .*cut\.1002\.exr"):
        frames_of(FileSource(str(tmp_path / "cut.####.exr")))


# --------------------------------------------------------------------------- video metadata


def write_clip(path: Path, frames: np.ndarray, rotation: int = 0, aspect: Fraction | None = None,
               codec: str = "libx264", pix_fmt: str = "yuv444p", fmt: str = "rgb24") -> Path:  # fmt: skip
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=12)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        if codec == "libx264":
            stream.options = {"crf": "0"}
        if rotation:
            stream.set_display_rotation(rotation)
        if aspect:
            stream.codec_context.sample_aspect_ratio = aspect
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)))
        container.mux(stream.encode(None))
    return path


def test_rotated_clip_comes_out_upright(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    if not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        pytest.skip("this PyAV cannot write a display matrix")
    stored = np.zeros((2, 48, 64, 3), np.uint8)
    stored[:, :12, :16] = 255  # a marker in the stored top-left corner
    source = FileSource(write_clip(tmp_path / "phone.mp4", stored, rotation=90))
    assert source.frame_size == (64, 48)  # as the player shows it
    frame = frames_of(source)[0]
    assert frame.shape == (64, 48, 3)
    # turned 90 degrees counter-clockwise: the stored top-left corner is now the bottom-left one
    assert frame[-16:, :12].mean() > 0.9 and frame[:16, :12].mean() < 0.1
    assert source.plate.storage_size == (64, 48)


def test_anamorphic_clip_is_read_in_square_pixels(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    stored = np.zeros((2, 48, 32, 3), np.uint8)
    stored[:, :, 16:] = 200  # right half bright
    source = FileSource(write_clip(tmp_path / "scope.mov", stored, aspect=Fraction(2, 1)))
    assert source.frame_size == (48, 64)
    frame = frames_of(source)[0]
    assert frame[:, :30].mean() < 0.05 and frame[:, 34:].mean() > 0.7
    assert (source.plate.pixel_aspect, source.plate.storage_size) == (2.0, (48, 32))


def exr_header(path: Path) -> tuple[tuple[int, int], float]:
    image = oiio.ImageInput.open(str(path))
    try:
        spec = image.spec()
        return (spec.height, spec.width), float(spec.getattribute("PixelAspectRatio"))
    finally:
        image.close()


@pytest.mark.slow  # two runs of the bundled model
def test_depth_of_rotated_and_anamorphic_clips_is_upright_and_keeps_the_pixel_aspect(tmp_path: Path) -> None:
    """dav depth of a phone clip turned 90 degrees writes depth as the player shows it; of a 2:1 anamorphic
    clip, depth at the stored size with pixel aspect 2 in the EXR header and the manifest."""
    if not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        pytest.skip("this PyAV cannot write a display matrix")
    frames = (np.stack([picture(i, (48, 64)) for i in range(3)]) * 255).astype(np.uint8)
    phone = write_clip(tmp_path / "phone.mp4", frames, rotation=90)
    scope = write_clip(tmp_path / "scope.mov", frames[:, :, ::2], aspect=Fraction(2, 1))  # stored 48x32
    for clip in (phone, scope):
        run = run_dav("depth", clip, "--output", tmp_path / clip.stem, "--format", "exr", "--no-progress")
        assert run.code == 0, run.err
    assert exr_header(tmp_path / "phone" / "depth.0000.exr") == ((64, 48), 1.0)
    assert exr_header(tmp_path / "scope" / "depth.0002.exr") == ((48, 32), 2.0)
    manifest = json.loads((tmp_path / "scope" / "manifest.json").read_text())
    assert manifest["plate"]["pixel_aspect"] == 2.0 and manifest["plate"]["storage_size"] == [48, 32]


def test_10bit_video_keeps_16bit_precision(tmp_path: Path) -> None:
    from dav_core.longvideo.sources import FileSource

    ramp = np.linspace(0, 1, 48 * 64).reshape(48, 64)
    frames = np.repeat(np.repeat(ramp[None, ..., None], 3, axis=-1), 2, axis=0)
    path = write_clip(tmp_path / "ten.mkv", (frames * 65535).astype(np.uint16), codec="ffv1",
                      pix_fmt="yuv444p10le", fmt="rgb48le")  # fmt: skip
    frame = frames_of(FileSource(path))[0]
    assert len(np.unique(frame[..., 0])) > 600  # more levels than 8 bits hold
    assert np.abs(frame - ramp[..., None]).max() < 2e-3


def test_video_list_and_reader_agree() -> None:
    import importlib.util

    from dav_core.io.video import VIDEO_EXTENSIONS
    from tests.helpers import REPO

    spec = importlib.util.spec_from_file_location("comfy_helpers", REPO / "nodes" / "_comfy.py")
    comfy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(comfy)
    assert ".mxf" in comfy.VIDEO_EXTENSIONS and set(comfy.VIDEO_EXTENSIONS) <= VIDEO_EXTENSIONS  # PyAV reads mxf


# --------------------------------------------------------------------------- bad plates


def test_bad_plate_lines(tmp_path: Path, monkeypatch) -> None:
    from dav_core.longvideo.sources import FileSource

    result = run_dav("depth", tmp_path / "nothing.####.exr", "-o", tmp_path / "out", *FAST)
    assert result.code == 2 and len(result.errors) == 1 and "nothing.####.exr matches no files" in result.errors[0]
    path = write_oiio(tmp_path / "plate.exr", picture(0, (8, 8)), "half")
    with pytest.raises(ValueError, match=r"colorspace 'ACEScgg' is not a colourspace .*close matches: ACEScg"):
        FileSource(path, colorspace="ACEScgg")
    result = run_dav("depth", path, "-o", tmp_path / "out", "--colorspace", "ACEScgg", *FAST)
    assert result.code == 2 and len(result.errors) == 1 and "--colorspace 'ACEScgg'" in result.errors[0]
    with pytest.raises(ValueError, match=r"view 'nope' is not a view of display"):
        FileSource(path, view="nope")
    monkeypatch.setenv("OCIO", str(tmp_path / "missing.ocio"))
    result = run_dav("depth", path, "-o", tmp_path / "out", *FAST)
    assert result.code == 2 and len(result.errors) == 1, result.err
    assert re.search(r"\$OCIO: cannot read the OCIO config .*missing\.ocio", result.errors[0])


def test_a_colour_managed_sequence_pickles_for_farm_workers(tmp_path: Path) -> None:
    """Farm workers receive the frame source pickled: the OCIO processor is made again there, same frames."""
    import pickle

    _, exr = png16_and_acescg(tmp_path, 2)
    from dav_core.longvideo.sources import FileSource

    source = FileSource(exr, colorspace="ACEScg")
    copy = pickle.loads(pickle.dumps(source))
    assert copy.plate == source.plate and copy.frame_numbers == source.frame_numbers
    assert np.array_equal(frames_of(copy), frames_of(source))
