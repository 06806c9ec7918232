"""Colour management with OpenColorIO: a plate's colourspace through a display/view to the model's [0,1] RGB.

The model was trained on display-referred video, so it must see a plate as the artist sees it in the viewer:
the input colourspace converted through the config's display and view (an OCIO ``DisplayViewTransform``).

* Config: ``config_path`` when given, else ``$OCIO``, else the built-in ``ocio://cg-config-latest``.
* Colourspace (any name or alias of the config): the one asked for, else what the file declares, else the
  config's ``scene_linear`` role for float images. Integer images and video are display-referred and pass
  unchanged unless a colourspace is named. ``raw`` passes every image unchanged (clipped to [0,1]).
* Display and view: the config's default display and its default view unless named.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

__all__ = [
    "BUILTIN_CONFIG",
    "RAW",
    "ColourConversion",
    "config_choices",
    "load_config",
    "ocio_module",
    "resolve_colour",
]

log = logging.getLogger(__name__)

BUILTIN_CONFIG = "ocio://cg-config-latest"
RAW = "raw"  # no conversion: the frames are clipped to [0,1] as they are
_INSTALL = 'pip install "comfyui-depth-any-video"  (or: pip install "opencolorio>=2.3")'


def ocio_module():
    """``PyOpenColorIO``, or one line naming the install."""
    try:
        import PyOpenColorIO
    except ImportError:
        raise ImportError(f"colour management needs OpenColorIO: {_INSTALL}") from None
    return PyOpenColorIO


@lru_cache(maxsize=8)
def _load(source: str):
    ocio = ocio_module()
    try:
        return ocio.Config.CreateFromFile(source)
    except Exception as err:  # OCIO raises its own exception types (missing file, parse error)
        raise ValueError(f"cannot read the OCIO config {source!r}: {str(err).splitlines()[0]}") from None


def config_source(config_path: str | os.PathLike | None = None, name: str = "ocio_config") -> tuple[str, str]:
    """(where the config is read from, how errors name it): ``config_path``, else ``$OCIO``, else built-in."""
    if config_path:
        return str(config_path), name
    if os.environ.get("OCIO"):
        return os.environ["OCIO"], "$OCIO"
    return BUILTIN_CONFIG, "the built-in config"


def load_config(config_path: str | os.PathLike | None = None, name: str = "ocio_config"):
    """The OCIO config: ``config_path``, else ``$OCIO``, else the built-in one (errors name where it came from)."""
    source, origin = config_source(config_path, name)
    try:
        return _load(source)
    except ValueError as err:
        raise ValueError(f"{origin}: {err}") from None


def _lookup(config, kind: str, wanted: str, known: list[str], name: str) -> None:
    if wanted not in known:
        close = difflib.get_close_matches(wanted, known, n=5, cutoff=0.4)
        hint = f"close matches: {', '.join(close)}" if close else f"the config has: {', '.join(known[:30])}"
        raise ValueError(f"{name} {wanted!r} is not a {kind} of the OCIO config {config.getName()!r}; {hint}")


def _colourspace_names(config) -> list[str]:
    names = []
    for space in config.getColorSpaces():
        names.append(space.getName())
        names.extend(space.getAliases())
    return names


def config_choices(config_path: str | os.PathLike | None = None) -> tuple[list[str], list[str], list[str]]:
    """(colourspaces, displays, views) of the active config, for a front end's lists: every colourspace
    name, the default display first, and the views of every display with the default display's first."""
    config = load_config(config_path)
    spaces = [space.getName() for space in config.getColorSpaces()]
    default = config.getDefaultDisplay()
    displays = [default, *(d for d in config.getDisplays() if d != default)]
    views: list[str] = []
    for display in displays:
        first = config.getDefaultView(display)
        for view in (first, *config.getViews(display)):
            if view not in views:
                views.append(view)
    return spaces, displays, views


@dataclass(frozen=True)
class ColourConversion:
    """One colourspace -> display/view conversion of a config, applied to float32 ``[H,W,3]`` frames."""

    config_name: str
    colorspace: str
    display: str
    view: str
    config_source: str  # file or ocio:// URI the config is read from (again, in a worker process)

    @cached_property
    def processor(self):
        """The OCIO CPU processor, made once per process (it does not pickle: a frame source crosses to
        farm workers without it)."""
        ocio = ocio_module()
        transform = ocio.DisplayViewTransform(src=self.colorspace, display=self.display, view=self.view)
        config = _load(self.config_source)
        return config.getProcessor(transform, ocio.TRANSFORM_DIR_FORWARD).getDefaultCPUProcessor()

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "processor"}

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """float32 ``[H,W,3]`` in the colourspace -> ``[H,W,3]`` display-referred, clipped to [0,1]."""
        out = np.ascontiguousarray(rgb, dtype=np.float32).copy()  # OCIO converts in place
        self.processor.applyRGB(out)
        return np.clip(out, 0.0, 1.0)

    def info(self) -> dict:
        """What was used, for ``PlateInfo.colour`` and the manifest."""
        return {
            "config": self.config_name,
            "colorspace": self.colorspace,
            "display": self.display,
            "view": self.view,
        }


def resolve_colour(
    colorspace: str | None = None,
    *,
    declared: str | None = None,
    is_float: bool = False,
    config_path: str | os.PathLike | None = None,
    display: str | None = None,
    view: str | None = None,
    names: dict[str, str] | None = None,
) -> ColourConversion | None:
    """The conversion for a plate, or None to pass its frames unchanged (see the module doc).

    ``declared``: the colourspace the file names (EXR ``colorSpace``, DPX transfer), used when
    ``colorspace`` is None; ``is_float``: float pixels (default ``scene_linear``). ``names`` maps
    ``colorspace``/``display``/``view``/``ocio_config`` to the front end's option names for errors.
    """
    names = {k: k for k in ("colorspace", "display", "view", "ocio_config")} | (names or {})
    if colorspace == RAW:
        return None
    if colorspace is None and display is None and view is None and not declared and not is_float:
        return None  # integer pictures are display-referred already
    ocio = ocio_module()
    config = load_config(config_path, names["ocio_config"])
    if colorspace is not None:
        _lookup(config, "colourspace", colorspace, _colourspace_names(config), names["colorspace"])
        source = colorspace
    elif declared and config.getColorSpace(declared) is not None:
        source = declared
    elif is_float or declared:
        if declared:
            log.warning(
                "the file declares colourspace %r, which the OCIO config does not know; using scene_linear",
                declared,
            )
        space = config.getColorSpace(ocio.ROLE_SCENE_LINEAR)
        if space is None:
            raise ValueError(
                f"the OCIO config {config.getName()!r} has no scene_linear role: name {names['colorspace']}"
            )
        source = space.getName()
    else:
        return None
    source = config.getColorSpace(source).getName()  # aliases -> the canonical name
    display = display or config.getDefaultDisplay()
    _lookup(config, "display", display, list(config.getDisplays()), names["display"])
    view = view or config.getDefaultView(display)
    _lookup(config, f"view of display {display!r}", view, list(config.getViews(display)), names["view"])
    conversion = ColourConversion(config.getName(), source, display, view, config_source(config_path)[0])
    conversion.processor  # noqa: B018 - made now, so a config that cannot convert fails here, once
    return conversion
