"""ComfyUI's VIDEO type on the nodes: VIDEO or IMAGE batch in, previews on the node, the VIDEO output.

Outside ComfyUI there is no ``comfy_api``; the VIDEO inputs here are small objects with the two methods of
ComfyUI's ``VideoInput`` the pack uses (``get_stream_source``, ``get_components``), one backed by a file
like core Load Video's ``VideoFromFile``, one holding frames like ``VideoFromComponents``. The same
workflows run against a real current ComfyUI in tests/test_comfy_engine.py when one is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import load_pack, read_mp4, write_video

nodes = load_pack().nodes


@dataclass
class Components:  # the fields of comfy_api's VideoComponents the pack reads
    images: torch.Tensor
    frame_rate: Fraction
    audio: object = None


class FileVideo:
    """Like ComfyUI's VideoFromFile: a path; reading all components is what streaming must avoid."""

    def __init__(self, path: Path):
        self._path = str(path)
        self.components_read = 0

    def get_stream_source(self) -> str:
        return self._path

    def get_components(self) -> Components:
        self.components_read += 1
        import av

        with av.open(self._path) as container:
            stream = container.streams.video[0]
            frames = [torch.from_numpy(f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
            return Components(torch.stack(frames).float() / 255, Fraction(stream.average_rate))


class TrimmedFileVideo(FileVideo):
    """A file-backed VIDEO carrying its own trim (newer ComfyUI): the file alone is not the clip."""

    def __init__(self, path: Path, start_frame: int):
        super().__init__(path)
        self._TrimmedFileVideo__start_time = 1.0
        self._start = start_frame

    def get_components(self) -> Components:
        whole = super().get_components()
        return Components(whole.images[self._start :], whole.frame_rate)


class VideoInput:
    """Like ComfyUI's VideoInput base: its default stream source re-encodes the frames (lossy), never used."""

    def get_stream_source(self):
        raise AssertionError("a VIDEO held in memory is read through get_components")


class FramesVideo(VideoInput):
    """Like ComfyUI's VideoFromComponents: frames in memory, no file of its own."""

    def __init__(self, images: torch.Tensor, fps: float):
        self._components = Components(images, Fraction(fps))

    def get_components(self) -> Components:
        return self._components


@pytest.mark.slow
def test_video_to_latent_from_a_video_equals_the_image_batch(comfy, handle):
    write_video(comfy.input / "clip.mp4", count=5, size=(64, 96))
    images, *_ = nodes.io.DAV_LoadVideo().load("clip.mp4")
    (from_images,) = nodes.depth.VideoToLatent().encode(handle, images, 0, 2)
    video = FileVideo(comfy.input / "clip.mp4")
    (from_video,) = nodes.depth.VideoToLatent().encode(handle, None, 0, 2, video=video)
    assert video.components_read == 0  # streamed from the file, never held whole
    torch.testing.assert_close(from_video.latents, from_images.latents, rtol=0, atol=0)
    assert from_video.geometry == from_images.geometry
    (from_frames,) = nodes.depth.VideoToLatent().encode(handle, None, 0, 2, video=FramesVideo(images, 12.0))
    torch.testing.assert_close(from_frames.latents, from_images.latents, rtol=0, atol=0)


def test_video_to_latent_needs_exactly_one_clip(comfy, handle):
    images = torch.rand(2, 32, 32, 3)
    with pytest.raises(ValueError, match="either images .* or video .*, got neither"):
        nodes.depth.VideoToLatent().encode(handle, None, 0, 2)
    with pytest.raises(ValueError, match="got both"):
        nodes.depth.VideoToLatent().encode(handle, images, 0, 2, video=FramesVideo(images, 24.0))
    with pytest.raises(ValueError, match="must be a VIDEO"):
        nodes.depth.VideoToLatent().encode(handle, None, 0, 2, video="clip.mp4")


@pytest.mark.slow
def test_file_to_file_from_video_streams_and_matches_the_video_list(comfy, handle):
    from dav_core.io.writers import read_depth_exr

    write_video(comfy.input / "shot.mp4", count=9, size=(64, 64))
    args = (1, 0, 2, 64, 1, 0, 1, 3, 0, 2, "exr", False)  # frames 1,3,5,7; windows between keyframes
    listed = nodes.io.DAV_VideoDepthToFiles().run(handle, "shot.mp4", *args, "dav/listed", False, 4)
    video = FileVideo(comfy.input / "shot.mp4")
    given = nodes.io.DAV_VideoDepthToFiles().run(handle, "sample.mp4", *args, "dav/given", False, 4, input_video=video)
    assert video.components_read == 0
    names = sorted(p.name for p in Path(listed["result"][0]).glob("*.exr"))
    assert names == ["depth.0001.exr", "depth.0003.exr", "depth.0005.exr", "depth.0007.exr"]
    assert sorted(p.name for p in Path(given["result"][0]).glob("*.exr")) == names
    for name in names:
        np.testing.assert_array_equal(read_depth_exr(Path(given["result"][0]) / name)[0],
                                      read_depth_exr(Path(listed["result"][0]) / name)[0])


def test_file_to_file_from_images_and_from_a_trimmed_video(comfy, handle):
    from dav_core.io.writers import read_depth_exr

    write_video(comfy.input / "shot.mp4", count=6, size=(64, 64))
    images, *_ = nodes.io.DAV_LoadVideo().load("shot.mp4", 2)
    args = (0, 0, 1, 64, 1, 0, 1, 3, 0, 2, "exr", True)
    from_images = nodes.io.DAV_VideoDepthToFiles().run(handle, "sample.mp4", *args, "dav/images", False, 4,
                                              images=images, fps=12.0)
    trimmed = TrimmedFileVideo(comfy.input / "shot.mp4", start_frame=2)
    from_trim = nodes.io.DAV_VideoDepthToFiles().run(handle, "sample.mp4", *args, "dav/trim", False, 4, input_video=trimmed)
    assert trimmed.components_read == 1  # the trim lives in the VIDEO, not in its file
    a, b = Path(from_images["result"][0]), Path(from_trim["result"][0])
    names = sorted(p.name for p in a.glob("*.exr"))
    assert names == [f"depth.{i:04d}.exr" for i in range(4)]
    for name in names:
        np.testing.assert_allclose(read_depth_exr(b / name)[0], read_depth_exr(a / name)[0], atol=0)
    with pytest.raises(ValueError, match="got both"):
        nodes.io.DAV_VideoDepthToFiles().run(handle, "sample.mp4", *args, "dav/x", False, 4, input_video=trimmed,
                                    images=images)


def test_previews_are_shown_on_the_node(comfy, handle):
    depth = torch.rand(4, 32, 48)
    out = nodes.io.DAV_SaveDepth().save(depth, "exr", "dav/saved", "disparity", "Spectral", 12.0, True)
    (shown,) = out["ui"]["images"]
    assert out["ui"]["animated"] == (True,) and shown["type"] == "temp"
    preview = comfy.temp / shown["subfolder"] / shown["filename"]
    assert preview.suffix == ".mp4" and len(read_mp4(preview)) == 4
    out = nodes.io.DAV_SaveDepth().save(depth, "mp4", "dav/saved", "disparity", "Spectral", 12.0, True)
    assert out["ui"]["images"] == [{"filename": "depth_preview.mp4", "subfolder": "dav/saved", "type": "output"}]

    write_video(comfy.input / "shot.mp4", count=3, size=(64, 64))
    out = nodes.io.DAV_VideoDepthToFiles().run(handle, "shot.mp4", 0, 0, 1, 64, 1, 0, 1, 8, 0, 32, "png16", True,
                                      "dav/shot", True, 16)
    assert out["ui"]["images"] == [{"filename": "depth_preview.mp4", "subfolder": "dav/shot", "type": "output"}]
    out = nodes.io.DAV_VideoDepthToFiles().run(handle, "shot.mp4", 0, 0, 1, 64, 1, 0, 1, 8, 0, 32, "png16", False,
                                      "dav/shot2", True, 16)
    assert "images" not in out["ui"] and out["result"][2] is None


def test_relight_takes_the_plate_as_a_video(comfy):
    plate = torch.rand(3, 16, 24, 3)
    normals = torch.rand(3, 16, 24, 3)
    (from_images,) = nodes.image.DAV_Relight().relight(plate, normals)
    (from_video,) = nodes.image.DAV_Relight().relight(None, normals, video=FramesVideo(plate, 24.0))
    torch.testing.assert_close(from_video, from_images, rtol=0, atol=0)
    with pytest.raises(ValueError, match="got neither"):
        nodes.image.DAV_Relight().relight(None, normals)


def test_load_video_has_the_upload_button_and_lists_sub_folders(comfy):
    (comfy.input / "shots" / "a").mkdir(parents=True)
    write_video(comfy.input / "shots" / "a" / "plate.mov", count=2, size=(64, 96))
    (comfy.input / "notes.txt").write_text("not a video")
    for node in (nodes.io.DAV_LoadVideo, nodes.io.DAV_VideoDepthToFiles):
        names, options = node.INPUT_TYPES()["required"]["video"]
        assert options.get("video_upload", False) is (node is nodes.io.DAV_LoadVideo)  # one upload button, on the loader
        assert "shots/a/plate.mov" in names and "notes.txt" not in names
    images, _, count, _ = nodes.io.DAV_LoadVideo().load("shots/a/plate.mov")
    assert count == 2 and images.shape[0] == 2
