"""Plates in: an image sequence (EXR, DPX, TIFF, PNG, JPEG) read by pattern, colour-managed with OpenColorIO.

The IMAGE is the plate as the artist sees it (display-referred [0,1] through the config's display and view),
which is what the model was trained on and what ComfyUI's image nodes expect; the DAV_SOURCE carries the
plate's frame numbers, padding and metadata to DAV Save Depth.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..dav_core.io.sequences import ON_MISSING
from . import _comfy
from .checks import verdict
from .declare import mappings, node
from .io import DAVSource, load_batch
from .widgets import choice, resolution, tip

AUTO, RAW = "auto", "raw"
# Absolute plate paths are read only under these roots (os.pathsep-separated), e.g. a studio's shot tree.
PLATE_ROOTS_ENV = "DAV_PLATE_ROOTS"
_REPORTED: set[str] = set()  # colour-list problems already logged


def _colour_choices() -> tuple[list[str], list[str], list[str]]:
    """(colourspaces, displays, views) of the active OCIO config for the combos; defaults first."""
    try:
        from ..dav_core.io.colour import config_choices

        spaces, displays, views = config_choices()
    except (ImportError, ValueError) as error:  # no OpenColorIO, or an unreadable $OCIO: say so in the log, once
        message = " ".join(str(error).split())
        if message not in _REPORTED:
            _REPORTED.add(message)
            _comfy.log.warning("Depth Any Video: colour lists unavailable: %s", message)
        spaces, displays, views = [], [], []
    return [AUTO, RAW, *spaces], [AUTO, *displays], [AUTO, *views]


def _plate_roots() -> list[Path]:
    return [Path(p).resolve() for p in os.environ.get(PLATE_ROOTS_ENV, "").split(os.pathsep) if p.strip()]


def resolve_plate(pattern: str) -> Path | str:
    """A sequence pattern or folder relative to ComfyUI's input folder (or absolute under DAV_PLATE_ROOTS)."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("pattern is empty: give a sequence such as 'plates/sh010_plate.####.exr' in the input folder")
    pattern = pattern.strip()
    given = Path(pattern)
    if given.is_absolute():
        roots = _plate_roots()
        folder = given.parent.resolve() if not given.is_dir() else given.resolve()
        if not any(folder == root or root in folder.parents for root in roots):
            raise ValueError(
                f"pattern {pattern!r} is outside ComfyUI's input folder; absolute plate paths are read only under "
                f"the folders named by ${PLATE_ROOTS_ENV} ({os.pathsep.join(map(str, roots)) or 'none set'})"
            )
        return pattern
    root = _comfy.input_dir().resolve()
    full = root / given
    parent = full if full.is_dir() else full.parent
    if parent.resolve() != root and root not in parent.resolve().parents:
        raise ValueError(f"pattern {pattern!r} points outside ComfyUI's input folder {root}")
    return str(full)


def pattern_error(pattern) -> str | None:
    if pattern is None:
        return None
    try:
        resolve_plate(pattern)
    except ValueError as error:
        return str(error)
    return None


def parse_frame_range(text: str) -> tuple[int | None, int | None]:
    """``""`` (all), ``"1001"`` or ``"1001-1050"`` (inclusive, negative numbers allowed) -> (start, stop) with
    stop exclusive, as the sources select."""
    import re

    text = (text or "").strip()
    if not text:
        return None, None
    match = re.fullmatch(r"(-?\d+)(?:\s*-\s*(-?\d+))?", text)
    if not match:
        raise ValueError(f"frame_range must be empty (every frame), a frame such as 1001, or first-last such as 1001-1050; got {text!r}")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise ValueError(f"frame_range {text!r} ends before it starts")
    return first, last + 1


def frame_range_error(frame_range) -> str | None:
    if frame_range is None:
        return None
    try:
        parse_frame_range(frame_range)
    except ValueError as error:
        return str(error)
    return None


@node(
    "DAV_LoadPlate", "DAV Load Plate Sequence", "load",
    "Reads an image sequence (EXR, DPX, TIFF, PNG, JPEG) by pattern, keeping its frame numbers, colour-managed "
    "with OpenColorIO ($OCIO, else the built-in CG config): the images are the plate as seen through the display "
    "and view, as the model expects.",
    required={
        "pattern": tip(
            "STRING", "plates/sh010_plate.####.exr", "A sequence in ComfyUI's input folder: plate.####.exr, "
            "plate.%04d.exr, plate.1001-1100#.exr, plate.@@@@.exr, or a folder holding one sequence",
        ),
        "colorspace": lambda: choice(_colour_choices()[0], AUTO, "The plate's colourspace: auto = what the file "
                                     "declares, else scene_linear for float images; integer images are display-"
                                     "referred; raw = no conversion (values clipped to 0..1)"),
        "display": lambda: choice(_colour_choices()[1], AUTO, "Display the plate is viewed on; auto = the config's default"),
        "view": lambda: choice(_colour_choices()[2], AUTO, "View transform; auto = the display's default view"),
        "layer": tip("STRING", "", "EXR layer or part holding the picture (empty = the RGB beauty)"),
        "on_missing": choice(ON_MISSING, "hold", "A frame missing from the range: hold the previous "
                             "frame (no depth is saved for it), or stop with an error"),
        "frame_range": tip("STRING", "", "Frames to load, by the plate's own numbers: 1001-1050, or empty for all"),
        "max_resolution": resolution("Downscale so the longer side is at most this (0 = full size)"),
    },
    outputs=(
        ("IMAGE", "images", "The plate as displayed (0..1), one image per frame of the range"),
        ("DAV_SOURCE", "source", "Frame numbers and plate metadata, for DAV Save Depth"),
        ("INT", "frame_count", "Number of frames loaded"),
        ("FLOAT", "fps", "Frame rate (image sequences carry none: 24)"),
    ),
)
class DAV_LoadPlate:
    @classmethod
    def VALIDATE_INPUTS(cls, pattern=None, frame_range=None):
        return verdict(pattern_error(pattern), frame_range_error(frame_range))

    @classmethod
    def IS_CHANGED(cls, pattern, **kwargs):
        try:
            from ..dav_core.longvideo.sources import FileSource

            return str(FileSource(resolve_plate(pattern)).fingerprint())
        except (OSError, ValueError, ImportError):
            return float("nan")

    def load(self, pattern, colorspace=AUTO, display=AUTO, view=AUTO, layer="", on_missing="hold",
             frame_range="", max_resolution=0):
        from ..dav_core.longvideo.sources import FileSource

        start, stop = parse_frame_range(frame_range)
        source = FileSource(
            resolve_plate(pattern), start=start, stop=stop,
            colorspace=None if colorspace == AUTO else colorspace,
            display=None if display == AUTO else display, view=None if view == AUTO else view,
            layer=layer.strip() or None, on_missing=on_missing,
        )
        if not source.num_frames:
            raise ValueError(f"frame_range {frame_range!r} selects no frame of {pattern}")
        images = load_batch(source, max_resolution, "lower max_resolution or load a shorter frame_range")
        fps = float(source.fps or 24.0)
        numbers = tuple(int(n) for n in source.frame_numbers)
        return (images, DAVSource(str(pattern), numbers, fps, source.plate), len(images), fps)


NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = mappings(DAV_LoadPlate)
