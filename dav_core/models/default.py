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


def is_bundled(source: str | Path) -> bool:
    """True when ``source`` is the model bundled with the package."""
    try:
        return Path(source).expanduser().resolve() == BUNDLED_MODEL
    except (OSError, ValueError):
        return False


def bundled_notice() -> str:
    """The one line shown when the bundled model runs: what it is, its size, and how to get the real one."""
    size_mb = BUNDLED_MODEL.stat().st_size / 1e6 if BUNDLED_MODEL.is_file() else 0.0
    return (
        f"using the bundled demo model dav_tiny ({size_mb:.0f} MB, trained only on synthetic clips at 64 px; "
        "not for production depth of real footage): `dav download` fetches the published Depth Any Video "
        "weights, then pass --model"
    )


def model_record(source: str | Path) -> dict:
    """Which model made an output, for manifests: the source and whether it is the bundled demo."""
    record = {"source": str(source), "kind": "bundled demo" if is_bundled(source) else "checkpoint"}
    if is_bundled(source):
        record["name"] = "dav_tiny (bundled demo, synthetic training only)"
    return record
