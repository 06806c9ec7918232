"""The only place that touches ComfyUI: imported lazily so the nodes import (and test) without it.

Every helper degrades to a plain-Python fallback when ComfyUI's modules are absent (pytest), and
never swallows ComfyUI's own exceptions (an interrupt must propagate).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger("DepthAnyVideo")

CATEGORY = "DepthAnyVideo"
MODEL_FOLDER = "depth_any_video"
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mxf")


def _optional(name: str):
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        return None


def model_management():
    return _optional("comfy.model_management")


def folder_paths():
    return _optional("folder_paths")


def check_interrupt() -> None:
    """Raise ComfyUI's interrupt exception when the user pressed Cancel (no-op outside ComfyUI)."""
    mm = model_management()
    if mm is not None:
        mm.throw_exception_if_processing_interrupted()


def should_cancel() -> bool:
    """For dav_core's ``should_cancel`` callbacks: raises ComfyUI's interrupt itself, else False."""
    check_interrupt()
    return False


class _NullProgress:
    def __init__(self, total: int):
        self.total, self.current = total, 0

    def update(self, value: int) -> None:
        self.current += value

    def update_absolute(self, value: int, total: int | None = None, preview=None) -> None:
        self.current = value
        if total is not None:
            self.total = total


def progress_bar(total: int):
    """ComfyUI's ProgressBar (shown on the node) or a stand-in with the same methods."""
    utils = _optional("comfy.utils")
    if utils is None or not hasattr(utils, "ProgressBar"):
        return _NullProgress(max(1, total))
    return utils.ProgressBar(max(1, total))


def hooks(total_steps: int = 1000):
    """dav_core Hooks that drive a ProgressBar on the node and raise ComfyUI's interrupt on Cancel."""
    from ..dav_core.hooks import Hooks

    bar = progress_bar(total_steps)

    def on_progress(done: int, total: int) -> None:
        bar.update_absolute(int(total_steps * done / max(total, 1)), total_steps)

    return Hooks(on_progress=on_progress, should_cancel=should_cancel)


def compute_device():
    import torch

    mm = model_management()
    return torch.device("cpu") if mm is None else mm.get_torch_device()


def free_memory(device) -> int | None:
    """Bytes ComfyUI's model management says are free on ``device`` (it counts what it could unload);
    None outside ComfyUI, where dav_core asks torch."""
    mm = model_management()
    if mm is None or not hasattr(mm, "get_free_memory"):
        return None
    return int(mm.get_free_memory(device))


def offload_device():
    import torch

    mm = model_management()
    return torch.device("cpu") if mm is None else mm.unet_offload_device()


# --------------------------------------------------------------------------- folders


def register_model_folder() -> None:
    """Register ``models/depth_any_video`` with folder_paths, keeping paths from extra_model_paths.yaml."""
    fp = folder_paths()
    if fp is None or not hasattr(fp, "models_dir"):
        return
    default = os.path.join(fp.models_dir, MODEL_FOLDER)
    entry = fp.folder_names_and_paths.get(MODEL_FOLDER)
    if entry is None:
        fp.folder_names_and_paths[MODEL_FOLDER] = ([default], {".safetensors"})
    elif default not in entry[0]:
        entry[0].append(default)


def model_dirs() -> list[Path]:
    """Folders searched for Depth Any Video checkpoints (ComfyUI's, or $DAV_MODELS_DIR outside it)."""
    fp = folder_paths()
    if fp is not None and hasattr(fp, "get_folder_paths"):
        register_model_folder()
        try:
            return [Path(p) for p in fp.get_folder_paths(MODEL_FOLDER)]
        except KeyError:
            return []
    env = os.environ.get("DAV_MODELS_DIR")
    return [Path(p) for p in env.split(os.pathsep)] if env else []


def input_dir() -> Path:
    fp = folder_paths()
    if fp is not None and hasattr(fp, "get_input_directory"):
        return Path(fp.get_input_directory())
    return Path(os.environ.get("DAV_INPUT_DIR", "input"))


def output_dir() -> Path:
    fp = folder_paths()
    if fp is not None and hasattr(fp, "get_output_directory"):
        return Path(fp.get_output_directory())
    return Path(os.environ.get("DAV_OUTPUT_DIR", "output"))


def temp_dir() -> Path:
    fp = folder_paths()
    if fp is not None and hasattr(fp, "get_temp_directory"):
        return Path(fp.get_temp_directory())
    return Path(os.environ.get("DAV_TEMP_DIR", "temp"))


def ui_video(path: Path) -> dict:
    """The ``ui`` entry that shows a video file on the node (as ComfyUI's own Save Video does).

    ``path`` lies in the output or the temp folder; the frontend fetches it through ``/view``.
    """
    path = Path(path).resolve()
    for kind, root in (("output", output_dir()), ("temp", temp_dir())):
        root = root.resolve()
        if root in path.parents:
            subfolder = path.parent.relative_to(root).as_posix()
            return {"images": [{"filename": path.name, "subfolder": subfolder, "type": kind}], "animated": (True,)}
    raise ValueError(f"{path} is neither in ComfyUI's output folder nor in its temp folder")


SAMPLE_NAME = "sample.mp4"
SAMPLE_CLIP = Path(__file__).resolve().parents[1] / "assets" / SAMPLE_NAME  # shipped with the pack


def install_sample() -> Path | None:
    """Put the pack's sample clip into ComfyUI's input folder as ``sample.mp4`` (never over a file of that
    name), so the shipped workflows run as loaded, core Load Video included. Only inside ComfyUI; a
    read-only input folder is reported in one log line (the pack's own video lists still offer the sample)."""
    if folder_paths() is None or not SAMPLE_CLIP.is_file():
        return None
    target = input_dir() / SAMPLE_NAME
    if target.exists():
        return target
    partial = target.with_name(f".{SAMPLE_NAME}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_CLIP, partial)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        log.warning("Depth Any Video: could not put the sample clip into %s: %s", target.parent, error)
        return None
    return target


def list_input_videos() -> list[str]:
    """Videos in ComfyUI's input folder, plus the pack's sample clip when the input folder has none by that name."""
    folder = input_dir()
    names = set()
    if folder.is_dir():
        names = {
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
        }
    if SAMPLE_CLIP.is_file():
        names.add(SAMPLE_NAME)
    return sorted(names)


def resolve_input_video(name: str) -> Path:
    """An input-folder video by the name the combo shows; clear error when it is not there."""
    folder = input_dir()
    path = (folder / name).resolve()
    if path != folder.resolve() and folder.resolve() not in path.parents:
        raise ValueError(f"video {name!r} is outside ComfyUI's input folder {folder}")
    if not path.is_file() and name == SAMPLE_NAME and SAMPLE_CLIP.is_file():
        return SAMPLE_CLIP
    if not path.is_file():
        raise FileNotFoundError(
            f"video {name!r} not found in ComfyUI's input folder {folder}; copy the clip there "
            "(or upload it) and refresh the browser so the list updates"
        )
    return path


def output_folder(prefix: str) -> Path:
    """``output/<prefix>`` for a filename prefix such as ``dav/shot010``; refuses paths leaving output."""
    if not prefix or not prefix.strip():
        raise ValueError("filename_prefix is empty: give a folder name such as 'dav/shot010'")
    root = output_dir().resolve()
    folder = (root / prefix.strip()).resolve()
    if folder != root and root not in folder.parents:
        raise ValueError(f"filename_prefix {prefix!r} points outside ComfyUI's output folder {root}")
    return folder


def check_environment() -> bool:
    """At startup: import the model code once, so a broken Python shows as one line in ComfyUI's log
    (and the nodes raise the same line when run) instead of a chained traceback on the first queue."""
    try:
        from ..dav_core import models  # noqa: F401 - imports diffusers' model classes through its guard
    except ImportError as error:
        log.error("Depth Any Video: %s", " ".join(str(error).split()))
        return False
    return True
