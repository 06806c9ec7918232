"""Widget definitions and input checks shared by the nodes (tooltips on every input)."""

from __future__ import annotations

import hashlib
import os

import torch

from ..dav_core.choices import MEMORY_CHOICES
from ..dav_core.settings import DEFAULTS
from . import _comfy


def tip(kind: str, default, tooltip: str, **options):
    """A widget of ``kind`` with its default, tooltip and options."""
    return (kind, {"default": default, "tooltip": tooltip, **options})


def choice(options, default: str, tooltip: str):
    """A combo widget over ``options``."""
    return (list(options), {"default": default, "tooltip": tooltip})


def setting(field: str, tooltip: str, **options):
    """A widget for a field of the run's settings: its default is the library's (one place for every front
    end); ``options``: the widget's limits."""
    default = getattr(DEFAULTS, field)
    if isinstance(default, str):
        return (list(options.pop("choices")), {"default": default, "tooltip": tooltip, **options})
    return tip("INT", default, tooltip, **options)


MODEL_INPUT = ("DAV_MODEL", {"tooltip": "The model from Load Depth Any Video Model"})
DEPTH_MASK = ("MASK", {"tooltip": "Depth or disparity in 0..1 from Decode Depth"})
LATENTS_INPUT = ("DAV_LATENTS", {"tooltip": "From Video To Latent (same model)"})
STEPS = setting("steps", "Flow-matching Euler steps; 3 is the paper's default, more is slower and rarely better", min=1, max=50)
SEED = setting("seed", "Noise seed; the same seed gives the same depth", min=0, max=0xFFFFFFFFFFFFFFFF)
ENSEMBLE = setting("ensemble", "Samples combined by an aligned median; more is steadier and proportionally slower", min=1, max=32)
DEPTH_INPUTS = {"steps": STEPS, "seed": SEED, "ensemble": ENSEMBLE}
CHUNK = setting("chunk_size", "Frames per VAE call; lower it if you run out of memory", min=1, max=256)
MEMORY = setting(
    "memory", "Memory to fit the run in: auto = what the device has free now; a size = that much "
    "(weights included); off = the sizes as set. It only ever lowers chunk_size, the window batch and the "
    "keyframes per pass, to what is estimated to fit", choices=MEMORY_CHOICES,
)

# Limits of the inputs several nodes share, declared once (ComfyUI refuses values outside them at /prompt).
RESOLUTION_LIMITS = {"min": 0, "max": 8192, "step": 64}
WINDOW_LIMITS = {"min": 0, "max": 64}
OVERLAP_LIMITS = {"min": 0, "max": WINDOW_LIMITS["max"] - 3}
KEYFRAMES_PER_PASS = {"min": 2, "max": 256}
FPS_LIMITS = {"min": 1.0, "max": 240.0, "step": 0.001}


def resolution(tooltip: str):
    """A max_resolution widget (0 = no limit or the model's own, as the tooltip says)."""
    return setting("max_resolution", tooltip, **RESOLUTION_LIMITS)


MODEL_RESOLUTION = resolution(
    "The longer side the model works at (frames are downscaled, never cropped; depth comes back at "
    "the input size). 0 = the model's own (64 for the bundled model, 960 for Depth Any Video). Lower = faster, "
    "less detail",
)
WINDOW = setting("window", "Frames per interpolation window including both keyframes (keyframes are window-1 frames apart); 0 = the model's own: 16 for the published model, 8 for the bundled one", **WINDOW_LIMITS)
OVERLAP = setting("overlap", "Frames shared by neighbouring windows (blended); 0 = windows meet at keyframes. At most window-3", **OVERLAP_LIMITS)
FRAME_INPUTS = {
    "start_frame": tip("INT", 0, "First source frame to use (0 = the first frame of the file)", min=0, max=10**7),
    "end_frame": tip("INT", 0, "Source frame to stop before (exclusive); 0 = to the end of the file", min=0, max=10**7),
    "stride": tip("INT", 1, "Use every n-th frame (2 = every other frame)", min=1, max=1000),
}


def frame_stop(start_frame: int, end_frame: int) -> int | None:
    """``end_frame`` as a selection stop (0 = to the end), checked against ``start_frame``."""
    if end_frame and end_frame <= start_frame:
        raise ValueError(f"end_frame ({end_frame}) must be after start_frame ({start_frame}), or 0 for the end")
    return end_frame or None


def video_combo(upload: bool = False):
    """The input folder's videos (sub-folders included); ``upload`` adds ComfyUI's upload button (and the
    frontend's video preview) to the node."""
    videos = _comfy.list_input_videos()
    options = {"tooltip": "A video in ComfyUI's input folder or its sub-folders (mp4, mov, mkv, webm, avi)"}
    if upload:  # the file goes to the input folder and is selected
        options = {"video_upload": True, "tooltip": options["tooltip"] + "; upload one with the button"}
    return (videos or ["sample.mp4"], options)


def file_hash(path) -> str:
    stat = os.stat(path)
    return hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()


def check_mask(depth, what: str = "depth") -> torch.Tensor:
    """A MASK batch [frames,H,W] (a single mask or a grey IMAGE is accepted too), as float."""
    if depth is None or not isinstance(depth, torch.Tensor):
        raise ValueError(f"{what} must be a MASK (from Decode Depth), got {type(depth).__name__}")
    if depth.ndim == 2:
        depth = depth[None]
    if depth.ndim == 4 and depth.shape[-1] in (1, 3):  # an IMAGE passed where a MASK is expected
        depth = depth[..., 0]
    if depth.ndim != 3 or depth.shape[0] == 0:
        raise ValueError(f"{what} must be a non-empty MASK [frames,H,W], got shape {list(depth.shape)}")
    return depth.float()
