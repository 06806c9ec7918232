"""Loading Depth Any Video checkpoints: strict, safetensors only.

Accepted layouts:

- a diffusers-style folder as published (``unet/``, ``unet_interp/``, ``vae/``, ``scheduler/``,
  each with ``config.json`` and ``diffusion_pytorch_model.safetensors``);
- a single-file bundle: one ``.safetensors`` whose keys are prefixed ``unet.``, ``unet_interp.``,
  ``vae.``, with the component configs as JSON in its metadata (what :func:`save_bundle` writes);
- one ``.safetensors`` per component (how ComfyUI users often keep models). Its config comes from
  the file's metadata, a ``<name>.json`` beside it, or is inferred from the tensor shapes.
- a hub id (``owner/name``) for online users, downloaded with ``huggingface_hub``.

Every key must be used and none may be missing or mis-shaped; pickle checkpoints are refused.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import AutoencoderKLTemporalDecoder
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ..choices import PRECISIONS, check_choice
from .unet import UNetSpatioTemporalRopeConditionModel
from .vae import float32_output

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
PICKLE_SUFFIXES = {".ckpt", ".pt", ".pth", ".bin", ".pkl"}
COMPONENT_CLASSES: dict[str, type[nn.Module]] = {
    "unet": UNetSpatioTemporalRopeConditionModel,
    "unet_interp": UNetSpatioTemporalRopeConditionModel,
    "vae": AutoencoderKLTemporalDecoder,
}
DEFAULT_SCHEDULER_CONFIG = {
    "_class_name": "FlowMatchEulerDiscreteScheduler",
    "num_train_timesteps": 1000,
    "shift": 1.0,
    "use_dynamic_shifting": False,
}
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
FAST_BF16_MIN_PARAMETERS = 100_000_000  # auto picks bf16 on a fast-bf16 CPU for UNets at least this large


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded as asked; the message says what is wrong."""


@dataclass
class DAVModel:
    """The components of a Depth Any Video checkpoint."""

    unet: UNetSpatioTemporalRopeConditionModel
    vae: AutoencoderKLTemporalDecoder
    unet_interp: UNetSpatioTemporalRopeConditionModel | None = None
    scheduler_config: dict = field(default_factory=lambda: dict(DEFAULT_SCHEDULER_CONFIG))
    source: str = ""
    processing_resolution: int | None = None  # long side the model was trained for (None: not stated)
    interpolation_window: int | None = None  # window its interpolation UNet is run with (None: not stated)

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.unet.parameters()).dtype

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> DAVModel:
        for module in self.modules():
            module.to(device=device, dtype=dtype)
        return self

    def modules(self) -> list[nn.Module]:
        return [m for m in (self.unet, self.unet_interp, self.vae) if m is not None]

    def __post_init__(self) -> None:
        float32_output(self.vae)  # half-precision decodes return continuous depth

    def compile(self, **options) -> DAVModel:
        """``torch.compile`` the UNets and the VAE's encoder and decoder in place (``options`` go to
        ``nn.Module.compile``). Opt-in: each new input shape compiles on its first call."""
        for module in (self.unet, self.unet_interp, self.vae.encoder, self.vae.decoder):
            if module is not None:
                module.compile(**options)
        return self


def resolve_dtype(
    precision: str | torch.dtype, device: torch.device | str = "cpu", unet_parameters: int | None = None
) -> torch.dtype:
    """Map ``auto|fp32|fp16|bf16`` (or a dtype) to a torch dtype.

    ``auto``: fp16 on CUDA; bf16 on a CPU with native bf16 matrix units (:func:`cpu_has_fast_bf16`)
    for a model whose UNet has at least ``FAST_BF16_MIN_PARAMETERS`` parameters (``unet_parameters``),
    where a long-video run is over 2x faster than in fp32; fp32 otherwise. Small models (the bundled one)
    gain little in bf16 (1.16x) and stay fp32, so their output is the same on every CPU.
    """
    if isinstance(precision, torch.dtype):
        return precision
    check_choice("precision", precision, PRECISIONS)
    if precision != "auto":
        return DTYPES[precision]
    device_type = torch.device(device).type
    if device_type == "cuda":
        return torch.float16
    large = unet_parameters is not None and unet_parameters >= FAST_BF16_MIN_PARAMETERS
    if device_type == "cpu" and large and cpu_has_fast_bf16():
        return torch.bfloat16
    return torch.float32


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AMX-BF16 or AVX512-BF16), so oneDNN runs bf16
    convolutions and matmuls faster than fp32."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    return any(check() for check in checks if check is not None)


def unet_parameter_count(source: str | Path) -> int | None:
    """Parameters of the depth UNet of a local folder or bundle, read from the safetensors header
    (no tensor is loaded); None when the source is not a local checkpoint this can read."""
    path = Path(source).expanduser()
    if path.is_dir():
        folder = path / "unet"
        files, prefix = (sorted(folder.glob("*.safetensors")) if folder.is_dir() else []), ""
    else:
        files, prefix = ([path] if path.suffix == ".safetensors" else []), "unet."
    if len(files) != 1:
        return None
    try:
        with safe_open(str(files[0]), framework="pt") as f:
            shapes = [f.get_slice(k).get_shape() for k in f.keys() if k.startswith(prefix)]
    except Exception:  # unreadable: load_dav reports it with the reason
        return None
    return sum(math.prod(shape) for shape in shapes) or None


def load_dav(
    source: str | Path,
    *,
    dtype: torch.dtype | str = torch.float32,
    device: torch.device | str = "cpu",
    components: tuple[str, ...] = ("unet", "unet_interp", "vae"),
    compute_device: torch.device | str | None = None,
) -> DAVModel:
    """Load a DAV checkpoint from a folder, a single-file bundle or a hub id (see module doc).

    ``dtype``: a torch dtype or a precision name (``auto|fp32|fp16|bf16``, see :func:`resolve_dtype`;
    ``auto`` is decided for ``compute_device``, default ``device``, and the checkpoint's UNet size).
    ``components`` lists what to load; ``unet_interp`` is skipped with a warning when absent.
    """
    missing = [name for name in ("unet", "vae") if name not in components]
    if missing:
        raise ValueError(f"load_dav needs the unet and vae components; for {components} use load_dav_parts")
    parts, settings = _load_parts(source, dtype, device, components, compute_device)
    return DAVModel(**settings, **parts, source=str(source))


def load_dav_parts(
    source: str | Path,
    *,
    components: tuple[str, ...],
    dtype: torch.dtype | str = torch.float32,
    device: torch.device | str = "cpu",
) -> dict[str, torch.nn.Module]:
    """Some components of a DAV checkpoint (any source :func:`load_dav` opens), by name; e.g. the UNets
    to continue training from, or only the VAE. An absent ``unet_interp`` is left out with a warning."""
    return _load_parts(source, dtype, device, components, None)[0]


def _load_parts(source, dtype, device, components, compute_device) -> tuple[dict, dict]:
    """(components by name, DAVModel settings: scheduler config, processing resolution, window)."""
    path = Path(source).expanduser()
    if not path.exists():
        if re.fullmatch(r"[\w.-]+/[\w.-]+", str(source)) and not str(source).startswith("."):
            path = _download_from_hub(str(source))
        else:
            raise FileNotFoundError(f"model path does not exist: {path}")
    if isinstance(dtype, str):
        dtype = resolve_dtype(dtype, compute_device or device, unet_parameter_count(path))
    if path.is_file():
        return _load_bundle(path, dtype, device, components)
    return _load_folder(path, dtype, device, components)


def _load_folder(path: Path, dtype, device, components) -> tuple[dict, dict]:
    loaded = {}
    for name in components:
        folder = path / name
        if not folder.is_dir():
            if name == "unet_interp":
                logger.warning(
                    "%s has no unet_interp/: clips longer than one keyframe pass cannot be processed", path
                )
                continue
            present = sorted(p.name for p in path.iterdir() if p.is_dir())
            raise CheckpointError(
                f"model folder {path} has no '{name}/' sub-folder (found: {present or 'nothing'}); "
                "expected the published layout unet/, unet_interp/, vae/, scheduler/"
            )
        weights = _weights_file(folder)
        config = _read_json(folder / "config.json")
        loaded[name] = load_component(name, weights, config=config, dtype=dtype, device=device)
    scheduler_file = path / "scheduler" / "scheduler_config.json"
    scheduler = _read_json(scheduler_file) if scheduler_file.exists() else dict(DEFAULT_SCHEDULER_CONFIG)
    return loaded, {"scheduler_config": scheduler}


def _weights_file(folder: Path) -> Path:
    weights = folder / WEIGHTS_NAME
    if weights.exists():
        return weights
    candidates = sorted(folder.glob("*.safetensors"))
    if len(candidates) == 1:
        return candidates[0]
    pickles = [p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES]
    if pickles:
        raise CheckpointError(_pickle_message(folder / pickles[0]))
    raise CheckpointError(f"{folder} holds no {WEIGHTS_NAME}")


def load_component(
    name: str,
    weights: str | Path,
    *,
    config: dict | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    prefix: str = "",
) -> nn.Module:
    """Build component ``name`` (unet, unet_interp, vae) and load ``weights`` into it strictly.

    ``prefix`` selects the component's keys inside a bundle (e.g. ``"vae."``).
    """
    if name not in COMPONENT_CLASSES:
        raise ValueError(f"component must be one of {sorted(COMPONENT_CLASSES)}, got {name!r}")
    weights = Path(weights)
    state_dict, metadata = read_safetensors(weights, prefix=prefix)
    if config is None:
        config = _config_from_metadata(metadata, name) or _sidecar_config(weights)
    if config is None:
        config = infer_config(name, state_dict)
        logger.info("%s: no config found, inferred from tensor shapes: %s", weights.name, config)
    cls = COMPONENT_CLASSES[name]
    with torch.device("meta"):
        module = cls.from_config(config)
    what = f"{weights}{' [' + prefix + ']' if prefix else ''} as {name}"
    check_state_dict(module, state_dict, what)
    check_finite(state_dict, what)
    state_dict = {k: v.to(dtype=dtype) if v.is_floating_point() else v for k, v in state_dict.items()}
    module.load_state_dict(state_dict, strict=True, assign=True)
    return module.to(device).eval().requires_grad_(False)


def read_safetensors(path: Path, prefix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors (keys with ``prefix`` stripped) and metadata of a safetensors file; refuses pickles."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(_pickle_message(path))
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file does not exist: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            keys = [k for k in f.keys() if k.startswith(prefix)]
            tensors = {k[len(prefix) :]: f.get_tensor(k) for k in keys}
    except Exception as err:  # safetensors raises its own error types for corrupt headers
        with open(path, "rb") as fh:
            head = fh.read(2)
        if head[:1] == b"\x80" or head == b"PK":
            raise CheckpointError(_pickle_message(path)) from err
        raise CheckpointError(f"{path} is not a readable safetensors file: {err}") from err
    if not tensors:
        raise CheckpointError(f"{path} holds no tensors{f' with prefix {prefix!r}' if prefix else ''}")
    return tensors, metadata


def _safetensors_header(path: Path) -> tuple[list[str], dict[str, str]]:
    """Keys and metadata of a safetensors file without reading its tensors."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(_pickle_message(path))
    try:
        with safe_open(str(path), framework="pt") as f:
            return list(f.keys()), f.metadata() or {}
    except Exception as err:
        raise CheckpointError(f"{path} is not a readable safetensors file: {err}") from err


def check_state_dict(module: nn.Module, state_dict: dict[str, torch.Tensor], what: str) -> None:
    """Raise CheckpointError listing missing, unexpected and mis-shaped keys."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong = sorted(
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {expected[k]}"
        for k in set(expected) & set(state_dict)
        if tuple(state_dict[k].shape) != expected[k]
    )
    if not (missing or unexpected or wrong):
        return
    parts = [f"{what}: checkpoint does not match the model"]
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", wrong)):
        if items:
            shown = ", ".join(items[:8]) + (f", ... ({len(items) - 8} more)" if len(items) > 8 else "")
            parts.append(f"{len(items)} {label}: {shown}")
    raise CheckpointError("; ".join(parts))


def check_finite(state_dict: dict[str, torch.Tensor], what: str) -> None:
    """Raise CheckpointError naming the tensors that hold NaN or infinite values (broken weights)."""
    bad = sorted(k for k, v in state_dict.items() if v.is_floating_point() and not torch.isfinite(v).all())
    if bad:
        shown = ", ".join(bad[:5]) + (f", ... ({len(bad) - 5} more)" if len(bad) > 5 else "")
        raise CheckpointError(f"{what}: {len(bad)} tensors hold NaN or infinite values ({shown})")


def infer_config(name: str, state_dict: dict[str, torch.Tensor]) -> dict:
    """Config of a UNet or VAE from its tensor shapes (attention heads: one per 64 channels, as SVD)."""
    try:
        if name.startswith("unet"):
            widths = _stage_widths(state_dict, "down_blocks.{}.resnets.0.spatial_res_block.conv1.weight")
            return {
                "in_channels": state_dict["conv_in.weight"].shape[1],
                "out_channels": state_dict["conv_out.weight"].shape[0],
                "block_out_channels": widths,
                "layers_per_block": _count(state_dict, r"down_blocks\.0\.resnets\.(\d+)\."),
                "cross_attention_dim": state_dict[
                    "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"
                ].shape[1],
                "num_attention_heads": [max(1, w // 64) for w in widths],
            }
        widths = _stage_widths(state_dict, "encoder.down_blocks.{}.resnets.0.conv2.weight")
        return {
            "in_channels": state_dict["encoder.conv_in.weight"].shape[1],
            "out_channels": state_dict["decoder.conv_out.weight"].shape[0],
            "block_out_channels": widths,
            "down_block_types": ["DownEncoderBlock2D"] * len(widths),
            "layers_per_block": _count(state_dict, r"encoder\.down_blocks\.0\.resnets\.(\d+)\."),
            "latent_channels": state_dict["quant_conv.weight"].shape[0] // 2,
            "scaling_factor": 0.18215,
        }
    except KeyError as err:
        raise CheckpointError(
            f"cannot infer a {name} config: the checkpoint has no key {err}; is it a {name}?"
        ) from None


def _stage_widths(state_dict, pattern: str) -> list[int]:
    widths = []
    while pattern.format(len(widths)) in state_dict:
        widths.append(state_dict[pattern.format(len(widths))].shape[0])
    if not widths:
        raise KeyError(pattern.format(0))
    return widths


def _count(state_dict, pattern: str) -> int:
    return 1 + max(int(m.group(1)) for k in state_dict if (m := re.match(pattern, k)))


def _load_bundle(path: Path, dtype, device, components) -> tuple[dict, dict]:
    """One file with prefixed keys for all components, or a single UNet/VAE file (then refuse)."""
    keys, metadata = _safetensors_header(path)
    present = {name for name in COMPONENT_CLASSES if any(k.startswith(name + ".") for k in keys)}
    if "unet" not in present or "vae" not in present:
        raise CheckpointError(
            f"{path.name} is not a full DAV bundle (keys prefixed unet., vae. and optionally unet_interp.); "
            "for one file per component use load_dav_components(unet=..., vae=..., unet_interp=...)"
        )
    loaded = {
        name: load_component(
            name,
            path,
            config=_config_from_metadata(metadata, name),
            dtype=dtype,
            device=device,
            prefix=name + ".",
        )
        for name in components
        if name in present
    }
    scheduler = (
        json.loads(metadata["scheduler"]) if "scheduler" in metadata else dict(DEFAULT_SCHEDULER_CONFIG)
    )
    resolution = int(metadata["processing_resolution"]) if "processing_resolution" in metadata else None
    window = int(metadata["interpolation_window"]) if "interpolation_window" in metadata else None
    settings = {"scheduler_config": scheduler, "processing_resolution": resolution, "interpolation_window": window}
    return loaded, settings


def load_dav_components(
    *,
    unet: str | Path,
    vae: str | Path,
    unet_interp: str | Path | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    scheduler_config: dict | None = None,
) -> DAVModel:
    """Load a DAV model from one safetensors file per component."""
    parts = {"unet": unet, "vae": vae, "unet_interp": unet_interp}
    loaded = {n: load_component(n, p, dtype=dtype, device=device) for n, p in parts.items() if p is not None}
    return DAVModel(
        scheduler_config=scheduler_config or dict(DEFAULT_SCHEDULER_CONFIG), source=str(unet), **loaded
    )


def save_bundle(model: DAVModel, path: str | Path) -> None:
    """Write ``model`` as one safetensors file with prefixed keys and configs in the metadata."""
    tensors, metadata = {}, {"format": "pt", "scheduler": json.dumps(model.scheduler_config)}
    if model.processing_resolution is not None:
        metadata["processing_resolution"] = str(int(model.processing_resolution))
    if model.interpolation_window is not None:
        metadata["interpolation_window"] = str(int(model.interpolation_window))
    for name in ("unet", "unet_interp", "vae"):
        module = getattr(model, name)
        if module is None:
            continue
        tensors.update({f"{name}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()})
        metadata[f"{name}_config"] = json.dumps(_plain_config(module))
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.replace(path)


def save_folder(model: DAVModel, path: str | Path) -> None:
    """Write ``model`` in the published diffusers layout (unet/, unet_interp/, vae/, scheduler/)."""
    path = Path(path)
    for name in ("unet", "unet_interp", "vae"):
        module = getattr(model, name)
        if module is not None:
            module.save_pretrained(path / name, safe_serialization=True)
    (path / "scheduler").mkdir(parents=True, exist_ok=True)
    (path / "scheduler" / "scheduler_config.json").write_text(json.dumps(model.scheduler_config, indent=2))


def _plain_config(module: nn.Module) -> dict:
    return {k: v for k, v in dict(module.config).items() if not k.startswith("_")}


def _config_from_metadata(metadata: dict[str, str], name: str) -> dict | None:
    raw = metadata.get(f"{name}_config") or metadata.get("config")
    return json.loads(raw) if raw else None


def _sidecar_config(weights: Path) -> dict | None:
    sidecar = weights.with_suffix(".json")
    return _read_json(sidecar) if sidecar.exists() else None


def _read_json(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(f"missing config file {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from err


def _pickle_message(path: Path) -> str:
    return (
        f"{path.name} is a pickle checkpoint; only .safetensors is loaded (pickle files can run arbitrary code). "
        "Convert it to safetensors first."
    )


HUB_HINT = (
    "download the model elsewhere and put its folder (unet/, unet_interp/, vae/, scheduler/) in "
    "ComfyUI/models/depth_any_video/, or pass its path"
)


def _download_from_hub(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise FileNotFoundError(
            f"{repo_id!r} is not a local path, and huggingface_hub is not installed to download it; {HUB_HINT}"
        ) from None
    logger.info("downloading %s from the hub", repo_id)
    try:
        return Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors"], etag_timeout=5))
    except Exception as err:
        reason = " ".join(str(err).split())[:200] or type(err).__name__
        raise FileNotFoundError(
            f"{repo_id!r} is not a local path, and downloading it from the hub failed ({reason}); {HUB_HINT}"
        ) from None
