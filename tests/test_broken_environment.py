"""A half-broken Python, as ComfyUI installs often are: stand-in broken packages on the path.

The common case is a torchaudio built for another torch next to transformers: importing transformers
fails, and diffusers' model package imports transformers through its single-file loaders.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import BUNDLE, REPO, write_image

TORCHAUDIO_ERROR = "libtorchaudio.so: undefined symbol: _ZN3c106detail19maybe_wrap_dim_slowIlEET_S2_S2_b"


def _package(root: Path, name: str, version: str, init: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text(init)
    info = root / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{name}\n")
    (info / "RECORD").write_text(f"{name}/__init__.py,,\n")


@pytest.fixture
def broken_transformers(tmp_path) -> Path:
    """transformers 4.57 that imports a torchaudio built for another torch."""
    _package(tmp_path, "torchaudio", "2.11.0", f"raise OSError({TORCHAUDIO_ERROR!r})\n")
    _package(tmp_path, "transformers", "4.57.0", "import torchaudio\n__version__ = '4.57.0'\n")
    return tmp_path


@pytest.fixture
def broken_diffusers(tmp_path) -> Path:
    """diffusers 0.42 that fails to import against the installed huggingface_hub."""
    _package(tmp_path, "diffusers", "0.42.0", "raise ImportError(\"cannot import name 'is_offline_mode' from 'huggingface_hub'\")\n")
    return tmp_path


def _python(code: str, site: Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": f"{site}:{REPO}", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_the_stand_in_breaks_diffusers_model_imports(broken_transformers):
    """Without the guard, importing diffusers' VAE fails in a chain (so the next test can fail)."""
    done = _python("import diffusers.models.autoencoders.autoencoder_kl_temporal_decoder", broken_transformers)
    assert done.returncode != 0 and "undefined symbol" in done.stderr


@pytest.mark.slow
def test_depth_runs_beside_a_broken_transformers_with_one_warning_line(broken_transformers):
    code = (
        "import numpy as np\n"
        "from dav_core.models.loading import load_dav\n"
        "from dav_core.depth import predict_depth_window\nfrom dav_core.settings import DepthSettings\n"
        f"model = load_dav({str(BUNDLE)!r})\n"
        "d = predict_depth_window(model, np.random.rand(2, 64, 64, 3).astype('float32'), DepthSettings(steps=1))\n"
        "print('depth', tuple(d.shape))\n"
    )
    done = _python(code, broken_transformers)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "depth (2, 64, 64)" in done.stdout
    assert "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if "transformers cannot be imported" in line]
    assert len(warnings) == 1 and "torchaudio" in warnings[0] and "pip install torchaudio==" in warnings[0]


def test_the_pack_starts_and_reports_a_broken_diffusers_in_one_line(broken_diffusers):
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from tests.helpers import load_pack\n"
        "pack = load_pack()\n"  # logs the broken environment once, as ComfyUI's start does
        "logging.disable()\n"
        "print('nodes', len(pack.NODE_CLASS_MAPPINGS), pack.nodes._comfy.check_environment())\n"
    )
    done = _python(code, broken_diffusers)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "nodes 13 False" in done.stdout
    lines = [line for line in done.stderr.splitlines() if "Depth Any Video" in line]
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "is_offline_mode" in lines[0] and "pip install -U diffusers" in lines[0]


def test_the_cli_reports_a_broken_diffusers_in_one_line(broken_diffusers):
    frame = write_image(broken_diffusers / "frame.png", np.full((32, 32, 3), (90, 120, 30), np.uint8))
    code = f"import sys; from dav_core.cli import main; sys.exit(main(['depth', {str(frame)!r}, '--output', {str(broken_diffusers / 'out')!r}]))"
    done = _python(code, broken_diffusers)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "needs diffusers" in errors[0] and "pip install -U diffusers" in errors[0]
