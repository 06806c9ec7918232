"""Command-line options and model loading shared by `dav depth`, `dav eval` and `dav bench`.

Parsing imports no torch; :func:`load_model` does, when a command runs.
"""

from __future__ import annotations

import argparse
import logging

from ..choices import PASS_CHAINING, PRECISIONS
from ..io.sequences import ON_MISSING
from ..settings import DEFAULTS, LongVideoSettings, build_settings

logger = logging.getLogger(__name__)

# settings field -> argparse destination, for the fields whose option is not spelled like the field
_DESTINATIONS = {"max_keyframes_per_pass": "keyframes_per_pass"}
_OUTPUT_OPTIONS = ("output", "resume", "overwrite", "format", "colormap", "name", "first_frame", "exr_type", "exr_layers")


def option_names() -> dict[str, str]:
    """How the command line calls each settings and output field (for the core's error messages)."""
    fields = [*LongVideoSettings.__dataclass_fields__, *_OUTPUT_OPTIONS]
    return {f: "--" + _DESTINATIONS.get(f, f).replace("_", "-") for f in fields}


def settings_from_args(args: argparse.Namespace, **fixed) -> LongVideoSettings:
    """The run's settings from the parsed options present in ``args`` (others keep their defaults), and
    ``fixed`` values a command sets itself; errors name the command-line option."""
    values = {
        field: getattr(args, _DESTINATIONS.get(field, field))
        for field in LongVideoSettings.__dataclass_fields__
        if hasattr(args, _DESTINATIONS.get(field, field))
    }
    return build_settings({**values, **fixed}, option_names())


def add_model_options(p: argparse.ArgumentParser, required: bool = False) -> None:
    """--model, --precision, --device."""
    default = "" if required else " (default: $DAV_MODEL, else the bundled model)"
    p.add_argument("--model", required=required, help=f"model folder, bundle .safetensors or hub id{default}")
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help="model precision (default auto)")
    p.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda, cuda:1, mps ...")
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the UNets and the VAE (slow first calls, then faster on GPUs; needs a C++ "
        "compiler on the CPU)",
    )


def model_path(args: argparse.Namespace):
    """The model --model names, else the default (``$DAV_MODEL``, else the bundled demo)."""
    from ..models.default import default_model_path

    return args.model or default_model_path()


def announce_model(path) -> None:
    """One line when the bundled demo model is about to run: what it is and how to get the real weights."""
    from ..models.default import bundled_notice, is_bundled

    if is_bundled(path):
        logger.warning(bundled_notice())


def load_model(args: argparse.Namespace, announce: bool = True):
    """The model that --model/--precision/--device name, on its device (``announce``: say so when it is
    the bundled demo)."""
    import torch

    from ..models.loading import load_dav

    device = resolve_device(args.device, torch)
    path = model_path(args)
    if announce:
        announce_model(path)
    model = load_dav(path, dtype=args.precision, device=device)
    if getattr(args, "compile", False):
        model.compile()
    logger.info("model %s on %s (%s)", path, device, model.dtype)
    return model


def resolve_device(name: str, torch):
    """``auto`` picks CUDA, then MPS, then the CPU; other names must be a device this torch can use."""
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ValueError(f"--device {name!r} is not a torch device: use auto, cpu, cuda, cuda:N or mps") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"--device {name}: CUDA is not available in this torch build or machine; use cpu or auto")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")
        if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError(f"--device {name}: MPS is not available here; use cpu or auto")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def add_setting(p: argparse.ArgumentParser, field: str, help: str, **options) -> None:
    """``--<field>`` for a settings field: its type and default from the settings' defaults (one place),
    the default named in the help."""
    default = getattr(DEFAULTS, field)
    options.setdefault("type", type(default) if isinstance(default, int) else str)
    p.add_argument(option_names()[field], default=default, help=f"{help} (default {default})", **options)


def add_sampling_options(p: argparse.ArgumentParser) -> None:
    """--steps, --seed, --max-resolution."""
    add_setting(p, "steps", "Euler steps, 1..50")
    add_setting(p, "seed", "noise seed")
    add_setting(
        p,
        "max_resolution",
        "long side seen by the model; 0: the model's own (64 for the bundled model, 960 for the published one)",
    )


def memory_option(text: str) -> str:
    """argparse type of --memory: the text, once ``parse_memory`` accepts it."""
    from ..choices import parse_memory

    try:
        parse_memory(text, "--memory")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--memory ")) from None
    return text


def add_memory_option(p: argparse.ArgumentParser) -> None:
    """--memory auto|off|<size>."""
    add_setting(
        p,
        "memory",
        "memory to fit: auto (what the device has free), off (the sizes as given) or a size such as 8GB; "
        "lowers --chunk-size, --window-batch and --keyframes-per-pass to fit, never raises them",
        type=memory_option,
    )


def add_keyframe_options(p: argparse.ArgumentParser) -> None:
    """--keyframes-per-pass, --pass-chaining."""
    add_setting(p, "max_keyframes_per_pass", "keyframes denoised jointly")
    add_setting(
        p,
        "pass_chaining",
        "how keyframe passes after the first keep the earlier passes' depth scale: pin the shared keyframes "
        "along the flow, align by scale/shift afterwards, or none",
        choices=PASS_CHAINING,
    )


def add_plate_options(p: argparse.ArgumentParser) -> None:
    """--colorspace, --ocio-config, --display, --view, --layer, --on-missing: how a plate is read."""
    p.add_argument(
        "--colorspace",
        help="colourspace of the input (a name or alias of the OCIO config: ACEScg, lin_ap1, ACEScct ...), "
        "converted through --display/--view for the model; 'raw': as stored, clipped to [0,1] (default: what "
        "the file declares, else scene_linear for float images; integer images and video pass unchanged)",
    )
    p.add_argument(
        "--ocio-config", help="OCIO config file (default: $OCIO, else the built-in ocio://cg-config-latest)"
    )
    p.add_argument("--display", help="OCIO display (default: the config's default display)")
    p.add_argument("--view", help="OCIO view of the display (default: the display's default view)")
    p.add_argument("--layer", help="EXR layer or part to read (default: the RGB picture, e.g. beauty)")
    p.add_argument(
        "--on-missing",
        default="hold",
        choices=ON_MISSING,
        help="frames missing from a sequence: hold (read the frame before; no output for them) or error "
        "(default hold)",
    )


def plate_options(args: argparse.Namespace) -> dict:
    """The plate options of ``args`` as keyword arguments of ``FileSource``, errors naming the options."""
    names = {
        "input": "input",
        "colorspace": "--colorspace",
        "ocio_config": "--ocio-config",
        "display": "--display",
        "view": "--view",
        "layer": "--layer",
        "on_missing": "--on-missing",
    }
    return dict(
        colorspace=args.colorspace,
        ocio_config=args.ocio_config,
        display=args.display,
        view=args.view,
        layer=args.layer,
        on_missing=args.on_missing,
        names=names,
    )
