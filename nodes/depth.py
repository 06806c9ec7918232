"""Depth nodes: video -> latents, flow-matching depth (short clips / keyframes + interpolation), decode."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import _comfy
from ._comfy import CATEGORY

MAX_SINGLE_PASS_FRAMES = 32  # FlowMatchDepthSampler's limit; longer clips use KeyframeDepth


@dataclass
class DAVLatents:
    """DAV_LATENTS: video latents [T,4,h,w] on the CPU, the frame geometry and the encoding model."""

    latents: torch.Tensor
    geometry: object  # dav_core.resize.FrameGeometry
    model_key: str
    model_name: str

    @property
    def num_frames(self) -> int:
        return int(self.latents.shape[0])


@dataclass
class DAVKeyframes:
    """DAV_KEYFRAMES: the long-video plan, its settings and the solved keyframe depth latents."""

    video: DAVLatents
    plan: object  # dav_core.longvideo.plan.VideoPlan
    settings: object  # dav_core.longvideo.runner.LongVideoSettings
    depth: dict  # frame -> depth latent [4,h,w]


@dataclass
class DAVDepthLatents:
    """DAV_DEPTH_LATENTS: depth latents for every frame (or an already ensembled disparity)."""

    latents: torch.Tensor | None  # [T,4,h,w]
    geometry: object
    num_frames: int
    model_key: str
    model_name: str
    disparity: torch.Tensor | None = None  # [T,H,W] in [0,1] when the sampler ensembled


def check_model(handle, thing, what: str) -> None:
    if thing.model_key != handle.key:
        raise ValueError(
            f"the {what} were made with model '{thing.model_name}', not with the '{handle.name}' "
            f"({handle.precision}) connected here: connect the same Load Depth Any Video Model node to "
            "every Depth Any Video node of this chain"
        )


def _tip(kind: str, default, tooltip: str, **options):
    return (kind, {"default": default, "tooltip": tooltip, **options})


MODEL_INPUT = ("DAV_MODEL", {"tooltip": "The model from Load Depth Any Video Model"})
STEPS = _tip("INT", 3, "Flow-matching Euler steps; 3 is the paper's default, more is slower and rarely better", min=1, max=50)
SEED = _tip("INT", 0, "Noise seed; the same seed gives the same depth", min=0, max=0xFFFFFFFFFFFFFFFF)
ENSEMBLE = _tip("INT", 1, "Samples combined by an aligned median; more is steadier and proportionally slower", min=1, max=32)
CHUNK = _tip("INT", 16, "Frames per VAE call; lower it if you run out of memory", min=1, max=256)


class VideoToLatent:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dav_model": MODEL_INPUT,
                "images": ("IMAGE", {"tooltip": "The clip as an image batch (one image per frame, all the same size)"}),
                "max_resolution": _tip(
                    "INT", 0, "The longer side the model works at (frames are downscaled, never cropped; "
                    "depth comes back at the input size). 0 = the model's own (64 for the bundled model, "
                    "960 for Depth Any Video). Lower = faster, less detail", min=0, max=4096, step=64,
                ),
                "chunk_size": CHUNK,
            }
        }

    RETURN_TYPES = ("DAV_LATENTS",)
    RETURN_NAMES = ("video_latents",)
    OUTPUT_TOOLTIPS = ("Video latents (encoded once, kept on the CPU) with the frame size and padding",)
    FUNCTION = "encode"
    CATEGORY = CATEGORY
    DESCRIPTION = "Encodes every frame once with the model's VAE, in chunks."

    def encode(self, dav_model, images, max_resolution=0, chunk_size=16):
        from dav_core.depth import frames_to_tensor, model_resolution
        from dav_core.models.vae import encode_frames
        from dav_core.resize import MIN_SINGLE_FRAME_SIZE, FrameGeometry

        if images is None or images.ndim != 4 or images.shape[0] == 0:
            shape = None if images is None else list(images.shape)
            raise ValueError(f"VideoToLatent needs a non-empty image batch [frames,H,W,3], got {shape}")
        if images.shape[-1] != 3:
            raise ValueError(
                f"images have {images.shape[-1]} channels; depth needs RGB (drop the alpha channel first)"
            )
        video = frames_to_tensor(images)  # [T,3,H,W] in [-1,1]
        min_size = MIN_SINGLE_FRAME_SIZE if video.shape[0] == 1 else 0
        model = dav_model.acquire()
        geometry = FrameGeometry.plan(
            *video.shape[-2:], model_resolution(max_resolution, model), min_size=min_size
        )
        chunks = video.split(max(1, chunk_size))
        bar = _comfy.progress_bar(len(chunks))
        latents = []
        for chunk in chunks:
            _comfy.check_interrupt()
            with torch.inference_mode():
                latents.append(encode_frames(model.vae, geometry.to_model(chunk), chunk_size).cpu())
            bar.update(1)
        dav_model.release()
        return (DAVLatents(torch.cat(latents), geometry, dav_model.key, dav_model.name),)


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
        f"Denoises all frames of a short clip jointly (up to {MAX_SINGLE_PASS_FRAMES} frames). "
        "For longer shots use Keyframe Depth + Depth Interpolate Window."
    )

    def sample(self, dav_model, video_latents, steps=3, seed=0, ensemble=1):
        from dav_core.denoise import denoise_latents
        from dav_core.depth import DepthSettings, predict_from_latents
        from dav_core.sampling import make_noise

        check_model(dav_model, video_latents, "video latents")
        count = video_latents.num_frames
        if count > MAX_SINGLE_PASS_FRAMES:
            raise ValueError(
                f"{count} frames is too long for one pass (at most {MAX_SINGLE_PASS_FRAMES}); use Keyframe "
                "Depth followed by Depth Interpolate Window, or DAV Video Depth To Files for whole shots"
            )
        settings = DepthSettings(steps=steps, seed=seed, ensemble=ensemble)
        model = dav_model.acquire()
        latents = video_latents.latents[None]  # [1,T,4,h,w]
        common = dict(
            geometry=video_latents.geometry,
            num_frames=count,
            model_key=dav_model.key,
            model_name=dav_model.name,
        )
        bar = _comfy.progress_bar(steps * ensemble)
        if ensemble > 1:  # members are decoded and combined in disparity space by dav_core
            with torch.inference_mode():
                disparity = predict_from_latents(model, latents, video_latents.geometry, settings)
            bar.update(steps * ensemble)
            dav_model.release()
            return (DAVDepthLatents(latents=None, disparity=disparity, **common),)

        def on_step(step, x):
            _comfy.check_interrupt()
            bar.update_absolute(step, steps)
            return None

        noise = make_noise(tuple(latents.shape), torch.Generator().manual_seed(seed))
        with torch.inference_mode():
            depth = denoise_latents(
                model.unet,
                latents,
                noise,
                steps=steps,
                scheduler_config=model.scheduler_config,
                on_step=on_step,
            )[0].cpu()
        bar.update_absolute(steps, steps)
        dav_model.release()
        return (DAVDepthLatents(latents=depth, **common),)


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
                "window": _tip(
                    "INT", 8, "Frames per interpolation window including both keyframes; keyframes are "
                    "window-1 frames apart", min=3, max=64,
                ),
                "overlap": _tip(
                    "INT", 0, "Frames shared by neighbouring windows (blended); 0 = windows meet at keyframes. "
                    "Must be at most window-3", min=0, max=61,
                ),
                "max_keyframes_per_pass": _tip(
                    "INT", 32, "Keyframes denoised together in one pass (GPU memory); clips up to this "
                    "many frames are done in one pass with no interpolation", min=2, max=256,
                ),
                "pass_overlap": _tip(
                    "INT", 2, "Keyframes of the previous pass that anchor the next one (keeps the depth "
                    "scale consistent); must be below max_keyframes_per_pass", min=0, max=255,
                ),
            }
        }

    RETURN_TYPES = ("DAV_KEYFRAMES",)
    RETURN_NAMES = ("keyframes",)
    OUTPUT_TOOLTIPS = ("Keyframe depth latents and the window plan, for Depth Interpolate Window",)
    FUNCTION = "solve"
    CATEGORY = CATEGORY
    DESCRIPTION = "Picks keyframes and denoises them jointly, pass by pass, with their true frame positions (RoPE)."

    def solve(self, dav_model, video_latents, steps=3, seed=0, ensemble=1, window=8, overlap=0,
              max_keyframes_per_pass=32, pass_overlap=2):
        from dav_core.longvideo import runner
        from dav_core.longvideo.runner import LongVideoSettings

        check_model(dav_model, video_latents, "video latents")
        try:
            settings = LongVideoSettings(
                steps=steps, seed=seed, ensemble=ensemble, max_resolution=None, window=window,
                overlap=overlap, max_keyframes_per_pass=max_keyframes_per_pass, pass_overlap=pass_overlap,
            )
            plan = settings.plan(video_latents.num_frames)
        except ValueError as error:
            raise ValueError(f"Keyframe Depth settings: {error}") from None
        if plan.windows and dav_model.model.unet_interp is None:
            raise ValueError(
                f"{video_latents.num_frames} frames need interpolation windows but this checkpoint has no "
                "unet_interp; use a full Depth Any Video checkpoint or raise max_keyframes_per_pass"
            )
        model = dav_model.acquire()
        total = sum(len(p.frames) for p in plan.keyframe_passes) * ensemble
        bar = _comfy.progress_bar(total)

        def advance(frames_done):
            bar.update(frames_done)
            _comfy.check_interrupt()

        rgb = {f: video_latents.latents[f] for f in plan.keyframes}
        with torch.inference_mode():
            depth = runner.solve_keyframes_ensembled(model, rgb, plan, settings, advance)
        dav_model.release()
        return (DAVKeyframes(video_latents, plan, settings, depth),)


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
        from dav_core.longvideo.runner import interpolate_blocks

        video = keyframes.video
        check_model(dav_model, video, "keyframes")
        plan, settings = keyframes.plan, keyframes.settings
        model = dav_model.acquire()
        blended = {f: keyframes.depth[f] for f in plan.keyframes}
        bar = _comfy.progress_bar(len(plan.windows))
        with torch.inference_mode():
            blocks = interpolate_blocks(
                model, plan, settings, keyframes.depth, lambda window: video.latents[list(window.frames)]
            )
            for group, contributions in blocks:
                for f, latent in contributions.items():
                    blended[f] = blended.get(f, 0) + latent
                bar.update(len(group))
                _comfy.check_interrupt()
        dav_model.release()
        missing = [f for f in range(video.num_frames) if f not in blended]
        if missing:
            raise RuntimeError(f"internal error: frames {missing[:5]} have no depth after interpolation")
        latents = torch.stack([blended[f] for f in range(video.num_frames)])
        return (DAVDepthLatents(latents, video.geometry, video.num_frames, dav_model.key, dav_model.name),)


OUTPUT_KINDS = ["disparity", "depth"]
NORMALIZATIONS = ["shot", "fixed"]


class DAV_DecodeDepth:
    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "dav_model": MODEL_INPUT,
                "depth_latents": ("DAV_DEPTH_LATENTS", {"tooltip": "From the sampler or Depth Interpolate Window"}),
                "output": (OUTPUT_KINDS, {
                    "default": "disparity",
                    "tooltip": "disparity: near = white (what depth ControlNets expect); depth: far = white. "
                    "Both are relative (ordering and proportions), not metres",
                }),
                "normalization": (NORMALIZATIONS, {
                    "default": "shot",
                    "tooltip": "shot: the nearest and farthest values of the whole shot map to 1 and 0 (no "
                    "per-frame flicker); fixed: use the near/far values below",
                }),
                "near": _tip("FLOAT", 1.0, "fixed only: model disparity (0..1) shown as nearest", min=0.0, max=1.0, step=0.01),
                "far": _tip("FLOAT", 0.0, "fixed only: model disparity (0..1) shown as farthest; below near", min=0.0, max=1.0, step=0.01),
                "chunk_size": CHUNK,
                "decode_overlap": _tip(
                    "INT", 2, "Frames shared by neighbouring VAE decode chunks (cross-faded); must be below "
                    "chunk_size", min=0, max=255,
                ),
            }
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

    def decode(self, dav_model, depth_latents, output="disparity", normalization="shot", near=1.0, far=0.0,
               chunk_size=16, decode_overlap=2):
        check_model(dav_model, depth_latents, "depth latents")
        if output not in OUTPUT_KINDS:
            raise ValueError(f"output must be one of {OUTPUT_KINDS}, got {output!r}")
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        if normalization == "fixed" and not near > far:
            raise ValueError(f"near ({near}) must be greater than far ({far}): both are disparities, near = 1")
        if not 0 <= decode_overlap < chunk_size:
            raise ValueError(f"decode_overlap ({decode_overlap}) must be below chunk_size ({chunk_size})")
        disparity = depth_latents.disparity
        if disparity is None:
            disparity = _decode(dav_model, depth_latents, chunk_size, decode_overlap)
        if normalization == "shot":
            low, high = float(disparity.min()), float(disparity.max())
        else:
            low, high = far, near
        unit = ((disparity - low) / max(high - low, 1e-6)).clamp(0, 1).float()
        if output == "depth":
            unit = 1.0 - unit
        return (unit, unit[..., None].expand(-1, -1, -1, 3).contiguous())


def _decode(dav_model, depth_latents, chunk, overlap):
    from dav_core.decoding import ChunkedDecoder

    model = dav_model.acquire()
    count = depth_latents.num_frames
    decoder = ChunkedDecoder(model, depth_latents.geometry, count, chunk, overlap)
    frames = dict(enumerate(depth_latents.latents))
    bar = _comfy.progress_bar(len(decoder.plan.chunks))
    out = []
    for c in decoder.plan.chunks:
        _comfy.check_interrupt()
        with torch.inference_mode():
            out += [d for _, d in decoder.push(frames, c.stop)]
        bar.update(1)
    dav_model.release()
    if len(out) != count:
        raise RuntimeError(f"internal error: decoded {len(out)} of {count} frames")
    return torch.stack(out)


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
