"""Video in, depth files out: load a clip from the input folder, save depth sequences, whole shots to files."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import torch

from . import _comfy
from ._comfy import CATEGORY
from .depth import CHUNK, ENSEMBLE, MODEL_INPUT, SEED, STEPS, _tip

# An IMAGE batch is float32 in RAM; beyond this, route the shot through DAV Video Depth To Files.
MAX_BATCH_BYTES = int(os.environ.get("DAV_MAX_BATCH_BYTES", 24 * 2**30))
SAVE_FORMATS = ["exr", "png16", "mp4", "npy"]
FILE_FORMATS = ["png16", "exr", "npy"]


@dataclass(frozen=True)
class DAVSource:
    """DAV_SOURCE: where a loaded clip came from, so saved depth frames carry the source frame numbers."""

    path: str
    frame_numbers: tuple[int, ...]
    fps: float


def _video_combo():
    videos = _comfy.list_input_videos()
    return (videos or ["sample.mp4"], {"tooltip": "A video in ComfyUI's input folder (mp4, mov, mkv, webm, avi)"})


FRAME_INPUTS = {
    "start_frame": _tip("INT", 0, "First source frame to use (0 = the first frame of the file)", min=0, max=10**7),
    "end_frame": _tip("INT", 0, "Source frame to stop before (exclusive); 0 = to the end of the file", min=0, max=10**7),
    "stride": _tip("INT", 1, "Use every n-th frame (2 = every other frame)", min=1, max=1000),
}


def _file_hash(path) -> str:
    stat = os.stat(path)
    return hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()


def _validate_video(video):
    """ComfyUI's input check for the video combos: a readable file, or a message saying what to do."""
    try:
        _comfy.resolve_input_video(video)
    except (OSError, ValueError) as error:
        return str(error)
    return True


class DAV_LoadVideo:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "video": _video_combo(),
                **FRAME_INPUTS,
                "max_resolution": _tip(
                    "INT", 0, "Downscale so the longer side is at most this (0 = full size); keeps the IMAGE "
                    "batch small", min=0, max=8192, step=8,
                ),
            }
        }

    RETURN_TYPES = ("IMAGE", "DAV_SOURCE", "INT", "FLOAT")
    RETURN_NAMES = ("images", "source", "frame_count", "fps")
    OUTPUT_TOOLTIPS = (
        "The selected frames as an image batch",
        "Source file and frame numbers, for Save Depth",
        "Number of frames loaded",
        "Frame rate of the file",
    )
    FUNCTION = "load"
    CATEGORY = CATEGORY
    DESCRIPTION = "Reads a video from ComfyUI's input folder with PyAV: frame range, stride and a size limit."

    @classmethod
    def IS_CHANGED(cls, video, **kwargs):
        try:
            return _file_hash(_comfy.resolve_input_video(video))
        except (OSError, ValueError):
            return float("nan")

    @classmethod
    def VALIDATE_INPUTS(cls, video):
        return _validate_video(video)

    def load(self, video, start_frame=0, end_frame=0, stride=1, max_resolution=0):
        from dav_core.io.video import frame_range, open_frames, scaled_size

        path = _comfy.resolve_input_video(video)
        stop = end_frame or None
        if stop is not None and stop <= start_frame:
            raise ValueError(f"end_frame ({end_frame}) must be after start_frame ({start_frame}), or 0 for the end")
        info, frames = open_frames(path, start=start_frame, stop=stop, stride=stride,
                                   max_resolution=max_resolution or None)
        numbers = tuple(frame_range(info.num_frames, start_frame, stop, stride))
        if not numbers:
            raise ValueError(
                f"{video} has {info.num_frames} frames; start_frame {start_frame} selects none of them"
            )
        width, height = scaled_size(info.width, info.height, max_resolution or None)
        size = len(numbers) * width * height * 3 * 4
        if size > MAX_BATCH_BYTES:
            raise ValueError(
                f"{len(numbers)} frames of {width}x{height} need {size / 2**30:.1f} GiB as an image batch "
                f"(limit {MAX_BATCH_BYTES / 2**30:.0f} GiB): raise stride, lower max_resolution, load a shorter "
                "range, or use DAV Video Depth To Files for the whole shot"
            )
        bar = _comfy.progress_bar(len(numbers))
        out = []
        for frame in frames:
            _comfy.check_interrupt()
            out.append(torch.from_numpy(np.ascontiguousarray(frame, dtype=np.float32)))
            bar.update(1)
        if hasattr(frames, "close"):
            frames.close()
        if not out:
            raise ValueError(f"no frames could be decoded from {video}")
        images = torch.stack(out)
        source = DAVSource(str(path), numbers[: len(out)], float(info.fps))
        return (images, source, len(out), float(info.fps))


def _normalization(values: str):
    from dav_core.io.writers import DepthNormalization

    return DepthNormalization(kind="depth" if values == "depth" else "disparity", low=0.0, high=1.0, relative=True)


class DAV_SaveDepth:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "depth": ("MASK", {"tooltip": "Depth from Decode Depth (0..1)"}),
                "format": (SAVE_FORMATS, {
                    "default": "exr",
                    "tooltip": "exr: float32 sequence for compositing; png16: 16-bit grey sequence; mp4: "
                    "colour-mapped preview; npy: one array file",
                }),
                "filename_prefix": ("STRING", {
                    "default": "dav/depth",
                    "tooltip": "Folder under ComfyUI's output folder; frames are named depth_<source frame>.ext",
                }),
                "values": (["disparity", "depth"], {
                    "default": "disparity",
                    "tooltip": "What the mask holds (Decode Depth's output setting), recorded in the files",
                }),
                "colormap": (["Spectral", "turbo", "inferno", "viridis", "gray"], {
                    "default": "Spectral", "tooltip": "mp4 only: colours of the preview",
                }),
                "fps": ("FLOAT", {
                    "default": 24.0, "min": 1.0, "max": 240.0, "step": 0.001,
                    "tooltip": "mp4 only: frame rate when no source is connected",
                }),
                "overwrite": ("BOOLEAN", {
                    "default": True, "tooltip": "Replace frames already in the folder (off: stop with an error instead)",
                }),
            },
            "optional": {
                "source": ("DAV_SOURCE", {"tooltip": "From DAV Load Video: names frames by their source frame numbers and sets the mp4 frame rate"}),
            },
        }

    RETURN_TYPES = ("STRING",)
    RETURN_NAMES = ("folder",)
    OUTPUT_TOOLTIPS = ("The folder the files were written to",)
    FUNCTION = "save"
    OUTPUT_NODE = True
    CATEGORY = CATEGORY
    DESCRIPTION = "Writes a depth batch to the output folder as EXR or 16-bit PNG frames, an mp4 preview or npy, with a manifest."

    def save(self, depth, format="exr", filename_prefix="dav/depth", values="disparity", colormap="Spectral",
             fps=24.0, overwrite=True, source=None):
        from dav_core.io.writers import make_writer

        from .image import _check_mask

        depth = _check_mask(depth)
        if format not in SAVE_FORMATS:
            raise ValueError(f"format must be one of {', '.join(SAVE_FORMATS)}, got {format!r}")
        numbers = list(range(depth.shape[0]))
        if source is not None:
            if len(source.frame_numbers) != depth.shape[0]:
                raise ValueError(
                    f"the source has {len(source.frame_numbers)} frames but the depth has {depth.shape[0]}: "
                    "connect the DAV Load Video node whose frames made this depth"
                )
            numbers, fps = list(source.frame_numbers), source.fps or fps
        folder = _comfy.output_folder(filename_prefix)
        kwargs = {"expected_frames": numbers, "overwrite": overwrite}
        if format == "mp4":
            kwargs.update(fps=fps, colormap=colormap)
        writer = make_writer(format, folder, _normalization(values), **kwargs)
        bar = _comfy.progress_bar(len(numbers))
        try:
            for number, frame in zip(numbers, depth.cpu().numpy(), strict=True):
                _comfy.check_interrupt()
                writer.write(number, frame)
                bar.update(1)
        except BaseException:
            writer.abort()
            raise
        writer.close()
        return {"ui": {"text": [f"{len(numbers)} {format} frames in {folder}"]}, "result": (str(folder),)}


class DAV_VideoDepthToFiles:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dav_model": MODEL_INPUT,
                "video": _video_combo(),
                **FRAME_INPUTS,
                "max_resolution": _tip(
                    "INT", 0, "The longer side the model works at; depth is written at the video's size. "
                    "0 = the model's own (64 for the bundled model, 960 for Depth Any Video)",
                    min=0, max=4096, step=64,
                ),
                "steps": STEPS,
                "seed": SEED,
                "ensemble": ENSEMBLE,
                "window": _tip("INT", 8, "Frames per interpolation window including both keyframes", min=3, max=64),
                "overlap": _tip("INT", 0, "Frames shared by neighbouring windows; at most window-3", min=0, max=61),
                "max_keyframes_per_pass": _tip("INT", 32, "Keyframes denoised together per pass (GPU memory)", min=2, max=256),
                "format": (FILE_FORMATS, {"default": "png16", "tooltip": "png16: 16-bit frames; exr: float32 frames; npy: one array"}),
                "preview_mp4": ("BOOLEAN", {"default": True, "tooltip": "Also write a colour-mapped depth_preview.mp4 beside the frames"}),
                "filename_prefix": ("STRING", {"default": "dav/shot", "tooltip": "Folder under ComfyUI's output folder"}),
                "resume": ("BOOLEAN", {"default": True, "tooltip": "Keep frames a cancelled run already wrote and compute only the rest (same settings give identical frames)"}),
                "chunk_size": CHUNK,
            }
        }

    RETURN_TYPES = ("STRING", "INT")
    RETURN_NAMES = ("folder", "frame_count")
    OUTPUT_TOOLTIPS = ("The folder holding the depth files", "Frames in the folder")
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = CATEGORY
    DESCRIPTION = (
        "The whole long-video chain file to file (keyframes, interpolation windows, chunked decode), streaming "
        "frames to disk: for shots too long to hold as image batches. Frames are named by source frame number."
    )

    @classmethod
    def VALIDATE_INPUTS(cls, video):
        return _validate_video(video)

    @classmethod
    def IS_CHANGED(cls, video=None, filename_prefix="dav/shot", **kwargs):
        """Re-run when the video changes or the output folder's manifest was touched or removed."""
        try:
            marker = _file_hash(_comfy.resolve_input_video(video))
            manifest = _comfy.output_folder(filename_prefix) / "manifest.json"
            return marker + (f"|{manifest.stat().st_mtime_ns}" if manifest.is_file() else "|none")
        except (OSError, ValueError, TypeError):
            return float("nan")

    def run(self, dav_model, video, start_frame=0, end_frame=0, stride=1, max_resolution=0, steps=3, seed=0,
            ensemble=1, window=8, overlap=0, max_keyframes_per_pass=32, format="png16", preview_mp4=True,
            filename_prefix="dav/shot", resume=True, chunk_size=16):
        from dav_core.io.writers import make_writer
        from dav_core.longvideo.runner import LongVideoSettings, stream_depth
        from dav_core.longvideo.sources import FileSource

        path = _comfy.resolve_input_video(video)
        if format not in FILE_FORMATS:
            raise ValueError(f"format must be one of {', '.join(FILE_FORMATS)}, got {format!r}")
        stop = end_frame or None
        if stop is not None and stop <= start_frame:
            raise ValueError(f"end_frame ({end_frame}) must be after start_frame ({start_frame}), or 0 for the end")
        try:
            settings = LongVideoSettings(
                steps=steps, seed=seed, ensemble=ensemble, max_resolution=max_resolution,
                chunk_size=chunk_size, decode_overlap=min(2, chunk_size - 1), window=window, overlap=overlap,
                max_keyframes_per_pass=max_keyframes_per_pass,
            )
            settings.plan(1)
        except ValueError as error:
            raise ValueError(f"DAV Video Depth To Files settings: {error}") from None
        source = FileSource(path, start_frame, stop, stride)
        numbers = list(source.frame_numbers)
        if not numbers:
            raise ValueError(f"{video} has no frames in the selected range (start_frame {start_frame})")
        folder = _comfy.output_folder(filename_prefix)
        normalization = _normalization("disparity")
        writer = make_writer(format, folder, normalization, expected_frames=numbers,
                             **({"resume": resume, "overwrite": not resume} if format != "npy" else {"overwrite": True}))
        number_to_index = {n: i for i, n in enumerate(numbers)}
        done = getattr(writer, "existing", frozenset())
        skip = {number_to_index[n] for n in done if n in number_to_index}
        preview = None
        if preview_mp4:
            skip = set()  # the preview needs every frame
            preview = make_writer("mp4", folder, normalization, fps=source.info.fps or 24.0,
                                  expected_frames=numbers, overwrite=True)
        model = dav_model.acquire()
        bar = _comfy.progress_bar(1000)

        def on_progress(done_work, total):
            bar.update_absolute(int(1000 * done_work / max(total, 1)), 1000)

        try:
            for frame in stream_depth(model, source, settings, on_progress=on_progress,
                                      should_cancel=_comfy.should_cancel, skip_frames=skip):
                number = numbers[frame.index]
                if number not in done:
                    writer.write(number, frame.disparity)
                if preview is not None:
                    preview.write(number, frame.disparity)
        except BaseException:
            writer.abort()
            if preview is not None:
                preview.abort()
            raise
        finally:
            dav_model.release()
        writer.close()
        if preview is not None:
            preview.close()
        count = len(numbers)
        return {"ui": {"text": [f"{count} {format} frames in {folder}"]}, "result": (str(folder), count)}


NODE_CLASS_MAPPINGS = {
    "DAV_LoadVideo": DAV_LoadVideo,
    "DAV_SaveDepth": DAV_SaveDepth,
    "DAV_VideoDepthToFiles": DAV_VideoDepthToFiles,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "DAV_LoadVideo": "DAV Load Video",
    "DAV_SaveDepth": "DAV Save Depth",
    "DAV_VideoDepthToFiles": "DAV Video Depth To Files",
}
