"""Depth nodes: video -> latents, flow-matching depth (short clips / keyframes + interpolation), decode.

Each node calls one stage of ``dav_core.stages``; the DAV_* link types carry its typed results.
"""

from __future__ import annotations

from dav_core.choices import DEPTH_KINDS, SHOT_RANGES, SINGLE_PASS_FRAMES

from . import _comfy
from ._comfy import CATEGORY
from .comfy_video import VIDEO, check_one_clip, video_source
from .widgets import (
    CHUNK,
    ENSEMBLE,
    MEMORY,
    MODEL_INPUT,
    MODEL_RESOLUTION,
    OVERLAP,
    SEED,
    STEPS,
    WINDOW,
    choice,
    tip,
)


class VideoToLatent:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dav_model": MODEL_INPUT,
                "max_resolution": MODEL_RESOLUTION,
                "chunk_size": CHUNK,
            },
            "optional": {
                "images": ("IMAGE", {"tooltip": "The clip as an image batch (one image per frame, all the same size); or connect video"}),
                "video": (VIDEO, {"tooltip": "The clip as a VIDEO (core Load Video): a file is read chunk by chunk, never held whole; or connect images"}),
                "memory": MEMORY,
            },
        }

    RETURN_TYPES = ("DAV_LATENTS",)
    RETURN_NAMES = ("video_latents",)
    OUTPUT_TOOLTIPS = ("Video latents (encoded once, kept on the CPU) with the frame size and padding",)
    FUNCTION = "encode"
    CATEGORY = CATEGORY
    DESCRIPTION = "Encodes every frame of an image batch or a VIDEO once with the model's VAE, in chunks."

    def encode(self, dav_model, images=None, max_resolution=0, chunk_size=16, video=None, memory="auto"):
        from dav_core.longvideo.settings import LongVideoSettings
        from dav_core.stages import encode_video

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
        size = frames.frame_size if video is not None else tuple(frames.shape[1:3])
        with dav_model.use() as model:
            settings = LongVideoSettings(max_resolution=max_resolution, chunk_size=chunk_size)
            chunk_size = _comfy.fit_memory(model, settings, size, memory).chunk_size
            return (encode_video(model, frames, max_resolution, chunk_size, _comfy.hooks()),)


class FlowMatchDepthSampler:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dav_model": MODEL_INPUT,
                "video_latents": ("DAV_LATENTS", {"tooltip": "From Video To Latent (same model)"}),
                "steps": STEPS,
                "seed": SEED,
                "ensemble": ENSEMBLE,
            }
        }

    RETURN_TYPES = ("DAV_DEPTH_LATENTS",)
    RETURN_NAMES = ("depth_latents",)
    OUTPUT_TOOLTIPS = ("Depth latents for every frame; decode them with Decode Depth",)
    FUNCTION = "sample"
    CATEGORY = CATEGORY
    DESCRIPTION = (
        f"Denoises all frames of a short clip jointly (up to {SINGLE_PASS_FRAMES} frames). "
        "For longer shots use Keyframe Depth + Depth Interpolate Window."
    )

    def sample(self, dav_model, video_latents, steps=3, seed=0, ensemble=1):
        from dav_core.depth import DepthSettings
        from dav_core.stages import denoise_clip

        settings = DepthSettings(steps=steps, seed=seed, ensemble=ensemble)
        with dav_model.use() as model:
            return (denoise_clip(model, video_latents, settings, _comfy.hooks()),)


class KeyframeDepth:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dav_model": MODEL_INPUT,
                "video_latents": ("DAV_LATENTS", {"tooltip": "From Video To Latent (same model)"}),
                "steps": STEPS,
                "seed": SEED,
                "ensemble": ENSEMBLE,
                "window": WINDOW,
                "overlap": OVERLAP,
                "max_keyframes_per_pass": tip(
                    "INT", SINGLE_PASS_FRAMES, "Keyframes denoised together in one pass (GPU memory); clips up "
                    "to this many frames are done in one pass with no interpolation", min=2, max=256,
                ),
                "pass_overlap": tip(
                    "INT", 2, "Keyframes of the previous pass that anchor the next one (keeps the depth "
                    "scale consistent); must be below max_keyframes_per_pass", min=0, max=255,
                ),
            },
            "optional": {"memory": MEMORY},
        }

    RETURN_TYPES = ("DAV_KEYFRAMES",)
    RETURN_NAMES = ("keyframes",)
    OUTPUT_TOOLTIPS = ("Keyframe depth latents and the window plan, for Depth Interpolate Window",)
    FUNCTION = "solve"
    CATEGORY = CATEGORY
    DESCRIPTION = "Picks keyframes and denoises them jointly, pass by pass, with their true frame positions (RoPE)."

    def solve(self, dav_model, video_latents, steps=3, seed=0, ensemble=1, window=0, overlap=0,
              max_keyframes_per_pass=SINGLE_PASS_FRAMES, pass_overlap=2, memory="auto"):
        from dav_core.longvideo.settings import LongVideoSettings
        from dav_core.stages import solve_keyframes

        try:
            settings = LongVideoSettings(
                steps=steps, seed=seed, ensemble=ensemble, window=window, overlap=overlap,
                max_keyframes_per_pass=max_keyframes_per_pass, pass_overlap=pass_overlap,
            )
            settings.for_model(dav_model.model).plan(video_latents.num_frames)
        except ValueError as error:
            raise ValueError(f"Keyframe Depth settings: {error}") from None
        with dav_model.use() as model:  # memory lowers the keyframes per pass and the window batch to fit
            settings = _comfy.fit_memory(model, settings, video_latents.geometry, memory)
            return (solve_keyframes(model, video_latents, settings, _comfy.hooks()),)


class DepthInterpolateWindow:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dav_model": MODEL_INPUT,
                "keyframes": ("DAV_KEYFRAMES", {"tooltip": "From Keyframe Depth (same model)"}),
            }
        }

    RETURN_TYPES = ("DAV_DEPTH_LATENTS",)
    RETURN_NAMES = ("depth_latents",)
    OUTPUT_TOOLTIPS = ("Depth latents for every frame (keyframes plus interpolated frames)",)
    FUNCTION = "interpolate"
    CATEGORY = CATEGORY
    DESCRIPTION = "Fills every window between neighbouring keyframes with the interpolation UNet and blends overlaps."

    def interpolate(self, dav_model, keyframes):
        from dav_core.stages import fill_windows

        with dav_model.use() as model:
            return (fill_windows(model, keyframes, _comfy.hooks()),)


class DAV_DecodeDepth:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
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
                "decode_overlap": tip(
                    "INT", 2, "Frames shared by neighbouring VAE decode chunks (cross-faded); at most "
                    "chunk_size - 1 are used", min=0, max=255,
                ),
            },
            "optional": {"memory": MEMORY},
        }

    RETURN_TYPES = ("MASK", "IMAGE")
    RETURN_NAMES = ("depth_mask", "depth_image")
    OUTPUT_TOOLTIPS = (
        "Depth as a float mask [frames,H,W] in 0..1 at the input size",
        "The same depth as a grey image batch",
    )
    FUNCTION = "decode"
    CATEGORY = CATEGORY
    DESCRIPTION = "Decodes depth latents in overlapping chunks to one depth map per input frame, at the input size."

    def decode(self, dav_model, depth_latents, output="disparity", range="shot", near=1.0, far=0.0,
               chunk_size=16, decode_overlap=2, memory="auto"):
        from dav_core.longvideo.settings import LongVideoSettings
        from dav_core.stages import decode_values

        with dav_model.use() as model:
            settings = LongVideoSettings(chunk_size=chunk_size)
            chunk_size = _comfy.fit_memory(model, settings, depth_latents.geometry, memory).chunk_size
            values = decode_values(
                model, depth_latents, output, range, near, far, chunk_size, decode_overlap, _comfy.hooks()
            )
        return (values, values[..., None].expand(-1, -1, -1, 3).contiguous())


NODE_CLASS_MAPPINGS = {
    "VideoToLatent": VideoToLatent,
    "FlowMatchDepthSampler": FlowMatchDepthSampler,
    "KeyframeDepth": KeyframeDepth,
    "DepthInterpolateWindow": DepthInterpolateWindow,
    "DAV_DecodeDepth": DAV_DecodeDepth,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "VideoToLatent": "Video To Latent (DAV)",
    "FlowMatchDepthSampler": "Flow Match Depth Sampler (short clip)",
    "KeyframeDepth": "Keyframe Depth (DAV)",
    "DepthInterpolateWindow": "Depth Interpolate Window (DAV)",
    "DAV_DecodeDepth": "Decode Depth (DAV)",
}
