"""Every UI-format workflow converts to its committed API-format twin, checked against the node definitions."""

from __future__ import annotations

import json

import pytest

from tests.helpers import REPO, load_pack

nodes = load_pack().nodes

WORKFLOWS = sorted((REPO / "workflows").glob("*.json"))
FRONTEND_ONLY = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}
# ComfyUI core nodes used by the workflows: ordered inputs as in ComfyUI's nodes.py
CORE = {
    "PreviewImage": {"required": {"images": ("IMAGE",)}},
    "SaveImage": {"required": {"images": ("IMAGE",), "filename_prefix": ("STRING", {"default": "ComfyUI"})}},
    # ComfyUI >= 0.3.30, comfy_extras/nodes_video.py (as its /object_info describes them)
    "LoadVideo": {"required": {"file": (["sample.mp4"], {"video_upload": True})}},
    "SaveVideo": {"required": {"video": ("VIDEO",), "filename_prefix": ("STRING", {"default": "video/ComfyUI"}),
                               "format": (["auto", "mp4"], {"default": "auto"}),
                               "codec": (["auto", "h264"], {"default": "auto"})}},
}
CORE_OUTPUTS = {"PreviewImage": (), "SaveImage": (), "LoadVideo": ("VIDEO",), "SaveVideo": ()}
DYNAMIC_COMBOS = {("LoadDAVModel", "checkpoint"), ("DAV_LoadVideo", "video"), ("DAV_VideoDepthToFiles", "video"),
                  ("LoadVideo", "file")}
UPLOAD_OPTIONS = ("image_upload", "video_upload")  # the frontend adds an upload button widget


def definition(node_type):
    if node_type in CORE:
        return CORE[node_type], CORE_OUTPUTS[node_type]
    cls = nodes.NODE_CLASS_MAPPINGS[node_type]
    return cls.INPUT_TYPES(), cls.RETURN_TYPES


def ordered_inputs(spec):
    return [(n, s) for section in ("required", "optional") for n, s in spec.get(section, {}).items()]


def is_widget(kind) -> bool:
    return isinstance(kind, list) or kind in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO")


def check_value(node_type, name, kind, options, value):
    where = f"{node_type}.{name}"
    if kind == "COMBO":  # how newer ComfyUI's /object_info describes a combo: the list in its options
        kind = options.get("options", [])
    if isinstance(kind, list):
        if (node_type, name) in DYNAMIC_COMBOS:
            assert isinstance(value, str) and value, where
        else:
            assert value in kind, f"{where}: {value!r} not in {kind}"
    elif kind in ("INT", "FLOAT"):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
        if kind == "INT":
            assert isinstance(value, int), where
        assert options.get("min", value) <= value <= options.get("max", value), f"{where}: {value} out of range"
    elif kind == "STRING":
        assert isinstance(value, str), where
    elif kind == "BOOLEAN":
        assert isinstance(value, bool), where


def ui_to_api(ui: dict, definition=definition) -> dict:
    """What the frontend's 'Save (API format)' produces from a UI workflow, for these node types.

    ``definition(node_type) -> (INPUT_TYPES dict, RETURN_TYPES)``: the pack's classes by default, or a
    running server's /object_info (tests/test_comfy_engine.py).
    """
    links = {link[0]: link for link in ui["links"]}
    prompt = {}
    for node in ui["nodes"]:
        if node["type"] in FRONTEND_ONLY or node.get("mode", 0) in (2, 4):
            continue
        spec, outputs = definition(node["type"])
        values = list(node.get("widgets_values", []))
        sockets = {slot["name"]: slot for slot in node.get("inputs", [])}
        inputs, uploads = {}, 0
        for name, declared in ordered_inputs(spec):
            kind, options = declared[0], (declared[1] if len(declared) > 1 else {})
            if is_widget(kind) and name not in sockets:
                assert values, f"{node['type']} #{node['id']}: widgets_values ends before {name}"
                value = values.pop(0)
                check_value(node["type"], name, kind, options, value)
                inputs[name] = value
                if kind == "INT" and (name in ("seed", "noise_seed") or options.get("control_after_generate")):
                    assert values.pop(0) in ("fixed", "increment", "decrement", "randomize")
                uploads += any(options.get(key) for key in UPLOAD_OPTIONS)
            elif name in sockets and sockets[name]["link"] is not None:
                link = links[sockets[name]["link"]]
                _, origin, origin_slot, target, target_slot, link_type = link
                assert target == node["id"]
                assert node["inputs"][target_slot]["name"] == name
                assert sockets[name]["type"] == kind == link_type, f"{node['type']}.{name}: link type"
                origin_node = next(n for n in ui["nodes"] if n["id"] == origin)
                assert list(definition(origin_node["type"])[1])[origin_slot] == kind
                assert sockets[name]["link"] in origin_node["outputs"][origin_slot]["links"]
                inputs[name] = [str(origin), origin_slot]
            else:
                assert name in spec.get("optional", {}), f"{node['type']} #{node['id']}: required {name} unconnected"
        # the frontend adds an upload button widget after all others for each upload combo
        assert values[:uploads] == ["image"] * uploads, f"{node['type']} #{node['id']}: upload widget values"
        values = values[uploads:]
        assert not values, f"{node['type']} #{node['id']}: {len(values)} widget values left over"
        assert [o["type"] for o in node["outputs"]] == list(outputs)
        prompt[str(node["id"])] = {"inputs": inputs, "class_type": node["type"]}
    return prompt


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_ui_workflow_converts_to_committed_api_workflow(path):
    ui = json.loads(path.read_text())
    api = json.loads((path.parent / "api" / path.name).read_text())
    converted = ui_to_api(ui)
    assert set(converted) == set(api)
    for node_id, node in converted.items():
        assert node["class_type"] == api[node_id]["class_type"]
        assert node["inputs"] == api[node_id]["inputs"], f"node {node_id} ({node['class_type']})"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_ui_workflow_layout_groups_and_defaults(path):
    ui = json.loads(path.read_text())
    assert ui["version"] == 0.4 and ui["last_node_id"] == max(n["id"] for n in ui["nodes"])
    assert ui["last_link_id"] == max(link[0] for link in ui["links"])
    assert any(n["type"] == "Note" for n in ui["nodes"]), "a note tells the artist what to do"
    boxes = []
    for node in ui["nodes"]:
        x, y = node["pos"]
        w, h = node["size"]
        boxes.append((node["id"], x, y, x + w, y + h))
        inside = [g for g in ui["groups"] if g["bounding"][0] <= x and g["bounding"][1] <= y
                  and x + w <= g["bounding"][0] + g["bounding"][2] and y + h <= g["bounding"][1] + g["bounding"][3]]
        assert inside, f"node {node['id']} ({node['type']}) is outside every group"
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
            assert not overlap, f"nodes {a[0]} and {b[0]} overlap"
    api = json.loads((path.parent / "api" / path.name).read_text())
    loaders = [n for n in api.values() if n["class_type"] == "LoadDAVModel"]
    assert [n["inputs"]["checkpoint"] for n in loaders] == ["dav_tiny.safetensors (bundled demo: synthetic training only)"]
    videos = [n["inputs"][key] for n in api.values() for key in ("video", "file")
              if isinstance(n["inputs"].get(key), str)]  # video lists (a linked VIDEO is a [node, slot] pair)
    assert videos and set(videos) == {"sample.mp4"}


def test_committed_workflows_are_what_the_builder_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_workflows", REPO / "workflows" / "build_workflows.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert {f"{name}.json" for name in builder.WORKFLOWS} == {p.name for p in WORKFLOWS}
    for name, build in builder.WORKFLOWS.items():
        graph = build()
        assert json.loads((REPO / "workflows" / f"{name}.json").read_text()) == json.loads(json.dumps(graph.ui()))
        assert json.loads((REPO / "workflows" / "api" / f"{name}.json").read_text()) == json.loads(json.dumps(graph.api()))
