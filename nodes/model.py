"""LoadDAVModel: a Depth Any Video checkpoint as a DAV_MODEL, managed by ComfyUI's model management."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from ..dav_core.choices import PRECISIONS, check_choice
from . import _comfy
from ._comfy import log
from .declare import mappings, node
from .widgets import choice

BUNDLED_NAME = "dav_tiny.safetensors (bundled demo: synthetic training only)"
LEGACY_BUNDLED_NAMES = ("dav_tiny.safetensors (bundled)",)  # what workflows saved before the demo label
DOWNLOAD_CHOICE = "download: hhyangcs/depth-any-video"  # dav_core.models.download.DEFAULT_REPO


def _bundled_path() -> Path:
    from ..dav_core.models.default import BUNDLED_MODEL

    return BUNDLED_MODEL


def _is_diffusers_folder(path: Path) -> bool:
    return (path / "unet").is_dir() and (path / "vae").is_dir()


def list_checkpoints() -> list[str]:
    """Checkpoint names, the first being a new node's default: installed weights first (model folders in
    the published layout, then single-file bundles), then the bundled demo, then the published model's
    download when it is not installed."""
    folders: list[str] = []
    bundles: list[str] = []
    for base in _comfy.model_dirs():
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if path.is_file() and path.suffix == ".safetensors" and not _inside_folder_model(path, base):
                bundles.append(rel.as_posix())
            elif path.is_dir() and _is_diffusers_folder(path):
                folders.append(rel.as_posix())
    names = list(dict.fromkeys(folders + bundles))
    if _bundled_path().is_file():
        names.append(BUNDLED_NAME)
    if _comfy.model_dirs() and _published_folder() not in names:
        names.append(DOWNLOAD_CHOICE)
    return names


def _published_folder() -> str:
    return DOWNLOAD_CHOICE.rsplit("/", 1)[-1]


def download_published() -> Path:
    """The published model: an existing copy in a model folder, else downloaded into the first one
    (ComfyUI's progress bar on the node; Cancel stops it and the next run resumes)."""
    from ..dav_core.models.download import download_model, is_model_folder

    dirs = _comfy.model_dirs()
    for base in dirs:
        if is_model_folder(base / _published_folder()):
            return base / _published_folder()
    if not dirs:
        raise FileNotFoundError("no models/depth_any_video folder is registered to download the model into")
    repo = DOWNLOAD_CHOICE.split(": ", 1)[1]
    return download_model(dirs[0], repo, hooks=_comfy.hooks(), show_progress=True)


def _inside_folder_model(path: Path, base: Path) -> bool:
    """True for the weight files inside a diffusers-style model folder (listed as the folder instead)."""
    return any(_is_diffusers_folder(parent) for parent in path.parents if parent != base and base in parent.parents)


def resolve_checkpoint(name: str) -> Path:
    if name == BUNDLED_NAME or name in LEGACY_BUNDLED_NAMES:
        path = _bundled_path()
        if not path.is_file():
            raise FileNotFoundError(
                f"the bundled model is missing at {path}; reinstall the node pack or pick a checkpoint "
                "from models/depth_any_video"
            )
        return path
    dirs = _comfy.model_dirs()
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"checkpoint {name!r} is outside the model folders: pick a name from the list")
    for base in dirs:
        path = base / name
        if path.exists():
            return path
    searched = ", ".join(str(d) for d in dirs) or "(no model folder registered)"
    raise FileNotFoundError(
        f"checkpoint {name!r} not found in {searched}; put a Depth Any Video folder (unet/, vae/, "
        "unet_interp/, scheduler/) or a .safetensors bundle in models/depth_any_video and refresh"
    )


class DAVHandle:
    """What flows along a DAV_MODEL link: the loaded model plus how ComfyUI places it on a device."""

    def __init__(self, model, name: str, precision: str):
        self.model = model
        self.name = name
        self.precision = precision
        self.key = f"{name}|{precision}|{id(model)}"
        self._patcher = None
        self._patcher_failed = False

    def __repr__(self) -> str:
        return f"DAVHandle({self.name!r}, {self.precision})"

    def _make_patcher(self):
        if self._patcher is not None or self._patcher_failed:
            return self._patcher
        try:
            import comfy.model_patcher
            import torch.nn as nn

            container = nn.ModuleDict({"unet": self.model.unet, "vae": self.model.vae})
            if self.model.unet_interp is not None:
                container["unet_interp"] = self.model.unet_interp
            self._patcher = comfy.model_patcher.ModelPatcher(
                container, load_device=_comfy.compute_device(), offload_device=_comfy.offload_device()
            )
        except Exception as error:  # this ComfyUI's ModelPatcher does not take a plain module
            log.warning("DepthAnyVideo: ModelPatcher unavailable (%s); moving the model by hand", error)
            self._patcher_failed = True
        return self._patcher

    def acquire(self):
        """The DAVModel on ComfyUI's compute device (ComfyUI offloads it again when memory is needed)."""
        mm = _comfy.model_management()
        device = _comfy.compute_device()
        if mm is not None:
            patcher = self._make_patcher()
            if patcher is not None:
                try:
                    mm.load_models_gpu([patcher])
                except Exception as error:
                    log.warning("DepthAnyVideo: load_models_gpu failed (%s); moving the model by hand", error)
                    self._patcher, self._patcher_failed = None, True
        # a low-VRAM partial load leaves plain (non-comfy.ops) layers behind: the model needs all of them
        if any(p.device != device for m in self.model.modules() for p in m.parameters()):
            self.model.to(device)
        return self.model

    @contextmanager
    def use(self):
        """The DAVModel on the compute device for the ``with`` block; released even on an error."""
        model = self.acquire()
        try:
            yield model
        finally:
            self.release()

    def release(self) -> None:
        """Without a ModelPatcher, give the device memory back after each node."""
        if self._patcher is None and self.model.device != _comfy.offload_device():
            self.model.to(_comfy.offload_device())


def _checkpoint_input():
    return (list_checkpoints(), {
        "tooltip": "Depth Any Video checkpoint: a folder (unet/, vae/, unet_interp/, scheduler/) "
        "or a .safetensors bundle in models/depth_any_video, or the model bundled with the pack; "
        f"'{DOWNLOAD_CHOICE}' downloads the published model into models/depth_any_video first"
    })


@node(
    "LoadDAVModel", "Load Depth Any Video Model", "load",
    "Loads a Depth Any Video checkpoint; ComfyUI moves it to the GPU when used and offloads it when memory is needed.",
    required={
        "checkpoint": _checkpoint_input,
        "precision": choice(
            PRECISIONS, "auto",
            "Weight precision: auto = fp16 on CUDA; bf16 on CPUs with native bf16 for the full-size model; else fp32",
        ),
    },
    outputs=(("DAV_MODEL", "dav_model", "The loaded Depth Any Video model (depth UNet, interpolation UNet and VAE)"),),
)
class LoadDAVModel:
    @classmethod
    def VALIDATE_INPUTS(cls, checkpoint):
        """Replaces ComfyUI's 'value not in list' with what to do about a missing checkpoint."""
        if checkpoint == DOWNLOAD_CHOICE:
            return True  # downloaded when the node runs (a saved workflow keeps working once it is there)
        try:
            resolve_checkpoint(checkpoint)
        except (FileNotFoundError, ValueError) as error:
            return str(error)
        return True

    def load(self, checkpoint: str, precision: str = "auto"):
        from ..dav_core.models.loading import load_dav

        check_choice("precision", precision, PRECISIONS)
        path = download_published() if checkpoint == DOWNLOAD_CHOICE else resolve_checkpoint(checkpoint)
        model = load_dav(
            path, dtype=precision, device=_comfy.offload_device(), compute_device=_comfy.compute_device()
        )
        return (DAVHandle(model, checkpoint, precision),)


NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = mappings(LoadDAVModel)
