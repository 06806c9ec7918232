"""Long videos: the pure schedule (``plan``) and its parts (``keyframes``, ``windows``, ``reader``); the
stages and their streaming composition are in ``dav_core.stages``."""

from .plan import InterpWindow, KeyframePass, VideoPlan, plan_long_video

__all__ = ["InterpWindow", "KeyframePass", "VideoPlan", "plan_long_video"]
