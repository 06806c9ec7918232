"""Input readers (video files, image folders, images) and streaming depth writers."""

from dav_core.io.video import (
    VideoInfo,
    frame_range,
    iter_image_folder,
    iter_video_frames,
    open_frames,
    probe_video,
)
from dav_core.io.writers import (
    DepthNormalization,
    DepthWriter,
    ExrSequenceWriter,
    NpyWriter,
    Png16SequenceWriter,
    PreviewMp4Writer,
    existing_frames,
    is_complete,
    make_writer,
    read_manifest,
)

__all__ = [
    "DepthNormalization",
    "DepthWriter",
    "ExrSequenceWriter",
    "NpyWriter",
    "Png16SequenceWriter",
    "PreviewMp4Writer",
    "VideoInfo",
    "existing_frames",
    "frame_range",
    "is_complete",
    "iter_image_folder",
    "iter_video_frames",
    "make_writer",
    "open_frames",
    "probe_video",
    "read_manifest",
]
