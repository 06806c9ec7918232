"""Long videos: the pure schedule (``plan``), its stages (``keyframes``, ``windows``), and the streaming
composition of all stages (``runner.stream_depth``)."""

from dav_core.longvideo.plan import InterpWindow, KeyframePass, VideoPlan, plan_long_video

__all__ = ["InterpWindow", "KeyframePass", "VideoPlan", "plan_long_video"]
