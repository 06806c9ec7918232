"""Option lists shared by the command line and the ComfyUI nodes: one definition each (no torch import)."""

from __future__ import annotations

from .io.colormaps import COLORMAP_NAMES
from .longvideo.plan import PASS_CHAINING

COLORMAPS = COLORMAP_NAMES  # preview colours; Spectral is the paper's
PRECISIONS = ("auto", "fp32", "fp16", "bf16")  # auto: fp16 on CUDA; bf16 for large models on CPUs with fast bf16; else fp32
OUTPUT_FORMATS = ("png16", "exr", "npy", "mp4")  # what a file-to-file run can write
SEQUENCE_FORMATS = ("png16", "exr")  # one file per frame: resumable
DATA_FORMATS = ("png16", "exr", "npy")  # depth values; mp4 is a colour preview
SINGLE_PASS_FRAMES = 32  # frames denoised together in one pass (also the default keyframes per pass)
DEPTH_KINDS = ("disparity", "depth")  # disparity: near = 1; depth: far = 1
SHOT_RANGES = ("shot", "fixed")  # shot: the shot's min..max map to 0..1; fixed: given near/far
COLOR_RANGES = ("shot", "per-frame", "none")  # how a colormap node stretches values

__all__ = [
    "COLORMAPS",
    "COLOR_RANGES",
    "DATA_FORMATS",
    "DEPTH_KINDS",
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
