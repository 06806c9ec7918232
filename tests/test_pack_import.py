"""The pack loads the way ComfyUI loads a custom node: relative imports only, sys.path left alone.

ComfyUI imports ``custom_nodes/<folder>/__init__.py`` as a package named after the folder, with its own
``nodes`` module (nodes.py) already in sys.modules and without this pack's library on sys.path. The load
runs in a fresh interpreter so the test's own imports cannot hide a missing relative import.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LOAD_AS_COMFYUI = r"""
import importlib.abc, importlib.util, json, sys, types

class NoTopLevelLibrary(importlib.abc.MetaPathFinder):
    # ComfyUI's Python has no dav_core of its own: only the pack's copy may be imported
    def find_spec(self, fullname, path, target=None):
        if fullname == "dav_core" or fullname.startswith("dav_core."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (only the pack's copy exists)")
        return None

sys.meta_path.insert(0, NoTopLevelLibrary())
comfy_nodes = types.ModuleType("nodes")  # ComfyUI's own nodes.py
comfy_nodes.NODE_CLASS_MAPPINGS = {}
sys.modules["nodes"] = comfy_nodes
path_before = list(sys.path)
repo = sys.argv[1]
name = "comfyui-depth-any-video"
spec = importlib.util.spec_from_file_location(name, repo + "/__init__.py", submodule_search_locations=[repo])
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
print(json.dumps({
    "nodes": sorted(module.NODE_CLASS_MAPPINGS),
    "display": sorted(module.NODE_DISPLAY_NAME_MAPPINGS),
    "path_unchanged": sys.path == path_before,
    "comfy_nodes_kept": sys.modules["nodes"] is comfy_nodes,
    "top_level": sorted(m for m in sys.modules if m.split(".")[0] == "dav_core"),
}))
"""

NODE_IDS = [
    "DAV_DecodeDepth", "DAV_DepthToNormals", "DAV_LoadPlate", "DAV_LoadVideo", "DAV_Relight", "DAV_SaveDepth",
    "DAV_VideoDepthToFiles", "DepthInterpolateWindow", "DepthToColormap", "FlowMatchDepthSampler",
    "KeyframeDepth", "LoadDAVModel", "VideoToLatent",
]


def test_pack_loads_as_a_comfyui_custom_node_without_touching_sys_path():
    out = subprocess.run([sys.executable, "-c", LOAD_AS_COMFYUI, str(REPO)], capture_output=True, text=True,
                         timeout=300, cwd="/")
    assert out.returncode == 0, out.stderr[-4000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["nodes"] == NODE_IDS and loaded["display"] == NODE_IDS
    assert loaded["path_unchanged"], "the pack changed sys.path"
    assert loaded["comfy_nodes_kept"], "the pack replaced ComfyUI's own nodes module"
    assert loaded["top_level"] == []


def test_pack_sources_never_edit_sys_path_or_import_themselves_absolutely():
    """Lazy imports included: the nodes and the library reach the pack's modules relatively."""
    sources = [REPO / "__init__.py", REPO / "workflows" / "build_workflows.py", *sorted((REPO / "nodes").glob("*.py")),
               *sorted((REPO / "dav_core").rglob("*.py"))]
    absolute = re.compile(r"^\s*(from|import)\s+(dav_core|nodes)\b", re.MULTILINE)
    path_edit = re.compile(r"sys\.path\s*(\.|\+=|=|\[)")
    for path in sources:
        text = path.read_text()
        assert not path_edit.search(text), f"{path.relative_to(REPO)} edits sys.path"
        if path.parent.name == "nodes" or "dav_core" in path.relative_to(REPO).parts:
            assert not absolute.search(text), f"{path.relative_to(REPO)} imports the pack absolutely"
