"""Names of the files a depth run writes, as compositors expect them.

A sequence frame is ``<name>.<frame>.<ext>`` (``depth.1001.exr``): the plate's frame number, zero-padded to
the plate's padding. Negative numbers are padded as fileseq and Nuke pad them, the sign counting as a digit
(padding 4: ``depth.-001.exr``, ``depth.0000.exr``); numbers wider than the padding are written whole
(``depth.12345.exr``). Single-file outputs are ``<name>.npy`` and ``<name>_preview.mp4``. Files are written
under temporary names first (``.<file>.tmp``, ``<name>.partial.npy``, ``<name>_preview.partial.mp4``).

Earlier versions wrote ``depth_<6 digits>.<ext>``; :func:`depth_file_pattern` still recognises those, so an
overwrite removes them and a folder holding them is not taken for an empty one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "DEFAULT_NAME",
    "array_filename",
    "check_name",
    "depth_file_pattern",
    "frame_filename",
    "frame_number",
    "preview_filename",
    "sequence_pattern",
]

DEFAULT_NAME = "depth"
_LEGACY_FRAME = r"depth_\d+\.(?:png|exr)"  # depth_000123.png of earlier versions


def check_name(name: str, option: str = "name") -> str:
    """``name`` if it can be the start of a file name in the output folder, else a ValueError naming ``option``."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{option} must be a non-empty file name such as {DEFAULT_NAME!r}; got {name!r}")
    bad = [c for c in ("/", "\\", "\0") if c in name]
    if bad or name.startswith(".") or name != name.strip():
        raise ValueError(
            f"{option} must be a plain file name (no path separators, no leading dot or spaces) such as "
            f"{DEFAULT_NAME!r}; got {name!r}"
        )
    return name


def frame_filename(name: str, number: int, padding: int, extension: str) -> str:
    """``depth.1001.exr``: ``extension`` with its dot; ``padding`` digits, the sign of a negative number included."""
    return f"{name}.{int(number):0{padding}d}{extension}"


def sequence_pattern(name: str, padding: int, extension: str) -> str:
    """The sequence in printf form, as Nuke's Read node and ffmpeg take it: ``depth.%04d.exr``."""
    return f"{name}.%0{padding}d{extension}"


def frame_number(filename: str, name: str, extension: str, padding: int | None = None) -> int | None:
    """The frame number of ``filename`` if it is a frame of sequence ``name`` (with exactly ``padding``
    when given), else None."""
    match = re.fullmatch(rf"{re.escape(name)}\.(-?\d+){re.escape(extension)}", filename)
    if match is None:
        return None
    number = int(match.group(1))
    if padding is not None and filename != frame_filename(name, number, padding, extension):
        return None
    return number


def array_filename(name: str) -> str:
    return f"{name}.npy"


def preview_filename(name: str) -> str:
    return f"{name}_preview.mp4"


def depth_file_pattern(names: Iterable[str]) -> re.Pattern:
    """Every file a run under one of ``names`` writes (frames, array, preview, their temporary names), and the
    ``depth_000123.png`` frames of earlier versions."""
    stems = "|".join(re.escape(n) for n in sorted(set(names)))
    current = rf"(?:{stems})(?:\.-?\d+\.(?:png|exr)|(?:\.partial)?\.npy|_preview(?:\.partial)?\.mp4)"
    return re.compile(rf"\.?(?:{current}|{_LEGACY_FRAME})(?:\.tmp)?")
