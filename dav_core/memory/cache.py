"""Traced estimates kept on disk between runs (tracing the full-size UNets takes seconds).

One JSON file under ``$DAV_CACHE_DIR`` (default ``~/.cache/depth-any-video``); entries are keyed by
the model config, the frame size, the precision, the torch version and the source of the tracing code
(the files the caller names), so a change of any of them traces again. A cache that cannot be read or
written is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch

FILE_NAME = "memory_estimates.json"


def cache_file() -> Path:
    root = os.environ.get("DAV_CACHE_DIR") or Path.home() / ".cache" / "depth-any-video"
    return Path(root) / FILE_NAME


def _code_version(code: tuple[str, ...]) -> str:
    sources = b"".join(Path(path).read_bytes() for path in code)
    return hashlib.sha1(sources + torch.__version__.encode()).hexdigest()[:16]


def entry_key(code: tuple[str, ...], *parts) -> str:
    """The key of an entry computed by the source files ``code`` from ``parts``."""
    text = json.dumps([_code_version(tuple(code)), *map(str, parts)])
    return hashlib.sha1(text.encode()).hexdigest()


def load(key: str) -> list[float] | None:
    try:
        return json.loads(cache_file().read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def store(key: str, value: list[float]) -> None:
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            entries = json.loads(path.read_text())
        except (OSError, ValueError):
            entries = {}
        entries = entries if isinstance(entries, dict) else {}
        entries[key] = value
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(entries, tmp)
        os.replace(tmp.name, path)  # atomic: concurrent runs never read half a file
    except OSError:
        pass
