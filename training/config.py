"""YAML training configs with ``base_config:`` inheritance and ``key=value`` command-line overrides.

A config file may name ``base_config: other.yaml`` (relative to itself); the base is loaded first and
the file's keys are merged into it recursively (mappings merge, everything else replaces). Overrides
use dotted keys, e.g. ``train.steps=100 optim.lr=1e-4 data.resolutions=[[64,64]]``; values are parsed
as YAML, so numbers, booleans, ``null`` and lists work.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml


def deep_merge(base: dict, override: dict) -> dict:
    """``base`` updated recursively with ``override`` (new dict; neither input is modified)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = (), _seen: tuple = ()) -> dict:
    """Load ``path`` with its ``base_config`` chain, then apply ``overrides`` (``a.b=value``)."""
    path = Path(path).resolve()
    if path in _seen:
        raise ValueError(f"base_config cycle: {' -> '.join(str(p) for p in (*_seen, path))}")
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a config must be a mapping, got {type(raw).__name__}")
    base_name = raw.pop("base_config", None)
    config = raw
    if base_name:
        base = load_config(path.parent / base_name, (), (*_seen, path))
        config = deep_merge(base, raw)
    for item in overrides:
        set_dotted(config, *parse_override(item))
    return config


def parse_override(item: str) -> tuple[str, Any]:
    """``"a.b=1e-4"`` -> ``("a.b", 1e-4)`` (value parsed as YAML)."""
    if "=" not in item:
        raise ValueError(f"override {item!r} must look like key=value (dotted key, YAML value)")
    key, value = item.split("=", 1)
    key = key.strip()
    if not key:
        raise ValueError(f"override {item!r} has an empty key")
    parsed = yaml.safe_load(value) if value.strip() else None
    # YAML 1.1 reads "1e-4" as a string; numbers in scientific notation are meant as floats
    if isinstance(parsed, str):
        try:
            parsed = float(parsed)
        except ValueError:
            pass
    return key, parsed


def set_dotted(config: dict, key: str, value: Any) -> None:
    node = config
    parts = key.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def get_dotted(config: dict, key: str, default: Any = None) -> Any:
    node = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _floats(node: Any) -> Any:
    """Turn strings like '1e-4' (YAML 1.1 leaves them strings) into floats, recursively."""
    if isinstance(node, dict):
        return {k: _floats(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_floats(v) for v in node]
    if isinstance(node, str):
        try:
            return float(node) if any(c in node for c in "eE.") and not node.startswith(("/", ".")) else node
        except ValueError:
            return node
    return node


def resolve(config: dict) -> dict:
    """Normalise a loaded config (scientific-notation strings to floats)."""
    return _floats(config)
