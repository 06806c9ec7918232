"""Depth EXRs as compositors read them (written and read with the OpenEXR package, a core dependency;
the tests read them back with OpenImageIO, as Nuke-like tools do).

Layout of one frame (one part, scanlines, ZIP):

* channels: the ``depth`` layer ``depth.Z`` (Nuke's Read node lists it as the layer ``depth``), and with the
  ``normals`` layer ``N.X``, ``N.Y``, ``N.Z``: unit camera-space normals with OpenGL axes (x right, y up,
  z towards the viewer), as relight nodes take them. ``half`` or ``float`` (``exr_type``) for every channel.
* ``displayWindow``/``dataWindow``: the plate's (the depth frame covers the display window; only the part
  inside the data window is stored); ``pixelAspectRatio``: the plate's.
* ``frame`` (int): the frame number in the file name. EXR has no standard frame-number attribute; this is
  the plain name Nuke's metadata viewer shows as ``exr/frame``. ``framesPerSecond`` when the rate is known.
* ``dav:sourceColorSpace``: the colourspace the plate was read as (``raw``: not converted), ``dav:colour``:
  the whole conversion (config, colourspace, display, view) as JSON; ``dav:model``, ``dav:settings``: JSON
  of the run's model and settings; ``davNormalization`` (JSON), ``davKind``, ``davRelative``, ``davFrame``
  as before, so :func:`read_depth_exr` decodes both these files and the single-channel ``Z`` files of
  earlier versions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .plate import PlateInfo, Window

__all__ = [
    "DEPTH_CHANNEL",
    "EXR_LAYERS",
    "EXR_TYPES",
    "NORMAL_CHANNELS",
    "parse_exr_layers",
    "read_depth_exr_file",
    "valid_depth_exr",
    "write_depth_exr",
]

EXR_TYPES = ("float", "half")
EXR_LAYERS = ("depth", "normals")
DEPTH_CHANNEL = "depth.Z"
LEGACY_DEPTH_CHANNEL = "Z"
NORMAL_CHANNELS = ("N.X", "N.Y", "N.Z")
NORMALS_SPACE = "camera, OpenGL axes: x right, y up, z towards the viewer"


def _openexr():
    try:
        import OpenEXR
    except ImportError:
        raise ImportError('EXR files need the OpenEXR package: pip install "OpenEXR>=3.3"') from None
    return OpenEXR


def parse_exr_layers(text: str | Sequence[str], name: str = "exr_layers") -> tuple[str, ...]:
    """``"depth,normals"`` or a sequence -> validated layers, depth always first (errors name ``name``)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    layers = [item.strip() for item in items if item.strip()]
    bad = [layer for layer in layers if layer not in EXR_LAYERS]
    if bad or "depth" not in layers:
        raise ValueError(
            f"{name} takes a comma-separated list of {', '.join(EXR_LAYERS)} that includes depth; got {text!r}"
        )
    return tuple(layer for layer in EXR_LAYERS if layer in layers)


def check_exr_type(value: str, name: str = "exr_type") -> str:
    if value not in EXR_TYPES:
        raise ValueError(f"{name} must be one of {', '.join(EXR_TYPES)}; got {value!r}")
    return value


def frame_windows(plate: PlateInfo, size: tuple[int, int], frame: int) -> tuple[Window, Window]:
    """(display, data) windows for a depth frame of ``size`` (H, W) covering the plate's display window;
    the data window is clipped to the display window (the depth exists only there)."""
    height, width = size
    display = plate.display_window or (0, 0, width - 1, height - 1)
    if (display[3] - display[1] + 1, display[2] - display[0] + 1) != (height, width):
        raise ValueError(
            f"depth frame {frame} is {width}x{height} but the plate's display window {display} is "
            f"{display[2] - display[0] + 1}x{display[3] - display[1] + 1}: the depth must cover the display window"
        )
    data = plate.data_window or display
    data = (max(data[0], display[0]), max(data[1], display[1]), min(data[2], display[2]), min(data[3], display[3]))
    if data[0] > data[2] or data[1] > data[3]:
        raise ValueError(f"the plate's data window {plate.data_window} lies outside its display window {display}")
    return display, data


def write_depth_exr(
    path: str | os.PathLike,
    depth: np.ndarray,
    *,
    frame: int,
    plate: PlateInfo,
    exr_type: str = "float",
    normals: np.ndarray | None = None,
    attributes: Mapping[str, str | int] | None = None,
    fps: float | None = None,
) -> None:
    """Write one frame: ``depth`` float32 [H,W] over the display window, ``normals`` [3,H,W] unit camera-space
    normals (x right, y down, z forward, as :func:`dav_core.relight.depth_to_normals` gives them) or None;
    ``attributes``: further string/int header attributes (the ``dav*`` ones)."""
    exr = _openexr()
    display, data = frame_windows(plate, depth.shape, frame)
    x0, y0 = data[0] - display[0], data[1] - display[1]
    rows, cols = slice(y0, y0 + data[3] - data[1] + 1), slice(x0, x0 + data[2] - data[0] + 1)
    dtype = np.float16 if exr_type == "half" else np.float32
    channels = {DEPTH_CHANNEL: depth[rows, cols]}  # [h,w] each
    if normals is not None:
        gl = normals * np.array([1.0, -1.0, -1.0], np.float32)[:, None, None]  # OpenCV -> OpenGL axes
        channels.update(zip(NORMAL_CHANNELS, gl[:, rows, cols], strict=True))
    channels = {name: np.ascontiguousarray(plane, dtype=dtype) for name, plane in channels.items()}
    header: dict[str, Any] = {
        "compression": exr.ZIP_COMPRESSION,
        "type": exr.scanlineimage,
        "displayWindow": (np.array(display[:2], np.int32), np.array(display[2:], np.int32)),
        "dataWindow": (np.array(data[:2], np.int32), np.array(data[2:], np.int32)),
        "pixelAspectRatio": float(plate.pixel_aspect),
        "frame": int(frame),
        "dav:sourceColorSpace": str(plate.colour.get("colorspace", "raw")),
        "dav:colour": json.dumps(plate.colour, sort_keys=True),
        **({"dav:normalsSpace": NORMALS_SPACE} if normals is not None else {}),
        **(attributes or {}),
    }
    if fps:
        header["framesPerSecond"] = Fraction(fps).limit_denominator(1001 * 1000)
    with exr.File(header, channels) as out:
        out.write(str(path))


def _depth_channel(channels: Mapping[str, Any]) -> str | None:
    return next((name for name in (DEPTH_CHANNEL, LEGACY_DEPTH_CHANNEL) if name in channels), None)


def read_depth_exr_file(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """(float32 depth [h,w] of the data window, the header) of a depth EXR (``depth.Z``, or the ``Z`` of
    earlier versions)."""
    exr = _openexr()
    with exr.File(str(path)) as file:  # header and pixels must be copied out before the file closes
        channels = file.channels()
        name = _depth_channel(channels)
        if name is None:
            raise ValueError(f"{path} has no depth channel ({DEPTH_CHANNEL}); it has {', '.join(channels)}")
        return np.array(channels[name].pixels, dtype=np.float32), dict(file.header())


def valid_depth_exr(path: Path, size: tuple[int, int] | None) -> bool:
    """True when ``path`` is a whole, readable depth EXR whose display window is ``size`` (H, W) if given."""
    exr = _openexr()
    try:
        with exr.File(str(path)) as file:  # reads and decompresses every pixel
            channels = file.channels()
            low, high = file.header()["displayWindow"]
            shown = (int(high[1] - low[1] + 1), int(high[0] - low[0] + 1))
            return _depth_channel(channels) is not None and (size is None or shown == tuple(size))
    except Exception:  # OpenEXR raises plain RuntimeError/Exception for damaged files
        return False
