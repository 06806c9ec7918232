"""Importing diffusers' SVD model classes in a half-broken Python, with one clear line when it cannot.

diffusers' model package imports its single-file loaders, and those import transformers whenever it is
installed. A transformers that cannot be imported (most often because a torchaudio built for another
torch sits beside it, common in ComfyUI installs) would stop every Depth Any Video model, though none
of them uses transformers: diffusers is then imported again with transformers treated as absent.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

logger = logging.getLogger(__name__)

MODEL_MODULES = (
    "diffusers.models.autoencoders.autoencoder_kl_temporal_decoder",
    "diffusers.models.unets.unet_spatio_temporal_condition",
    "diffusers.models.transformers.transformer_temporal",
    "diffusers.models.attention_processor",
)


class DiffusersUnavailable(ImportError):
    """diffusers' model classes cannot be imported in this Python; the message says why and what to do."""


def import_diffusers() -> None:
    """Import the diffusers modules the models use, working around a broken transformers."""
    try:
        _import_models()
        return
    except Exception as err:  # an import chain can end in any error type (OSError from a .so, ...)
        first = err
    broken = _transformers_failure()
    if broken is None:
        raise DiffusersUnavailable(
            f"Depth Any Video needs diffusers, which cannot be imported in this Python ({root_cause(first)}); "
            "reinstall it: pip install -U diffusers"
        ) from None
    _forget("diffusers")
    _forget("transformers")
    sys.modules["transformers"] = None  # `import transformers` raises ImportError while diffusers loads
    try:
        import diffusers.utils.import_utils as import_utils

        import_utils._transformers_available = False
        _import_models()
    except Exception as err:
        raise DiffusersUnavailable(
            f"Depth Any Video needs diffusers, which cannot be imported in this Python ({root_cause(err)}); "
            "reinstall it: pip install -U diffusers"
        ) from None
    finally:
        if "transformers" in sys.modules and sys.modules["transformers"] is None:
            del sys.modules["transformers"]  # other packages see transformers as it is
    logger.warning(
        "transformers cannot be imported in this Python (%s); Depth Any Video does not use it and runs "
        "without it. To repair it for other packages: %s",
        broken,
        repair_hint(broken),
    )


def _import_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)


def _transformers_failure() -> str | None:
    """Why an installed transformers cannot be imported (None: it imports, or is not installed)."""
    if importlib.util.find_spec("transformers") is None:
        return None
    try:
        importlib.import_module("transformers")
        importlib.import_module("transformers.image_processing_utils")  # what diffusers' loaders reach
    except Exception as err:
        return root_cause(err)
    return None


def _forget(package: str) -> None:
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]


def root_cause(err: BaseException) -> str:
    """The innermost error of an import chain, on one line: ``Type: message``."""
    seen = set()
    while id(err) not in seen:
        seen.add(id(err))
        inner = err.__cause__ or err.__context__
        if inner is None:
            break
        err = inner
    message = " ".join(str(err).split())[:300]
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def repair_hint(cause: str) -> str:
    if "torchaudio" in cause:
        import torch

        version = torch.__version__.split("+")[0]
        return f"pip install torchaudio=={version} (the one built for torch {version}), or pip uninstall torchaudio"
    return "pip install -U transformers"
