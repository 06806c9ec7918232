"""Shared fixtures: the official reference outputs and the tiny official-architecture models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("DAV_REFERENCE_DIR", REPO.parent / "shared" / "reference" / "dav_official"))


def _require_reference() -> Path:
    if not (REFERENCE / "tiny_dav").is_dir():
        message = f"official reference outputs not found at {REFERENCE} (set DAV_REFERENCE_DIR)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return REFERENCE


@pytest.fixture(scope="module")
def single_thread():
    """One intra-op thread for a module: the tensors in these tests are tiny, and more threads only add
    OpenMP contention on a shared 2-core machine. Use with ``pytestmark = pytest.mark.usefixtures(...)``."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return _require_reference()


@pytest.fixture(scope="session")
def tiny_dav_dir(reference_dir) -> Path:
    return reference_dir / "tiny_dav"


@pytest.fixture(scope="session")
def parity(reference_dir) -> dict[str, torch.Tensor]:
    return load_file(str(reference_dir / "dav_parity_tensors.safetensors"))


@pytest.fixture(scope="session")
def tiny_model(tiny_dav_dir):
    from dav_core.models.loading import load_dav

    return load_dav(tiny_dav_dir)
