"""Video in, depth files out: load a clip from the input folder, save depth sequences, whole shots to files."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np
import torch

from ..dav_core.choices import COLORMAPS, DATA_FORMATS, DEPTH_KINDS, OUTPUT_FORMATS, SINGLE_PASS_FRAMES
from . import _comfy
from .checks import (
    UNSET,
    connected,
    declared_error,
    frames_error,
    long_video_settings,
    prefix_error,
    settings_error,
    verdict,
    video_error,
)
from .comfy_video import VIDEO, clip_source, has_video_type, video_from_file
from .declare import mappings, node
from .widgets import (
    CHUNK,
    DEPTH_INPUTS,
    DEPTH_MASK,
    FPS_LIMITS,
    FRAME_INPUTS,
    KEYFRAMES_PER_PASS,
    MEMORY,
    MODEL_INPUT,
    OVERLAP,
    WINDOW,
    check_mask,
    choice,
    file_hash,
    frame_stop,
    resolution,
    setting,
    tip,
    video_combo,
)

# How the writers' refusals name these nodes' inputs (the library speaks of output, resume and overwrite).
SAVE_NAMES = {"output": "filename_prefix", "resume": "", "overwrite": "overwrite"}
FILES_NAMES = {"output": "filename_prefix", "resume": "resume", "overwrite": "resume off"}
# An IMAGE batch is float32 in RAM; beyond this, route the shot through DAV Video Depth To Files.
MAX_BATCH_BYTES = int(os.environ.get("DAV_MAX_BATCH_BYTES", 24 * 2**30))


@dataclass(frozen=True)
class DAVSource:
    """DAV_SOURCE: where a loaded clip came from, so saved depth frames carry the source frame numbers (and,
    for a plate, its padding, missing frames and metadata: a ``dav_core.io.plate.PlateInfo``)."""

    path: str
    frame_numbers: tuple[int, ...]
    fps: float
    plate: object = None


@node(
    "DAV_LoadVideo", "DAV Load Video", "load",
    "Reads a video from ComfyUI's input folder with PyAV: frame range, stride and a size limit.",
    required={
        "video": lambda: video_combo(upload=True),
        **FRAME_INPUTS,
        "max_resolution": resolution(
            "Downscale so the longer side is at most this (0 = full size); keeps the IMAGE batch small"
        ),
    },
    outputs=(
        ("IMAGE", "images", "The selected frames as an image batch"),
        ("DAV_SOURCE", "source", "Source file and frame numbers, for Save Depth"),
        ("INT", "frame_count", "Number of frames loaded"),
        ("FLOAT", "fps", "Frame rate of the file"),
    ),
)
class DAV_LoadVideo:
    @classmethod
    def IS_CHANGED(cls, video, **kwargs):
        try:
            return file_hash(_comfy.resolve_input_video(video))
        except (OSError, ValueError):
            return float("nan")

    @classmethod
    def VALIDATE_INPUTS(cls, video=None, start_frame=None, end_frame=None):
        return verdict(video_error(video), declared_error(cls, start_frame=start_frame, end_frame=end_frame),
                       frames_error(start_frame, end_frame))

    def load(self, video, start_frame=0, end_frame=0, stride=1, max_resolution=0):
        from ..dav_core.longvideo.sources import FileSource

        path = _comfy.resolve_input_video(video)
        source = FileSource(path, start_frame, frame_stop(start_frame, end_frame), stride)
        if not source.num_frames:
            raise ValueError(
                f"{video} has {source.info.num_frames} frames; start_frame {start_frame} selects none of them"
            )
        images = load_batch(source, max_resolution, "raise stride, lower max_resolution, load a shorter range, or "
                            "use DAV Video Depth To Files for the whole shot")
        numbers = tuple(source.frame_numbers)
        dav_source = DAVSource(str(path), numbers, float(source.info.fps))
        return (images, dav_source, len(images), float(source.info.fps))


def load_batch(source, max_resolution: int, advice: str) -> torch.Tensor:
    """A file source's selected frames as an IMAGE batch [N,H,W,3], downscaled to ``max_resolution`` (0: full
    size); refused with ``advice`` when the batch would pass MAX_BATCH_BYTES."""
    from ..dav_core.io.video import scaled_size

    width, height = scaled_size(source.info.width, source.info.height, max_resolution or None)
    size = source.num_frames * width * height * 3 * 4
    if size > MAX_BATCH_BYTES:
        raise ValueError(
            f"{source.num_frames} frames of {width}x{height} need {size / 2**30:.1f} GiB as an image batch "
            f"(limit {MAX_BATCH_BYTES / 2**30:.0f} GiB): {advice}"
        )
    bar = _comfy.progress_bar(source.num_frames)
    out = []
    for _, frame in source.media.read(source.frame_numbers, max_resolution or None):
        _comfy.check_interrupt()
        out.append(torch.from_numpy(np.ascontiguousarray(frame, dtype=np.float32)))  # [H,W,3]
        bar.update(1)
    return torch.stack(out)  # [N,H,W,3]


@node(
    "DAV_SaveDepth", "DAV Save Depth", "save",
    "Writes a depth batch to the output folder as EXR or 16-bit PNG frames, an mp4 preview or npy, with a manifest.",
    required={
        "depth": DEPTH_MASK,
        "format": choice(
            OUTPUT_FORMATS, "exr", "exr: float32 sequence for compositing; png16: 16-bit grey sequence; mp4: "
            "colour-mapped preview; npy: one array file",
        ),
        "filename_prefix": tip(
            "STRING", "dav/depth", "Folder under ComfyUI's output folder; frames are named depth.<source frame>.ext (depth.0001.exr)"
        ),
        "values": choice(DEPTH_KINDS, "disparity", "What the mask holds (Decode Depth's output setting), recorded in the files"),
        "colormap": choice(COLORMAPS, "Spectral", "mp4 only: colours of the preview"),
        "fps": tip("FLOAT", 24.0, "mp4 only: frame rate when no source is connected", **FPS_LIMITS),
        "overwrite": tip("BOOLEAN", True, "Replace frames already in the folder (off: stop with an error instead)"),
    },
    optional={
        "source": ("DAV_SOURCE", {"tooltip": "From DAV Load Video: names frames by their source frame numbers and sets the mp4 frame rate"}),
    },
    outputs=(("STRING", "folder", "The folder the files were written to"),),
    output_node=True,
)
class DAV_SaveDepth:
    @classmethod
    def VALIDATE_INPUTS(cls, filename_prefix=None):
        return verdict(prefix_error(filename_prefix))

    def save(self, depth, format="exr", filename_prefix="dav/depth", values="disparity", colormap="Spectral",
             fps=24.0, overwrite=True, source=None):
        from ..dav_core.choices import check_choice
        from ..dav_core.io.depth_outputs import PREVIEW_FORMAT, DepthOutputs, batch_identity
        from ..dav_core.io.writers import PREVIEW_FILENAME, DepthEncoding
        from ..dav_core.job import plate_size, to_storage_size

        depth = check_mask(depth)
        numbers = list(range(depth.shape[0]))
        if source is not None:
            if len(source.frame_numbers) != depth.shape[0]:
                raise ValueError(
                    f"the source has {len(source.frame_numbers)} frames but the depth has {depth.shape[0]}: "
                    "connect the DAV Load Video node whose frames made this depth"
                )
            numbers, fps = list(source.frame_numbers), source.fps or fps
            missing = set(getattr(source.plate, "missing", ()))
            if missing:  # frames held over a hole in the plate: no depth is saved under their numbers
                keep = [i for i, n in enumerate(numbers) if n not in missing]
                depth, numbers = depth[keep], [numbers[i] for i in keep]
        folder = _comfy.output_folder(filename_prefix)
        encoding = DepthEncoding(kind=check_choice("values", values, DEPTH_KINDS))
        bar = _comfy.progress_bar(len(numbers))
        values = depth.cpu().numpy()  # [N,H,W]
        job = batch_identity(values, numbers, encoding)
        preview = None if format == PREVIEW_FORMAT else _temp_preview(encoding, fps, colormap, numbers)
        plate = getattr(source, "plate", None)
        size = plate_size(plate)
        with DepthOutputs(folder, [format], numbers, job, encoding=encoding, fps=fps, colormap=colormap,
                          overwrite=overwrite, names=SAVE_NAMES, plate=plate) as outputs, preview or contextlib.nullcontext():
            for number, frame in zip(numbers, values, strict=True):
                _comfy.check_interrupt()
                frame = to_storage_size(frame, size)  # a plate's depth at the plate's own size and pixel aspect
                outputs.write(number, frame)
                if preview is not None:
                    preview.write(number, frame)
                bar.update(1)
        shown = folder / PREVIEW_FILENAME if preview is None else preview.path
        ui = {"text": [f"{len(numbers)} {format} frames in {folder}"], **_comfy.ui_video(shown)}
        return {"ui": ui, "result": (str(folder),)}


def _temp_preview(encoding, fps: float, colormap: str, numbers: list[int]):
    """A colour-mapped mp4 in ComfyUI's temp folder, shown on the node when the saved format is not a video."""
    import uuid

    from ..dav_core.io.depth_outputs import PREVIEW_FORMAT
    from ..dav_core.io.writers import make_writer

    folder = _comfy.temp_dir() / "dav_preview" / uuid.uuid4().hex[:12]
    return make_writer(PREVIEW_FORMAT, folder, encoding, fps=fps, colormap=colormap, expected_frames=numbers)


@node(
    "DAV_VideoDepthToFiles", "DAV Video Depth To Files", "run",
    "The whole long-video chain file to file (keyframes, interpolation windows, chunked decode), streaming "
    "frames to disk: for shots too long to hold as image batches. Frames are named by source frame number.",
    required={
        "dav_model": MODEL_INPUT,
        "video": video_combo,
        **FRAME_INPUTS,
        "max_resolution": resolution(
            "The longer side the model works at; depth is written at the video's size. "
            "0 = the model's own (64 for the bundled model, 960 for Depth Any Video)"
        ),
        **DEPTH_INPUTS,
        "window": WINDOW,
        "overlap": OVERLAP,
        "max_keyframes_per_pass": setting("max_keyframes_per_pass", "Keyframes denoised together per pass (GPU memory)", **KEYFRAMES_PER_PASS),
        "format": choice(DATA_FORMATS, "png16", "png16: 16-bit frames; exr: float32 frames; npy: one array"),
        "preview_mp4": tip("BOOLEAN", True, "Also write a colour-mapped depth_preview.mp4 beside the frames"),
        "filename_prefix": tip("STRING", "dav/shot", "Folder under ComfyUI's output folder"),
        "resume": tip("BOOLEAN", True, "Keep frames a cancelled run already wrote and compute only the rest (same settings give identical frames)"),
        "chunk_size": CHUNK,
    },
    optional={
        "input_video": (VIDEO, {"tooltip": "A VIDEO (core Load Video) to use instead of the video list; "
                                "a file is streamed, never held whole. Frame range and stride apply"}),
        "images": ("IMAGE", {"tooltip": "An image batch to use instead of the video list (with fps)"}),
        "fps": tip("FLOAT", 24.0, "Frame rate of the images input (the preview and the VIDEO output)", **FPS_LIMITS),
        "colormap": choice(COLORMAPS, "Spectral", "Colours of the preview and the VIDEO output; gray gives a control "
                           "video with near = white"),
        "memory": MEMORY,
    },
    outputs=(
        ("STRING", "folder", "The folder holding the depth files"),
        ("INT", "frame_count", "Frames in the folder"),
        (VIDEO, "depth_video", "The preview as a VIDEO (needs preview_mp4 on and a ComfyUI with the VIDEO type), e.g. "
         "a control video for Save Video"),
    ),
    output_node=True,
)
class DAV_VideoDepthToFiles:
    @classmethod
    def VALIDATE_INPUTS(cls, video=None, start_frame=None, end_frame=None, filename_prefix=None, max_resolution=None,
                        window=None, overlap=None, max_keyframes_per_pass=None, chunk_size=None, input_video=UNSET,
                        images=UNSET):
        settings = {"max_resolution": max_resolution, "window": window, "overlap": overlap,
                    "max_keyframes_per_pass": max_keyframes_per_pass, "chunk_size": chunk_size}
        clip_given = connected(input_video) or connected(images)  # the video list is not used then
        return verdict(
            None if clip_given else video_error(video),
            declared_error(cls, start_frame=start_frame, end_frame=end_frame, **settings),
            frames_error(start_frame, end_frame), prefix_error(filename_prefix), settings_error(**settings),
        )

    @classmethod
    def IS_CHANGED(cls, video=None, filename_prefix="dav/shot", **kwargs):
        """Re-run when the video changes or the output folder's manifest was touched or removed."""
        try:
            marker = file_hash(_comfy.resolve_input_video(video))
            manifest = _comfy.output_folder(filename_prefix) / "manifest.json"
            return marker + (f"|{manifest.stat().st_mtime_ns}" if manifest.is_file() else "|none")
        except (OSError, ValueError, TypeError):
            return float("nan")

    def run(self, dav_model, video, start_frame=0, end_frame=0, stride=1, max_resolution=0, steps=3, seed=0,
            ensemble=1, window=0, overlap=0, max_keyframes_per_pass=SINGLE_PASS_FRAMES, format="png16",
            preview_mp4=True, filename_prefix="dav/shot", resume=True, chunk_size=16, input_video=None,
            images=None, fps=24.0, colormap="Spectral", memory="auto"):
        from ..dav_core.choices import check_choice
        from ..dav_core.io.writers import PREVIEW_FILENAME
        from ..dav_core.job import PREVIEW_FORMAT, OutputSpec, write_depth
        from ..dav_core.longvideo.sources import FileSource

        formats = (check_choice("format", format, DATA_FORMATS),) + ((PREVIEW_FORMAT,) if preview_mp4 else ())
        check_choice("colormap", colormap, COLORMAPS)
        try:
            settings = long_video_settings(
                steps=steps, seed=seed, ensemble=ensemble, max_resolution=max_resolution,
                chunk_size=chunk_size, window=window, overlap=overlap,
                max_keyframes_per_pass=max_keyframes_per_pass, memory=memory,
            )
        except ValueError as error:
            raise ValueError(f"DAV Video Depth To Files settings: {error}") from None
        stop = frame_stop(start_frame, end_frame)
        if input_video is not None or images is not None:
            source = clip_source(input_video, images, fps, start_frame, stop, stride, "DAV Video Depth To Files")
            what = "input_video" if input_video is not None else "images"
        else:
            source = FileSource(_comfy.resolve_input_video(video), start_frame, stop, stride)
            what = video
        if not source.num_frames:
            raise ValueError(f"{what} has no frames in the selected range (start_frame {start_frame})")
        output = OutputSpec(_comfy.output_folder(filename_prefix), formats, colormap, resume, overwrite=not resume)
        folder = output.folder
        with dav_model.use() as model:
            result = write_depth(model, source, settings, output, hooks=_comfy.hooks(), names=FILES_NAMES,
                                 free_bytes=_comfy.free_memory(model.device))
        count = result.num_frames
        ui = {"text": [f"{count} {format} frames in {folder}"]}
        depth_video = None
        if preview_mp4:
            preview = folder / PREVIEW_FILENAME
            ui.update(_comfy.ui_video(preview))
            depth_video = video_from_file(preview) if has_video_type() else None
        return {"ui": ui, "result": (str(folder), count, depth_video)}


NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = mappings(DAV_LoadVideo, DAV_SaveDepth, DAV_VideoDepthToFiles)
