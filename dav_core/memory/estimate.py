"""Peak memory of each stage of a run, per call, for a model config, frame size and precision.

A stage's peak is the weights of every component (all three stay on the device for a run) plus the
live tensors of its largest call:

    encode     one VAE encode call of a ``n``-frame chunk: ``encode_batch_size(n, n)`` frames [b,3,ph,pw]
    keyframes  one UNet step over a keyframe pass of ``n`` frames [1,n,8,h,w]
    windows    one interpolation UNet step over ``n`` windows of ``length`` frames [n,L,16,h,w]
    decode     one VAE decode call of ``n`` latent frames [n,4,h,w] (the temporal decoder mixes them)

The live tensors are traced on fake tensors (:mod:`.trace`) through the same functions a run calls.
They grow linearly with ``n`` (every op is per frame, attention included: fused kernels keep no score
matrix), so each stage is traced at two sizes and the line through them is cached per
(config, size, precision); ``tests/test_memory.py`` checks the line against direct traces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache, lru_cache

import torch

from ..decoding import images_to_disparity
from ..denoise import denoise_latents
from ..models.loading import COMPONENT_CLASSES, DEFAULT_SCHEDULER_CONFIG, DAVModel
from ..models.vae import decode_latents, encode_batch_size, encode_frames, float32_output
from . import cache as disk_cache
from . import trace
from .trace import fake_module, traced_peak

STAGES = ("encode", "keyframes", "windows", "decode")
LATENT_SCALE = 8  # VAE downsampling


@dataclass(frozen=True)
class ModelSpec:
    """What the estimates need from a model: component configs (JSON) and the weights' precision."""

    unet: str
    vae: str
    unet_interp: str | None
    dtype: torch.dtype
    weights: int | None = None  # bytes of the loaded weights, when known (else counted from the configs)

    @classmethod
    def from_configs(cls, configs: dict[str, dict], dtype: torch.dtype) -> ModelSpec:
        """From ``{"unet": {...}, "vae": {...}, "unet_interp": {...}}`` (``unet_interp`` optional)."""

        def text(name: str) -> str | None:
            config = configs.get(name)
            if config is None:
                return None
            return json.dumps(
                {k: v for k, v in dict(config).items() if not k.startswith("_")}, sort_keys=True
            )

        return cls(text("unet"), text("vae"), text("unet_interp"), dtype)

    @classmethod
    def from_model(cls, model: DAVModel) -> ModelSpec:
        components = {"unet": model.unet, "vae": model.vae, "unet_interp": model.unet_interp}
        spec = cls.from_configs({k: m.config for k, m in components.items() if m is not None}, model.dtype)
        weights = sum(
            t.numel() * t.element_size() for m in model.modules() for t in (*m.parameters(), *m.buffers())
        )
        return replace(spec, weights=weights)

    def module(self, name: str):
        """A fake ``name`` component (no memory) for tracing."""
        config = getattr(self, name)
        if config is None:
            raise ValueError(f"this model has no {name}")
        module = fake_module(COMPONENT_CLASSES[name], json.loads(config), self.dtype)
        return float32_output(module) if name == "vae" else module  # as DAVModel has it

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(n for n in ("unet", "vae", "unet_interp") if getattr(self, n) is not None)

    @property
    def weight_bytes(self) -> int:
        """Bytes of every component's parameters and buffers in this precision."""
        if self.weights is not None:
            return self.weights
        return sum(component_bytes(self, n) for n in self.components)


@cache
def component_bytes(spec: ModelSpec, name: str) -> int:
    """Bytes of one component's parameters and buffers."""
    module = spec.module(name)
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


STAGE_COMPONENT = {"encode": "vae", "decode": "vae", "keyframes": "unet", "windows": "unet_interp"}


def stage_call(module, stage: str, n: int, size: tuple[int, int], length: int = 8, make=torch.zeros):
    """The call a ``stage`` makes with ``module`` (its component, see ``STAGE_COMPONENT``), on inputs
    that ``make(*shape)`` creates inside the call: fake ones for a trace, real ones to measure."""
    ph, pw = size
    h, w = ph // LATENT_SCALE, pw // LATENT_SCALE
    if stage == "encode":
        batch = encode_batch_size(n, n)  # what a chunk_size of n encodes per call
        return lambda: encode_frames(module, make(batch, 3, ph, pw), batch, fixed_batch=True)  # [b,4,h,w]
    if stage == "decode":
        return lambda: images_to_disparity(decode_latents(module, make(n, 4, h, w)))  # [n,ph,pw]
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}; got {stage!r}")
    shape = (1, n) if stage == "keyframes" else (n, length)  # (B,F)
    extra = module.config.in_channels - 4

    def step():
        condition = make(*shape, extra, h, w)  # [B,F,C,h,w]
        noise = make(*shape, 4, h, w)
        positions = torch.arange(shape[1])[None].expand(shape[0], -1)  # [B,F]
        denoise_latents(
            module,
            condition,
            noise,
            steps=1,
            scheduler_config=DEFAULT_SCHEDULER_CONFIG,
            position_ids=positions,
        )

    return step


@lru_cache(maxsize=256)
def _activation_line(spec: ModelSpec, stage: str, size, length: int, device_type: str) -> tuple[float, float]:
    """(intercept, bytes per unit) of a stage's live-tensor peak, traced at 2 and 4 units (a single
    frame at the smallest sizes leaves the UNet's deepest GroupNorms one value: torch refuses it);
    kept on disk (:mod:`.cache`)."""
    config = getattr(spec, STAGE_COMPONENT[stage])
    key = disk_cache.entry_key((__file__, trace.__file__), config, spec.dtype, stage, size, length, device_type)
    line = disk_cache.load(key)
    if line is None:
        two, four = (traced_activation_bytes(spec, stage, n, size, length, device_type) for n in (2, 4))
        line = [float(2 * two - four), float((four - two) / 2)]
        disk_cache.store(key, line)
    return line[0], line[1]


def activation_bytes(
    spec: ModelSpec, stage: str, n: int, size: tuple[int, int], length: int = 8, device_type: str = "cuda"
) -> int:
    """Peak bytes of live tensors of one ``stage`` call with ``n`` units (frames, or windows of
    ``length`` frames) at the padded frame ``size`` (ph, pw) on a ``device_type`` device, weights not
    included."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    length = length if stage == "windows" else 0
    n = encode_batch_size(n, n) if stage == "encode" else n  # a chunk is encoded in fixed small batches
    intercept, slope = _activation_line(spec, stage, tuple(size), length, device_type)
    return int(max(0.0, intercept + slope * n))


def traced_activation_bytes(
    spec: ModelSpec, stage: str, n: int, size: tuple[int, int], length: int = 8, device_type: str = "cuda"
) -> int:
    """:func:`activation_bytes` traced at ``n`` itself (no line); slower, for checking the line."""
    module = spec.module(STAGE_COMPONENT[stage])
    return traced_peak(stage_call(module, stage, n, tuple(size), length, torch.empty), device_type)


def stage_peak(
    spec: ModelSpec, stage: str, n: int, size: tuple[int, int], length: int = 8, device_type: str = "cuda"
) -> int:
    """Estimated peak bytes on the device during a ``stage`` call: weights plus live tensors."""
    return spec.weight_bytes + activation_bytes(spec, stage, n, size, length, device_type)
