"""Option lists shared by the command line and the ComfyUI nodes: one definition each (no torch import)."""

from __future__ import annotations

import re

COLORMAPS = ("Spectral", "turbo", "inferno", "viridis", "gray")  # preview colours; Spectral is the paper's
PRECISIONS = ("auto", "fp32", "fp16", "bf16")  # auto: fp16 on CUDA; bf16 for large models on CPUs with fast bf16; else fp32
OUTPUT_FORMATS = ("png16", "exr", "npy", "mp4")  # what a file-to-file run can write
SEQUENCE_FORMATS = ("png16", "exr")  # one file per frame: resumable
DATA_FORMATS = ("png16", "exr", "npy")  # depth values; mp4 is a colour preview
SINGLE_PASS_FRAMES = 32  # frames denoised together in one pass (also the default keyframes per pass)
DEPTH_KINDS = ("disparity", "depth")  # disparity: near = 1; depth: far = 1
SHOT_RANGES = ("shot", "fixed")  # shot: the shot's min..max map to 0..1; fixed: given near/far
COLOR_RANGES = ("shot", "per-frame", "none")  # how a colormap node stretches values
PASS_CHAINING = ("pin", "align", "none")
"""How keyframe passes after the first keep the depth scale of the earlier ones:

* ``pin`` -- the shared (already solved) keyframes are held on the flow trajectory at every step,
  ``x = sigma * noise + (1 - sigma) * solved``, so the new keyframes are generated in their scale;
* ``align`` -- each pass is denoised on its own, then decoded and mapped by one least-squares
  scale/shift (in disparity) onto the shared keyframes, and re-encoded;
* ``none`` -- passes are independent (a baseline for measurements).
"""
GIB = 2**30
MEMORY_MODES = ("auto", "off")
MEMORY_SIZES = ("4GB", "6GB", "8GB", "12GB", "16GB", "24GB", "48GB", "80GB")  # the nodes' list
MEMORY_CHOICES = (*MEMORY_MODES, *MEMORY_SIZES)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(GB|GIB|G|MB|MIB|M)\s*$", re.IGNORECASE)

__all__ = [
    "COLORMAPS",
    "COLOR_RANGES",
    "DATA_FORMATS",
    "DEPTH_KINDS",
    "MEMORY_CHOICES",
    "OUTPUT_FORMATS",
    "PASS_CHAINING",
    "PRECISIONS",
    "SEQUENCE_FORMATS",
    "SHOT_RANGES",
    "SINGLE_PASS_FRAMES",
]


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError naming ``name`` and the choices."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def parse_memory(text: str, name: str = "memory") -> str | int:
    """``"auto"`` / ``"off"``, or a size such as ``"8GB"`` / ``"1.5GB"`` / ``"512MB"`` -> bytes (GB = GiB,
    as GPUs are sized); a ValueError naming ``name`` and the allowed values otherwise."""
    value = str(text).strip().lower()
    if value in MEMORY_MODES:
        return value
    match = _SIZE.match(value)
    size = 0.0 if match is None else float(match.group(1)) * (GIB if match.group(2)[0] in "gG" else 2**20)
    if size < 2**20:
        raise ValueError(f"{name} must be auto, off or a size such as 8GB or 512MB; got {text!r}")
    return int(size)
