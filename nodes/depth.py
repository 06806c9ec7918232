"""Depth nodes: video -> latents, flow-matching depth (short clips / keyframes + interpolation), decode.

Each node calls one stage of ``dav_core.stages``; the DAV_* link types carry its typed results.
"""

from __future__ import annotations

from ..dav_core.choices import DEPTH_KINDS, SHOT_RANGES, SINGLE_PASS_FRAMES
from . import _comfy
from .checks import declared_error, long_video_settings, settings_error, verdict
from .comfy_video import VIDEO, check_one_clip, video_source
from .declare import mappings, node
from .widgets import (
    CHUNK,
    DEPTH_INPUTS,
    KEYFRAMES_PER_PASS,
    LATENTS_INPUT,
    MEMORY,
    MODEL_INPUT,
    MODEL_RESOLUTION,
    OVERLAP,
    WINDOW,
    choice,
    setting,
    tip,
)


@node(
    "VideoToLatent", "Video To Latent (DAV)", "encode",
    "Encodes every frame of an image batch or a VIDEO once with the model's VAE, in chunks.",
    required={"dav_model": MODEL_INPUT, "max_resolution": MODEL_RESOLUTION, "chunk_size": CHUNK},
    optional={
        "images": ("IMAGE", {"tooltip": "The clip as an image batch (one image per frame, all the same size); or connect video"}),
        "video": (VIDEO, {"tooltip": "The clip as a VIDEO (core Load Video): a file is read chunk by chunk, never held whole; or connect images"}),
        "memory": MEMORY,
    },
    outputs=(("DAV_LATENTS", "video_latents", "Video latents (encoded once, kept on the CPU) with the frame size and padding"),),
)
class VideoToLatent:
    @classmethod
    def VALIDATE_INPUTS(cls, max_resolution=None, chunk_size=None):
        options = {"max_resolution": max_resolution, "chunk_size": chunk_size}
        return verdict(declared_error(cls, **options), settings_error(**options))

    def encode(self, dav_model, images=None, max_resolution=0, chunk_size=16, video=None, memory="auto"):
        from ..dav_core.stages import encode_video

        check_one_clip(video, images, "VideoToLatent")
        if video is not None:
            frames = video_source(video)
        else:
            if images.ndim != 4 or images.shape[0] == 0:
                raise ValueError(f"VideoToLatent needs a non-empty image batch [frames,H,W,3], got {list(images.shape)}")
            if images.shape[-1] != 3:
                raise ValueError(
                    f"images have {images.shape[-1]} channels; depth needs RGB (drop the alpha channel first)"
                )
            frames = images
        long_video_settings(max_resolution=max_resolution, chunk_size=chunk_size, memory=memory)
        with dav_model.use() as model:  # memory lowers chunk_size to fit
            free = _comfy.free_memory(model.device)
            return (encode_video(model, frames, max_resolution, chunk_size, _comfy.hooks(), memory, free),)


@node(
    "FlowMatchDepthSampler", "Flow Match Depth Sampler (short clip)", "sample",
    f"Denoises all frames of a short clip jointly (up to {SINGLE_PASS_FRAMES} frames). "
    "For longer shots use Keyframe Depth + Depth Interpolate Window.",
    required={"dav_model": MODEL_INPUT, "video_latents": LATENTS_INPUT, **DEPTH_INPUTS},
    outputs=(("DAV_DEPTH_LATENTS", "depth_latents", "Depth latents for every frame; decode them with Decode Depth"),),
)
class FlowMatchDepthSampler:
    def sample(self, dav_model, video_latents, steps=3, seed=0, ensemble=1):
        from ..dav_core.settings import DepthSettings, build_settings
        from ..dav_core.stages import denoise_clip

        settings = build_settings({"steps": steps, "seed": seed, "ensemble": ensemble}, kind=DepthSettings)
        with dav_model.use() as model:
            return (denoise_clip(model, video_latents, settings, _comfy.hooks()),)


@node(
    "KeyframeDepth", "Keyframe Depth (DAV)", "solve",
    "Picks keyframes and denoises them jointly, pass by pass, with their true frame positions (RoPE).",
    required={
        "dav_model": MODEL_INPUT,
        "video_latents": LATENTS_INPUT,
        **DEPTH_INPUTS,
        "window": WINDOW,
        "overlap": OVERLAP,
        "max_keyframes_per_pass": setting(
            "max_keyframes_per_pass", "Keyframes denoised together in one pass (GPU memory); clips up "
            "to this many frames are done in one pass with no interpolation", **KEYFRAMES_PER_PASS,
        ),
        "pass_overlap": tip(
            "INT", 2, "Keyframes of the previous pass that anchor the next one (keeps the depth "
            "scale consistent); must be below max_keyframes_per_pass", min=0, max=255,
        ),
    },
    optional={"memory": MEMORY},
    outputs=(("DAV_KEYFRAMES", "keyframes", "Keyframe depth latents and the window plan, for Depth Interpolate Window"),),
)
class KeyframeDepth:
    @classmethod
    def VALIDATE_INPUTS(cls, window=None, overlap=None, max_keyframes_per_pass=None, pass_overlap=None):
        options = {"window": window, "overlap": overlap, "max_keyframes_per_pass": max_keyframes_per_pass,
                   "pass_overlap": pass_overlap}
        return verdict(declared_error(cls, **options), settings_error(**options))

    def solve(self, dav_model, video_latents, steps=3, seed=0, ensemble=1, window=0, overlap=0,
              max_keyframes_per_pass=SINGLE_PASS_FRAMES, pass_overlap=2, memory="auto"):
        from ..dav_core.stages import solve_keyframes

        try:
            settings = long_video_settings(
                steps=steps, seed=seed, ensemble=ensemble, window=window, overlap=overlap,
                max_keyframes_per_pass=max_keyframes_per_pass, pass_overlap=pass_overlap, memory=memory,
            )
        except ValueError as error:
            raise ValueError(f"Keyframe Depth settings: {error}") from None
        with dav_model.use() as model:  # memory lowers the keyframes per pass and the window batch to fit
            free = _comfy.free_memory(model.device)
            return (solve_keyframes(model, video_latents, settings, _comfy.hooks(), free),)


@node(
    "DepthInterpolateWindow", "Depth Interpolate Window (DAV)", "interpolate",
    "Fills every window between neighbouring keyframes with the interpolation UNet and blends overlaps.",
    required={"dav_model": MODEL_INPUT, "keyframes": ("DAV_KEYFRAMES", {"tooltip": "From Keyframe Depth (same model)"})},
    outputs=(("DAV_DEPTH_LATENTS", "depth_latents", "Depth latents for every frame (keyframes plus interpolated frames)"),),
)
class DepthInterpolateWindow:
    def interpolate(self, dav_model, keyframes):
        from ..dav_core.stages import fill_windows

        with dav_model.use() as model:
            return (fill_windows(model, keyframes, _comfy.hooks()),)


@node(
    "DAV_DecodeDepth", "Decode Depth (DAV)", "decode",
    "Decodes depth latents in overlapping chunks to one depth map per input frame, at the input size.",
    required={
        "dav_model": MODEL_INPUT,
        "depth_latents": ("DAV_DEPTH_LATENTS", {"tooltip": "From the sampler or Depth Interpolate Window"}),
        "output": choice(
            DEPTH_KINDS, "disparity", "disparity: near = white (what depth ControlNets expect); depth: "
            "far = white. Both are relative (ordering and proportions), not metres",
        ),
        "range": choice(
            SHOT_RANGES, "shot", "shot: the nearest and farthest values of the whole shot map to 1 and 0 "
            "(no per-frame flicker); fixed: use the near/far values below",
        ),
        "near": tip("FLOAT", 1.0, "fixed only: model disparity (0..1) shown as nearest", min=0.0, max=1.0, step=0.01),
        "far": tip("FLOAT", 0.0, "fixed only: model disparity (0..1) shown as farthest; below near", min=0.0, max=1.0, step=0.01),
        "chunk_size": CHUNK,
        "decode_overlap": setting(
            "decode_overlap", "Frames shared by neighbouring VAE decode chunks (cross-faded); at most "
            "chunk_size - 1 are used", min=0, max=255,
        ),
    },
    optional={"memory": MEMORY},
    outputs=(
        ("MASK", "depth_mask", "Depth as a float mask [frames,H,W] in 0..1 at the input size"),
        ("IMAGE", "depth_image", "The same depth as a grey image batch"),
    ),
)
class DAV_DecodeDepth:
    def decode(self, dav_model, depth_latents, output="disparity", range="shot", near=1.0, far=0.0,
               chunk_size=16, decode_overlap=2, memory="auto"):
        from ..dav_core.stages import decode_values

        long_video_settings(chunk_size=chunk_size, decode_overlap=decode_overlap, memory=memory)
        with dav_model.use() as model:  # memory lowers chunk_size to fit
            free = _comfy.free_memory(model.device)
            values = decode_values(
                model, depth_latents, output, range, near, far, chunk_size, decode_overlap, _comfy.hooks(),
                memory, free,
            )
        return (values, values[..., None].expand(-1, -1, -1, 3).contiguous())


NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = mappings(
    VideoToLatent, FlowMatchDepthSampler, KeyframeDepth, DepthInterpolateWindow, DAV_DecodeDepth
)
