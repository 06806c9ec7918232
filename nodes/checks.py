"""Checks ComfyUI runs at POST /prompt (VALIDATE_INPUTS), before any node runs: everything that needs no model.

ComfyUI passes VALIDATE_INPUTS only the inputs its signature names; a linked input arrives as None (its
value is not known yet) and an optional input left out keeps the signature's default (``UNSET``). Current
ComfyUI skips its own min/max and list checks for the inputs a VALIDATE_INPUTS names, so
:func:`declared_error` repeats them. Messages are the library's own (:func:`long_video_settings`).
"""

from __future__ import annotations

from . import _comfy
from .widgets import frame_stop

UNSET = "<unset>"  # default of an optional input in a VALIDATE_INPUTS signature: not given


def connected(value) -> bool:
    """True for an optional input the prompt gives (a link arrives as None)."""
    return value is not UNSET


def known(value) -> bool:
    """True for a widget value ComfyUI knows at validation (not a link, not left out)."""
    return value is not None and value is not UNSET


def long_video_settings(**options):
    """dav_core's settings for a node's options, built by the library's one constructor; its errors are the
    library's messages, naming the node's inputs (they are called like the settings' fields)."""
    from ..dav_core.settings import build_settings

    return build_settings(options)


def settings_error(**options) -> str | None:
    """The library's message for options it refuses without a model (window 0 is the model's: checked at run)."""
    try:
        long_video_settings(**{k: v for k, v in options.items() if known(v)})
    except ValueError as error:
        return str(error)
    return None


def prefix_error(filename_prefix) -> str | None:
    """Why ``filename_prefix`` names no folder inside ComfyUI's output folder, or None."""
    if not known(filename_prefix):
        return None
    try:
        _comfy.output_folder(filename_prefix)
    except ValueError as error:
        return str(error)
    return None


def frames_error(start_frame, end_frame) -> str | None:
    if not (known(start_frame) and known(end_frame)):
        return None
    try:
        frame_stop(start_frame, end_frame)
    except ValueError as error:
        return str(error)
    return None


def video_error(video) -> str | None:
    """Why the video list's ``video`` is not a readable file in ComfyUI's input folder, or None."""
    if not isinstance(video, str):
        return f"video must be a file name from the list of ComfyUI's input folder, got {video!r}"
    try:
        _comfy.resolve_input_video(video)
    except (OSError, ValueError) as error:
        return str(error)
    return None


def declared_error(cls, **values) -> str | None:
    """ComfyUI's own min/max and list checks of the named inputs, as declared in ``cls.INPUT_TYPES``."""
    declared = {name: spec for section in cls.INPUT_TYPES().values() for name, spec in section.items()}
    for name, value in values.items():
        if not known(value):
            continue
        kind, options = declared[name][0], declared[name][1] if len(declared[name]) > 1 else {}
        if isinstance(kind, list) and value not in kind:
            return f"{name}: {value!r} is not one of {kind}"
        if "min" in options and value < options["min"]:
            return f"{name}: {value} is smaller than the minimum {options['min']}"
        if "max" in options and value > options["max"]:
            return f"{name}: {value} is bigger than the maximum {options['max']}"
    return None


def verdict(*errors: str | None):
    """What VALIDATE_INPUTS returns: True, or the first error."""
    return next((error for error in errors if error), True)
