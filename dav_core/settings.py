"""The settings of a depth run: one frozen dataclass that every front end builds, every default in one place.

The command line, the Python API and the ComfyUI nodes all construct :class:`LongVideoSettings` (or its
single-window part :class:`DepthSettings`) with :func:`build_settings`, so the same values give the same
depth everywhere. Checks that need no model run in the constructor; an error names the field, and
:func:`build_settings` renames it to the front end's option (``--window``, the ``window`` widget, ...)
through the ``names`` map that front end passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from .choices import PASS_CHAINING, SINGLE_PASS_FRAMES, parse_memory
from .resize import MODEL_MULTIPLE

# The published model's processing resolution (long side) and interpolation window; a checkpoint can
# state its own (bundle metadata ``processing_resolution`` / ``interpolation_window``).
DEFAULT_RESOLUTION = 960
PUBLISHED_WINDOW = 16
# Fields that only steer how a run is computed, not what it computes (left out of a job's identity).
NOT_IDENTITY = ("memory",)


class SettingError(ValueError):
    """A setting out of range: ``field`` names the dataclass field, ``problem`` what is wrong with it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field, self.problem = field, problem

    def named(self, names: Mapping[str, str]) -> ValueError:
        """The same error, naming the front end's option for the field."""
        return ValueError(f"{names.get(self.field, self.field)} {self.problem}")


_HINTS = {"max_resolution": " (0: the model's own; None: no limit)"}


def _check_range(field: str, value, low: int, high: int | None = None, hint: str = "") -> None:
    """``value`` an int in ``low..high`` (``high`` None: unbounded), else a SettingError for ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingError(field, f"must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"in {low}..{high}" if high is not None else f">= {low}"
        raise SettingError(field, f"must be {hint}{allowed}, got {value}{_HINTS.get(field, '')}")


@dataclass(frozen=True)
class DepthSettings:
    """Settings of a depth prediction of one window of frames."""

    steps: int = 3  # Euler steps of the flow
    seed: int = 0
    ensemble: int = 1  # samples combined by an aligned median
    max_resolution: int | None = 0  # long side the model sees; 0: the model's own (see model_resolution)
    chunk_size: int = 16  # frames per VAE encode/decode call
    decode_overlap: int = 2  # frames shared by neighbouring VAE decode chunks (at most chunk_size - 1)

    def __post_init__(self) -> None:
        _check_range("seed", self.seed, 0, 2**64 - 1)
        _check_range("steps", self.steps, 1, 50)
        if self.max_resolution is not None and self.max_resolution != 0:
            _check_range("max_resolution", self.max_resolution, MODEL_MULTIPLE)
        _check_range("ensemble", self.ensemble, 1, 32)
        _check_range("chunk_size", self.chunk_size, 1)
        _check_range("decode_overlap", self.decode_overlap, 0)

    @property
    def decode_chunk_overlap(self) -> int:
        """Frames shared by neighbouring decode chunks: ``decode_overlap``, at most ``chunk_size - 1``."""
        return min(self.decode_overlap, self.chunk_size - 1)


@dataclass(frozen=True)
class LongVideoSettings(DepthSettings):
    """Depth settings plus the long-video schedule (see ``plan_long_video``) and the memory to fit."""

    window: int = 0  # interpolation window length, both keyframes included; 0: the model's own (for_model)
    overlap: int = 0  # frames shared by neighbouring windows, at most window - 3
    max_keyframes_per_pass: int = SINGLE_PASS_FRAMES
    pass_overlap: int | None = None  # keyframes shared by consecutive passes; None: min(2, max_keyframes_per_pass-1)
    window_batch: int = 8  # interpolation windows denoised together in one UNet batch
    pass_chaining: str = "pin"  # how a keyframe pass joins the earlier ones: see PASS_CHAINING
    memory: str = "auto"  # auto, off or a size such as 8GB: the chunk sizes are lowered to fit it

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.window != 0:
            _check_range("window", self.window, 3, hint="0 (the model's own) or ")
        _check_range("overlap", self.overlap, 0)
        if self.window and self.overlap > self.window - 3:
            raise SettingError("overlap", f"must be at most window - 3 = {self.window - 3}, got {self.overlap}")
        _check_range("max_keyframes_per_pass", self.max_keyframes_per_pass, 2)
        if self.pass_overlap is not None:
            _check_range("pass_overlap", self.pass_overlap, 0, self.max_keyframes_per_pass - 1)
        _check_range("window_batch", self.window_batch, 1)
        if self.pass_chaining not in PASS_CHAINING:
            raise SettingError(
                "pass_chaining", f"must be one of {', '.join(PASS_CHAINING)}, got {self.pass_chaining!r}"
            )
        try:
            parse_memory(self.memory)
        except ValueError as error:
            raise SettingError("memory", str(error).removeprefix("memory ")) from None

    @property
    def keyframe_pass_overlap(self) -> int:
        """Keyframes shared by consecutive passes: ``pass_overlap``, by default min(2, per pass - 1)."""
        return min(2, self.max_keyframes_per_pass - 1) if self.pass_overlap is None else self.pass_overlap

    def for_model(self, model) -> LongVideoSettings:
        """These settings with ``window`` 0 replaced by the model's own (:func:`model_window`)."""
        return replace(self, window=model_window(self.window, model)) if self.window == 0 else self

    def identity(self) -> dict:
        """The fields that decide the frames (recorded with a job, compared on resume)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in NOT_IDENTITY}


DEFAULTS = LongVideoSettings()


def build_settings(
    values: Mapping[str, object], names: Mapping[str, str] | None = None, kind: type = LongVideoSettings
):
    """``kind(**values)``, the one constructor of every front end. Unset values take the defaults above;
    an error names the option as the front end calls it (``names``: field -> option, e.g. the CLI's
    ``{"window": "--window"}``)."""
    names = names or {}
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return kind(**values)
    except SettingError as error:
        raise error.named(names) from None


def model_window(window: int, model) -> int:
    """``window``, or for 0 the model's ``interpolation_window`` (``PUBLISHED_WINDOW`` when it states none)."""
    if window:
        return window
    return getattr(model, "interpolation_window", None) or PUBLISHED_WINDOW


def model_resolution(max_resolution: int | None, model) -> int | None:
    """The long side frames are resized to: ``max_resolution``, or for 0 the model's own
    ``processing_resolution`` (``DEFAULT_RESOLUTION`` when the checkpoint states none); None: no limit."""
    if max_resolution == 0:
        return getattr(model, "processing_resolution", None) or DEFAULT_RESOLUTION
    return max_resolution
