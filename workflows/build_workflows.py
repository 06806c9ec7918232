"""Writes the example workflows in both ComfyUI formats from one description.

    PYTHONPATH=. python workflows/build_workflows.py

UI format (``workflows/*.json``: what artists drag onto the canvas) and API format
(``workflows/api/*.json``: what POST /prompt takes). Widget values are laid out in each node's
INPUT_TYPES order, as the ComfyUI frontend does; tests/test_nodes_workflows.py checks the two agree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent))

# Core ComfyUI nodes the workflows use (their INPUT_TYPES, as in ComfyUI's nodes.py).
CORE_NODES = {
    "PreviewImage": {"inputs": [("images", "IMAGE")], "outputs": []},
    "SaveImage": {"inputs": [("images", "IMAGE"), ("filename_prefix", "STRING")], "outputs": []},
}
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}
SEED_NAMES = {"seed", "noise_seed"}
GROUP_COLOURS = ["#3f789e", "#b58b2a", "#8A8", "#a1309b", "#88A"]


def node_spec(node_type: str) -> dict:
    """Ordered inputs [(name, type or combo list)] and outputs [(name, type)] of a node."""
    if node_type in CORE_NODES:
        return CORE_NODES[node_type]
    from nodes import NODE_CLASS_MAPPINGS

    cls = NODE_CLASS_MAPPINGS[node_type]
    spec = cls.INPUT_TYPES()
    inputs = [(n, s[0]) for section in ("required", "optional") for n, s in spec.get(section, {}).items()]
    return {"inputs": inputs, "outputs": list(zip(cls.RETURN_NAMES, cls.RETURN_TYPES, strict=True))}


def is_widget(kind) -> bool:
    return isinstance(kind, list) or kind in WIDGET_TYPES


class Graph:
    def __init__(self):
        self.nodes: list[dict] = []
        self.links: list[list] = []
        self.groups: list[dict] = []
        self.notes: list[dict] = []

    def add(self, node_id, node_type, pos, widgets=None, links=None, title=None, width=320):
        self.nodes.append(dict(id=node_id, type=node_type, pos=pos, widgets=widgets or {}, links=links or {},
                               title=title, width=width))
        return node_id

    def note(self, node_id, pos, text, size=(380, 160)):
        self.notes.append(dict(id=node_id, pos=pos, text=text, size=size))

    def group(self, title, bounding):
        self.groups.append(dict(title=title, bounding=bounding))

    # -- output

    def ui(self) -> dict:
        ui_nodes, links = [], []
        outputs_links: dict[tuple[int, int], list[int]] = {}
        link_id = 0
        for node in self.nodes:
            spec = node_spec(node["type"])
            for slot, (name, _kind) in enumerate([i for i in spec["inputs"] if not is_widget(i[1])]):
                if name in node["links"]:
                    src, src_slot = node["links"][name]
                    link_id += 1
                    src_type = node_spec(self._type(src))["outputs"][src_slot][1]
                    links.append([link_id, src, src_slot, node["id"], slot, src_type])
                    outputs_links.setdefault((src, src_slot), []).append(link_id)
        link_of = {(link[3], link[4]): link[0] for link in links}
        order = {n["id"]: i for i, n in enumerate(self.nodes)}
        for node in self.nodes:
            spec = node_spec(node["type"])
            sockets = [i for i in spec["inputs"] if not is_widget(i[1])]
            inputs = [
                {"name": name, "type": kind, "link": link_of.get((node["id"], slot))}
                for slot, (name, kind) in enumerate(sockets)
            ]
            outputs = []
            for slot, (name, kind) in enumerate(spec["outputs"]):
                out = {"name": name, "type": kind, "links": outputs_links.get((node["id"], slot), [])}
                if out["links"]:
                    out["slot_index"] = slot
                outputs.append(out)
            widgets = []
            for name, kind in spec["inputs"]:
                if not is_widget(kind):
                    continue
                if name not in node["widgets"]:
                    raise KeyError(f"{node['type']} #{node['id']}: no value for widget {name!r}")
                widgets.append(node["widgets"][name])
                if name in SEED_NAMES and kind == "INT":
                    widgets.append("fixed")  # the frontend's control_after_generate widget
            unknown = set(node["widgets"]) - {n for n, k in spec["inputs"] if is_widget(k)}
            if unknown:
                raise KeyError(f"{node['type']} #{node['id']}: unknown widgets {sorted(unknown)}")
            height = 46 + 22 * max(len(sockets), len(outputs)) + 26 * len(widgets)
            entry = {
                "id": node["id"],
                "type": node["type"],
                "pos": node["pos"],
                "size": [node["width"], height],
                "flags": {},
                "order": order[node["id"]],
                "mode": 0,
                "inputs": inputs,
                "outputs": outputs,
                "properties": {"Node name for S&R": node["type"]},
                "widgets_values": widgets,
            }
            if node["title"]:
                entry["title"] = node["title"]
            ui_nodes.append(entry)
        for note in self.notes:
            ui_nodes.append({
                "id": note["id"], "type": "Note", "pos": note["pos"], "size": list(note["size"]), "flags": {},
                "order": len(ui_nodes), "mode": 0, "inputs": [], "outputs": [], "properties": {"text": ""},
                "widgets_values": [note["text"]], "color": "#432", "bgcolor": "#653",
            })
        groups = [
            {"title": g["title"], "bounding": g["bounding"], "color": GROUP_COLOURS[i % len(GROUP_COLOURS)],
             "font_size": 24, "flags": {}}
            for i, g in enumerate(self.groups)
        ]
        return {
            "last_node_id": max(n["id"] for n in ui_nodes),
            "last_link_id": link_id,
            "nodes": ui_nodes,
            "links": links,
            "groups": groups,
            "config": {},
            "extra": {"ds": {"scale": 0.8, "offset": [40, 40]}},
            "version": 0.4,
        }

    def api(self) -> dict:
        from nodes import NODE_DISPLAY_NAME_MAPPINGS

        prompt = {}
        for node in self.nodes:
            spec = node_spec(node["type"])
            inputs = {}
            for name, kind in spec["inputs"]:
                if is_widget(kind):
                    inputs[name] = node["widgets"][name]
                elif name in node["links"]:
                    src, slot = node["links"][name]
                    inputs[name] = [str(src), slot]
            title = node["title"] or NODE_DISPLAY_NAME_MAPPINGS.get(node["type"], node["type"])
            prompt[str(node["id"])] = {"inputs": inputs, "class_type": node["type"], "_meta": {"title": title}}
        return prompt

    def _type(self, node_id):
        return next(n["type"] for n in self.nodes if n["id"] == node_id)


MODEL = "dav_tiny.safetensors (bundled)"
VIDEO = "sample.mp4"
FRAMES = {"start_frame": 0, "end_frame": 0, "stride": 1}


def long_video_depth() -> Graph:
    g = Graph()
    g.group("1 · Model and clip", [20, 20, 380, 560])
    g.add(1, "LoadDAVModel", [40, 80], {"checkpoint": MODEL, "precision": "auto"})
    g.add(2, "DAV_LoadVideo", [40, 250], {"video": VIDEO, **FRAMES, "max_resolution": 0})
    g.group("2 · Depth: keyframes, then the windows between them", [420, 20, 760, 560])
    g.add(3, "VideoToLatent", [440, 80], {"max_resolution": 960, "chunk_size": 16},
          {"dav_model": (1, 0), "images": (2, 0)})
    g.add(4, "KeyframeDepth", [440, 250],
          {"steps": 3, "seed": 0, "ensemble": 1, "window": 8, "overlap": 0, "max_keyframes_per_pass": 32,
           "pass_overlap": 2}, {"dav_model": (1, 0), "video_latents": (3, 0)})
    g.add(5, "DepthInterpolateWindow", [800, 80], {}, {"dav_model": (1, 0), "keyframes": (4, 0)})
    g.add(6, "DAV_DecodeDepth", [800, 220],
          {"output": "disparity", "normalization": "shot", "near": 1.0, "far": 0.0, "chunk_size": 16,
           "decode_overlap": 2}, {"dav_model": (1, 0), "depth_latents": (5, 0)})
    g.group("3 · Review and save (EXR frames numbered like the source)", [1200, 20, 700, 560])
    g.add(7, "DepthToColormap", [1220, 80], {"colormap": "Spectral", "invert": False, "normalization": "shot"},
          {"depth": (6, 0)})
    g.add(8, "PreviewImage", [1560, 80], {}, {"images": (7, 0)}, title="Depth preview")
    g.add(9, "DAV_SaveDepth", [1220, 300],
          {"format": "exr", "filename_prefix": "dav/long_video_depth/exr", "values": "disparity",
           "colormap": "Spectral", "fps": 24.0, "overwrite": True}, {"depth": (6, 0), "source": (2, 1)})
    g.group("4 · Whole shot straight to files (for shots too long for image batches)", [20, 600, 880, 660])
    g.add(10, "DAV_VideoDepthToFiles", [40, 660],
          {"video": VIDEO, **FRAMES, "max_resolution": 960, "steps": 3, "seed": 0, "ensemble": 1,
           "window": 8, "overlap": 0, "max_keyframes_per_pass": 32, "format": "png16", "preview_mp4": True,
           "filename_prefix": "dav/long_video_depth/png16", "resume": True, "chunk_size": 16},
          {"dav_model": (1, 0)}, width=360)
    g.note(11, [440, 660], (
        "Depth Any Video: long-video depth\n\n"
        "1. Put your clip in ComfyUI/input and pick it in DAV Load Video (sample.mp4 ships with the pack).\n"
        "2. Queue. Keyframes (every window-1 frames) are denoised together with their true frame positions, "
        "then the interpolation model fills each window between them: depth stays steady across the shot.\n"
        "3. Group 3 previews the depth and writes float EXR frames to output/dav/long_video_depth/exr.\n"
        "4. Group 4 does the same chain file to file, streaming 16-bit PNGs and a preview mp4, for shots too "
        "long to hold in memory. Disable (Ctrl+B) the group you do not need.\n\n"
        "Out of memory? Lower max_resolution, chunk_size or max_keyframes_per_pass."
    ), size=(420, 400))
    return g


def vfx_relighting() -> Graph:
    g = Graph()
    g.group("1 · Model and plate", [20, 20, 380, 700])
    g.add(1, "LoadDAVModel", [40, 80], {"checkpoint": MODEL, "precision": "auto"})
    g.add(2, "DAV_LoadVideo", [40, 250], {"video": VIDEO, "start_frame": 0, "end_frame": 32, "stride": 1,
                                          "max_resolution": 0})
    g.group("2 · Short-clip depth (≤ 32 frames)", [420, 20, 380, 700])
    g.add(3, "VideoToLatent", [440, 80], {"max_resolution": 960, "chunk_size": 16},
          {"dav_model": (1, 0), "images": (2, 0)})
    g.add(4, "FlowMatchDepthSampler", [440, 250], {"steps": 3, "seed": 0, "ensemble": 1},
          {"dav_model": (1, 0), "video_latents": (3, 0)})
    g.add(5, "DAV_DecodeDepth", [440, 460],
          {"output": "disparity", "normalization": "shot", "near": 1.0, "far": 0.0, "chunk_size": 16,
           "decode_overlap": 2}, {"dav_model": (1, 0), "depth_latents": (4, 0)})
    g.group("3 · Normals and relighting", [820, 20, 760, 700])
    g.add(6, "DAV_DepthToNormals", [840, 80], {"depth_is": "disparity", "fov_degrees": 60.0, "near": 1.0,
                                               "far": 10.0}, {"depth": (5, 0)})
    g.add(7, "DAV_Relight", [840, 280],
          {"azimuth": -60.0, "elevation": 25.0, "light_color": "#ffd9a0", "intensity": 1.2, "ambient": 0.55,
           "azimuth_end": 60.0, "mix": 1.0}, {"images": (2, 0), "normals": (6, 0)})
    g.add(8, "PreviewImage", [1200, 80], {}, {"images": (6, 0)}, title="Normals preview")
    g.add(9, "SaveImage", [1200, 280], {"filename_prefix": "dav/vfx_relighting/relit"}, {"images": (7, 0)},
          title="Save relit plate")
    g.group("4 · Depth for compositing", [20, 740, 1560, 360])
    g.add(10, "DepthToColormap", [440, 800], {"colormap": "turbo", "invert": False, "normalization": "shot"},
          {"depth": (5, 0)})
    g.add(11, "PreviewImage", [800, 800], {}, {"images": (10, 0)}, title="Depth preview")
    g.add(12, "DAV_SaveDepth", [1200, 800],
          {"format": "exr", "filename_prefix": "dav/vfx_relighting/depth_exr", "values": "disparity",
           "colormap": "Spectral", "fps": 24.0, "overwrite": True}, {"depth": (5, 0), "source": (2, 1)})
    g.note(13, [40, 800], (
        "Depth Any Video: VFX relighting\n\n"
        "Depth -> camera-space normals (set the plate's field of view) -> a directional light that sweeps from "
        "azimuth to azimuth_end over the shot, plus ambient, composited over the plate.\n"
        "Relit frames go to output/dav/vfx_relighting, float EXR depth beside them for your compositor.\n"
        "The short-clip sampler takes up to 32 frames; for longer shots use Keyframe Depth + Depth Interpolate "
        "Window (see long_video_depth.json)."
    ), size=(360, 280))
    return g


WORKFLOWS = {"long_video_depth": long_video_depth, "vfx_relighting": vfx_relighting}


def main() -> None:
    for name, build in WORKFLOWS.items():
        graph = build()
        (HERE / f"{name}.json").write_text(json.dumps(graph.ui(), indent=2) + "\n")
        (HERE / "api" / f"{name}.json").write_text(json.dumps(graph.api(), indent=2) + "\n")
        print(f"wrote workflows/{name}.json and workflows/api/{name}.json")


if __name__ == "__main__":
    main()
