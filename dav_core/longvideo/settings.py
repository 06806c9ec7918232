"""Settings of a long-video run: depth settings plus the keyframe / window schedule."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..choices import SINGLE_PASS_FRAMES
from ..depth import DepthSettings
from .plan import PASS_CHAINING, VideoPlan, plan_long_video


@dataclass(frozen=True)
class LongVideoSettings(DepthSettings):
    """Depth settings plus the long-video schedule (see ``plan_long_video``)."""

    window: int = 8  # interpolation window length, both keyframes included; 0: the model's own (for_model)
    overlap: int = 0  # frames shared by neighbouring windows
    max_keyframes_per_pass: int = SINGLE_PASS_FRAMES
    pass_overlap: int | None = (
        None  # keyframes shared by consecutive passes; None: min(2, max_keyframes_per_pass-1)
    )
    window_batch: int = 8  # interpolation windows denoised together in one UNet batch
    pass_chaining: str = "pin"  # how a keyframe pass joins the earlier ones: see PASS_CHAINING

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window != 0 and self.window < 3:
            raise ValueError(f"window must be 0 (the model's own) or >= 3, got {self.window}")
        if self.window_batch < 1:
            raise ValueError(f"window_batch must be >= 1, got {self.window_batch}")
        if self.pass_chaining not in PASS_CHAINING:
            raise ValueError(
                f"pass_chaining must be one of {', '.join(PASS_CHAINING)}, got {self.pass_chaining!r}"
            )

    def for_model(self, model) -> LongVideoSettings:
        """These settings with ``window`` 0 replaced by the model's own (:func:`model_window`)."""
        return replace(self, window=model_window(self.window, model)) if self.window == 0 else self

    def plan(self, num_frames: int) -> VideoPlan:
        if self.window == 0:
            raise ValueError("window 0 means the model's own: call settings.for_model(model) before planning")
        return plan_long_video(
            num_frames,
            window=self.window,
            overlap=self.overlap,
            max_keyframes_per_pass=self.max_keyframes_per_pass,
            pass_overlap=min(2, self.max_keyframes_per_pass - 1)
            if self.pass_overlap is None
            else self.pass_overlap,
        )


# The published model's interpolation window: its official pipeline runs the interpolation UNet with
# num_interp_frames=16. A checkpoint can state its own (bundle metadata ``interpolation_window``).
PUBLISHED_WINDOW = 16


def model_window(window: int, model) -> int:
    """``window``, or for 0 the model's ``interpolation_window`` (``PUBLISHED_WINDOW`` when it states none)."""
    if window:
        return window
    return getattr(model, "interpolation_window", None) or PUBLISHED_WINDOW
