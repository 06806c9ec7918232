"""Checkpoint folders (``step_XXXXXXX``, the newest named in ``latest``) and their training-state files:
optimizer/EMA/step/RNG in ``training_state.pt`` (loaded with weights_only=True)."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def rng_state() -> dict:
    kind, key, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": repr(random.getstate()),
        "numpy": {
            "kind": kind,
            "key": torch.from_numpy(key.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import ast

    random.setstate(_tuples(ast.literal_eval(state["python"])))
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(x):
    return tuple(_tuples(v) for v in x) if isinstance(x, (tuple, list)) else x


def save_state(state: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".partial")
    torch.save(state, tmp)
    tmp.replace(path)


def load_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def write_checkpoint(ckpt_dir: Path, step: int, fill: Callable[[Path], None], keep: int) -> Path:
    """``ckpt_dir/step_XXXXXXX``, filled by ``fill`` under a temporary name first, then named in
    ``latest``; all but the newest ``keep`` checkpoints are removed."""
    final = ckpt_dir / f"step_{step:07d}"
    tmp = ckpt_dir / f".tmp-step_{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fill(tmp)
    shutil.rmtree(final, ignore_errors=True)
    tmp.replace(final)
    (ckpt_dir / "latest").write_text(final.name)
    old = sorted(p for p in ckpt_dir.glob("step_*") if p.is_dir())
    for p in old[: max(0, len(old) - keep)]:
        shutil.rmtree(p, ignore_errors=True)
    return final


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """The checkpoint folder ``ckpt_dir/latest`` names, if both exist."""
    latest = ckpt_dir / "latest"
    if latest.is_file() and (ckpt_dir / latest.read_text().strip()).is_dir():
        return ckpt_dir / latest.read_text().strip()
    return None
