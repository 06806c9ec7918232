"""Long-video scheduling: keyframes, keyframe passes, interpolation windows, decode chunks."""

from dav_core.longvideo.plan import (
    Chunk,
    ChunkPlan,
    FrameSource,
    InterpWindow,
    KeyframePass,
    VideoPlan,
    frame_sources,
    plan_chunks,
    plan_long_video,
)

__all__ = [
    "Chunk",
    "ChunkPlan",
    "FrameSource",
    "InterpWindow",
    "KeyframePass",
    "VideoPlan",
    "frame_sources",
    "plan_chunks",
    "plan_long_video",
]
