"""Where the bundled default model lives, and how a user overrides it."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DAV_MODEL"
BUNDLED_MODEL = Path(__file__).resolve().parents[1] / "weights" / "dav_tiny.safetensors"


def default_model_path() -> Path:
    """``$DAV_MODEL`` if set, else the model bundled with the package."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    if BUNDLED_MODEL.is_file():
        return BUNDLED_MODEL
    raise FileNotFoundError(
        f"no model given and no bundled default model at {BUNDLED_MODEL}; pass --model PATH or set {ENV_VAR}"
    )
