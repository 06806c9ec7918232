"""What a plate carries besides its pixels, from the reader to the depth outputs.

A frame source exposes ``plate: PlateInfo``. Readers fill it (frame-number padding, missing frames of a
sequence, pixel aspect, EXR windows, the colour conversion used); writers carry it into their files (names
``<name>.<frame>.<ext>``, EXR attributes) and the manifest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["DEFAULT_PADDING", "PlateInfo", "Window"]

DEFAULT_PADDING = 4  # digits of output frame numbers when the input names none (a video): Nuke's ####

Window = tuple[int, int, int, int]  # EXR box (xmin, ymin, xmax, ymax), inclusive


@dataclass(frozen=True)
class PlateInfo:
    """Plate metadata that the depth outputs keep.

    ``padding``: digits of frame numbers in output names; ``missing``: frame numbers inside the range that
    have no file (no output is written for them); ``pixel_aspect``: of the stored pixels (the model sees
    square pixels; outputs are written at ``storage_size`` (H, W) with this aspect recorded);
    ``display_window``/``data_window``: the plate's EXR windows (None: the whole frame);
    ``colour``: the conversion the frames went through (config, colourspace, display, view; or
    ``{"colorspace": "raw"}``); ``name``: the shot's name (the sequence's base name, else the file stem).
    """

    padding: int = DEFAULT_PADDING
    missing: tuple[int, ...] = ()
    pixel_aspect: float = 1.0
    storage_size: tuple[int, int] | None = None
    display_window: Window | None = None
    data_window: Window | None = None
    colour: dict = field(default_factory=lambda: {"colorspace": "raw"})
    name: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready form for the output manifest."""
        return asdict(self)
