"""Writes the example workflows in both ComfyUI formats from one description.

    python workflows/build_workflows.py

UI format (``workflows/*.json``: what artists drag onto the canvas) and API format
(``workflows/api/*.json``: what POST /prompt takes). Widget values are laid out in each node's
INPUT_TYPES order, as the ComfyUI frontend does; tests/test_nodes_workflows.py checks the two agree.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACK_NAME = "depth_any_video_pack"

# Core ComfyUI nodes the workflows use (their INPUT_TYPES, as in ComfyUI's nodes.py).
CORE_NODES = {
    "PreviewImage": {"inputs": [("images", "IMAGE")], "outputs": []},
    "SaveImage": {"inputs": [("images", "IMAGE"), ("filename_prefix", "STRING")], "outputs": []},
    # ComfyUI >= 0.3.30 (comfy_extras/nodes_video.py): the native VIDEO type
    "LoadVideo": {"inputs": [("file", ["sample.mp4"])], "outputs": [("VIDEO", "VIDEO")], "uploads": {"file"},
                  "display": "Load Video"},
    "SaveVideo": {"inputs": [("video", "VIDEO"), ("filename_prefix", "STRING"), ("format", ["auto", "mp4"]),
                             ("codec", ["auto", "h264"])], "outputs": []},
}
# A combo with an upload button (image_upload / video_upload) makes the frontend add a button widget after
# all the node's widgets (and a preview widget), whose value it saves in widgets_values but not in the API
# format (checked in frontend 1.58 with tests/frontend/check_frontend.py).
UPLOAD_OPTIONS = ("image_upload", "video_upload")
UPLOAD_VALUE = "image"
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN"}
SEED_NAMES = {"seed", "noise_seed"}
GROUP_COLOURS = ["#3f789e", "#b58b2a", "#8A8", "#a1309b", "#88A"]

# Canvas geometry of the ComfyUI frontend (litegraph; measured with frontend 1.27-1.58), in graph units.
# A node's pos is the top left of its body: the title bar (TITLE_H) sits above it, and above that the
# frontend draws the node-source badge of custom nodes (the pack's folder name, BADGE_H) by default.
TITLE_H, BADGE_H = 30, 26
GROUP_TITLE_H = 34  # font_size 24 * 1.4
GROUP_HEAD = GROUP_TITLE_H + BADGE_H + TITLE_H + 10  # group top to the pos.y of its first node row
GROUP_PAD = 20
GROUP_TITLE_CHAR_W = 11  # a generous average advance of the 24 px group title font
STACK_GAP = TITLE_H + BADGE_H + 8  # node bottom to the pos.y of the node stacked under it
# "Modern Node Design (Nodes 2.0)" draws nodes as DOM elements, taller (28 per widget row,
# control_after_generate inline, STRING fields 8 more) with the badge inside: the layout leaves room for both.
# Image output nodes grow to show the images after a run; room for a 4:3 preview at 320 wide.
IMAGE_NODE_HEIGHT = {"PreviewImage": 300, "SaveImage": 330, "SaveVideo": 360, "LoadVideo": 520, "DAV_LoadVideo": 680}
# Nodes that show their depth preview video after a run grow by about this much (a 16:9 clip at 360 wide).
RESULT_PREVIEW_HEIGHT = {"DAV_SaveDepth": 280, "DAV_VideoDepthToFiles": 280}
# Nodes with the frontend's video preview widget are at least this wide.
VIDEO_PREVIEW_WIDTH = 560
# Initial view: fit the graph into a 1920x1080 window beside the sidebar and below the menus.
VIEW_LEFT, VIEW_TOP, VIEW_WIDTH, VIEW_HEIGHT = 70, 100, 1780, 880


@functools.cache
def pack():
    """The node pack, loaded from the folder above as ComfyUI loads a custom node (a package)."""
    if PACK_NAME in sys.modules:
        return sys.modules[PACK_NAME]
    root = HERE.parent
    spec = importlib.util.spec_from_file_location(PACK_NAME, root / "__init__.py", submodule_search_locations=[str(root)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACK_NAME] = module
    spec.loader.exec_module(module)
    return module


def node_spec(node_type: str) -> dict:
    """Ordered inputs [(name, type or combo list)] and outputs [(name, type)] of a node."""
    if node_type in CORE_NODES:
        return CORE_NODES[node_type]
    cls = pack().NODE_CLASS_MAPPINGS[node_type]
    spec = cls.INPUT_TYPES()
    declared = [(n, s) for section in ("required", "optional") for n, s in spec.get(section, {}).items()]
    uploads = {n for n, s in declared if len(s) > 1 and any(s[1].get(key) for key in UPLOAD_OPTIONS)}
    return {
        "inputs": [(n, s[0]) for n, s in declared],
        "outputs": list(zip(cls.RETURN_NAMES, cls.RETURN_TYPES, strict=True)),
        "uploads": uploads,
    }


def is_widget(kind) -> bool:
    return isinstance(kind, list) or kind in WIDGET_TYPES


def widget_count(spec: dict) -> int:
    """Widgets the frontend shows: one per widget input, plus control_after_generate after a seed."""
    return sum(1 + (name in SEED_NAMES and kind == "INT") + (name in spec.get("uploads", ()))
               for name, kind in spec["inputs"] if is_widget(kind))


def socket_rows(spec: dict) -> int:
    """Rows of input/output sockets: linked inputs on the left beside outputs on the right."""
    return max(len([i for i in spec["inputs"] if not is_widget(i[1])]), len(spec["outputs"]))


def node_height(node_type: str) -> int:
    """Body height: the frontend's computeSize (20 per socket row, 24 per widget) plus a little slack."""
    if node_type in IMAGE_NODE_HEIGHT:
        return IMAGE_NODE_HEIGHT[node_type]
    spec = node_spec(node_type)
    rows = socket_rows(spec)
    widgets = widget_count(spec)
    return 20 * rows + 24 * widgets + (14 if widgets else 6) + 10 + RESULT_PREVIEW_HEIGHT.get(node_type, 0)


def nodes2_height(node_type: str) -> int:
    """Body height of the node in Nodes 2.0 (measured with frontend 1.58)."""
    if node_type in IMAGE_NODE_HEIGHT:
        return IMAGE_NODE_HEIGHT[node_type]
    spec = node_spec(node_type)
    rows = socket_rows(spec)
    widgets = [kind for _, kind in spec["inputs"] if is_widget(kind)]
    uploads = len(spec.get("uploads", ()))
    return (38 + 20 * rows + 28 * (len(widgets) + uploads) + 8 * widgets.count("STRING")
            + RESULT_PREVIEW_HEIGHT.get(node_type, 0))


class Graph:
    def __init__(self):
        self.nodes: list[dict] = []
        self.links: list[list] = []
        self.groups: list[dict] = []
        self.notes: list[dict] = []

    def add(self, node_id, node_type, pos, widgets=None, links=None, title=None, width=320):
        if node_spec(node_type).get("uploads"):
            width = max(width, VIDEO_PREVIEW_WIDTH)
        self.nodes.append(dict(id=node_id, type=node_type, pos=pos, widgets=widgets or {}, links=links or {},
                               title=title, width=width, height=node_height(node_type),
                               extent=max(node_height(node_type), nodes2_height(node_type))))
        return node_id

    def note(self, node_id, pos, text, size=(380, 160)):
        self.notes.append(dict(id=node_id, pos=pos, text=text, size=size))

    def group(self, title, members):
        """A group around the given nodes and notes; groups starting on one row share their bottom."""
        self.groups.append(dict(title=title, members=members))

    def below(self, node_id) -> int:
        """pos.y for a node stacked under node_id, clear of its own title bar and badge."""
        node = next(n for n in self.nodes if n["id"] == node_id)
        return node["pos"][1] + node["extent"] + STACK_GAP

    def next_row(self) -> int:
        """pos.y for a new row of groups below everything placed so far (groups 20 apart)."""
        bottom = max([n["pos"][1] + n["extent"] for n in self.nodes]
                     + [n["pos"][1] + n["size"][1] for n in self.notes])
        return bottom + GROUP_PAD + 20 + GROUP_HEAD

    def _boxes(self) -> dict:
        """Each node's and note's [x, y, w, h] including title bar and badge, in either renderer."""
        head = TITLE_H + BADGE_H
        boxes = {n["id"]: [n["pos"][0], n["pos"][1] - head, n["width"], n["extent"] + head]
                 for n in self.nodes}
        boxes.update({n["id"]: [n["pos"][0], n["pos"][1] - head, n["size"][0], n["size"][1] + head]
                      for n in self.notes})
        return boxes

    def _group_boundings(self) -> list[list[int]]:
        boxes = self._boxes()
        bounds = []
        for group in self.groups:
            members = [boxes[m] for m in group["members"]]
            top = min(b[1] for b in members) + TITLE_H + BADGE_H - GROUP_HEAD
            x0 = min(b[0] for b in members) - GROUP_PAD
            title_width = 2 * 8 + GROUP_TITLE_CHAR_W * len(group["title"])
            x1 = max(max(b[0] + b[2] for b in members) + GROUP_PAD, x0 + title_width)
            bounds.append([x0, top, x1, max(b[1] + b[3] for b in members) + GROUP_PAD])
        for bound in bounds:  # one row of groups: same bottom
            bound[3] = max(b[3] for b in bounds if b[1] == bound[1])
        return [[x0, y0, x1 - x0, y1 - y0] for x0, y0, x1, y1 in bounds]

    def _check_layout(self, boundings) -> None:
        """Nodes (title bar and badge included) and groups must not overlap; every node is in one group."""
        boxes = self._boxes()

        def overlap(a, b):
            return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]

        ids = list(boxes)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if overlap(boxes[a], boxes[b]):
                    raise ValueError(f"nodes {a} and {b} overlap (title bar and badge included)")
        for i, a in enumerate(boundings):
            for b in boundings[i + 1:]:
                if overlap(a, b):
                    raise ValueError(f"groups {a} and {b} overlap")
        grouped = [m for g in self.groups for m in g["members"]]
        if sorted(grouped) != sorted(ids):
            raise ValueError(f"each node and note must be in one group: {sorted(grouped)} vs {sorted(ids)}")

    def _view(self, boundings) -> dict:
        x0 = min(b[0] for b in boundings)
        y0 = min(b[1] for b in boundings)
        width = max(b[0] + b[2] for b in boundings) - x0
        height = max(b[1] + b[3] for b in boundings) - y0
        scale = min(0.8, int(20 * min(VIEW_WIDTH / width, VIEW_HEIGHT / height)) / 20)
        return {"scale": scale, "offset": [round(VIEW_LEFT / scale - x0), round(VIEW_TOP / scale - y0)]}

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
            widgets += [UPLOAD_VALUE] * len(spec.get("uploads", ()))  # the upload buttons, added after the rest
            unknown = set(node["widgets"]) - {n for n, k in spec["inputs"] if is_widget(k)}
            if unknown:
                raise KeyError(f"{node['type']} #{node['id']}: unknown widgets {sorted(unknown)}")
            entry = {
                "id": node["id"],
                "type": node["type"],
                "pos": node["pos"],
                "size": [node["width"], node["height"]],
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
        boundings = self._group_boundings()
        self._check_layout(boundings)
        groups = [
            {"title": g["title"], "bounding": bounding, "color": GROUP_COLOURS[i % len(GROUP_COLOURS)],
             "font_size": 24, "flags": {}}
            for i, (g, bounding) in enumerate(zip(self.groups, boundings, strict=True))
        ]
        return {
            "last_node_id": max(n["id"] for n in ui_nodes),
            "last_link_id": link_id,
            "nodes": ui_nodes,
            "links": links,
            "groups": groups,
            "config": {},
            "extra": {"ds": self._view(boundings)},
            "version": 0.4,
        }

    def api(self) -> dict:
        display_names = pack().NODE_DISPLAY_NAME_MAPPINGS
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
            title = node["title"] or display_names.get(node["type"]) or CORE_NODES.get(
                node["type"], {}).get("display", node["type"])
            prompt[str(node["id"])] = {"inputs": inputs, "class_type": node["type"], "_meta": {"title": title}}
        return prompt

    def _type(self, node_id):
        return next(n["type"] for n in self.nodes if n["id"] == node_id)


MODEL = "dav_tiny.safetensors (bundled demo: synthetic training only)"
VIDEO = "sample.mp4"
FRAMES = {"start_frame": 0, "end_frame": 0, "stride": 1}
# DAV Video Depth To Files at its defaults: each workflow sets its own folder, resume and colours
FILE_TO_FILE = {
    "video": VIDEO, **FRAMES, "max_resolution": 0, "steps": 3, "seed": 0, "ensemble": 1, "window": 0,
    "overlap": 0, "max_keyframes_per_pass": 32, "format": "png16", "preview_mp4": True, "chunk_size": 16,
    "fps": 24.0, "memory": "auto",
}


ROW1 = 20 + GROUP_HEAD  # pos.y of the first node row (groups start at y=20)


def long_video_depth() -> Graph:
    g = Graph()
    g.add(1, "LoadDAVModel", [40, ROW1], {"checkpoint": MODEL, "precision": "auto"}, width=340)
    g.add(2, "DAV_LoadVideo", [40, g.below(1)], {"video": VIDEO, **FRAMES, "max_resolution": 0}, width=340)
    g.group("1 · Model and clip", [1, 2])
    g.add(3, "VideoToLatent", [680, ROW1], {"max_resolution": 0, "chunk_size": 16, "memory": "auto"},
          {"dav_model": (1, 0), "images": (2, 0)})
    g.add(4, "KeyframeDepth", [680, g.below(3)],
          {"steps": 3, "seed": 0, "ensemble": 1, "window": 0, "overlap": 0, "max_keyframes_per_pass": 32,
           "pass_overlap": 2, "memory": "auto"}, {"dav_model": (1, 0), "video_latents": (3, 0)})
    g.add(5, "DepthInterpolateWindow", [1040, ROW1], {}, {"dav_model": (1, 0), "keyframes": (4, 0)})
    g.add(6, "DAV_DecodeDepth", [1040, g.below(5)],
          {"output": "disparity", "range": "shot", "near": 1.0, "far": 0.0, "chunk_size": 16,
           "decode_overlap": 2, "memory": "auto"}, {"dav_model": (1, 0), "depth_latents": (5, 0)})
    g.group("2 · Depth: keyframes, then the windows between them", [3, 4, 5, 6])
    g.add(7, "DepthToColormap", [1460, ROW1],
          {"colormap": "Spectral", "invert": False, "range": "shot"}, {"depth": (6, 0)})
    g.add(8, "PreviewImage", [1820, ROW1], {}, {"images": (7, 0)}, title="Depth preview")
    g.add(9, "DAV_SaveDepth", [1460, g.below(7)],
          {"format": "exr", "filename_prefix": "dav/long_video_depth/exr", "values": "disparity",
           "colormap": "Spectral", "fps": 24.0, "overwrite": True}, {"depth": (6, 0), "source": (2, 1)})
    g.group("3 · Review and save (EXR frames numbered like the source)", [7, 8, 9])
    row2 = g.next_row()
    g.add(10, "DAV_VideoDepthToFiles", [40, row2],
          {**FILE_TO_FILE, "filename_prefix": "dav/long_video_depth/png16", "resume": True, "colormap": "Spectral"},
          {"dav_model": (1, 0)}, width=360)
    g.note(11, [680, row2], (
        "Depth Any Video: long-video depth\n\n"
        "1. Put your clip in ComfyUI/input and pick it in DAV Load Video (sample.mp4 ships with the pack).\n"
        "2. Queue. Keyframes (every window-1 frames) are denoised together with their true frame positions, "
        "then the interpolation model fills each window between them: depth stays steady across the shot.\n"
        "3. Group 3 previews the depth and writes float EXR frames to output/dav/long_video_depth/exr.\n"
        "4. Group 4 does the same chain file to file, streaming 16-bit PNGs and a preview mp4, for shots too "
        "long to hold in memory. Disable (Ctrl+B) the group you do not need.\n\n"
        "Out of memory? Lower max_resolution, chunk_size or max_keyframes_per_pass."
    ), size=(420, 400))
    g.group("4 · Whole shot straight to files (for shots too long for image batches)", [10, 11])
    return g


def vfx_relighting() -> Graph:
    g = Graph()
    g.add(1, "LoadDAVModel", [40, ROW1], {"checkpoint": MODEL, "precision": "auto"}, width=340)
    g.add(2, "DAV_LoadVideo", [40, g.below(1)],
          {"video": VIDEO, "start_frame": 0, "end_frame": 32, "stride": 1, "max_resolution": 0}, width=340)
    g.group("1 · Model and plate", [1, 2])
    g.add(3, "VideoToLatent", [680, ROW1], {"max_resolution": 0, "chunk_size": 16, "memory": "auto"},
          {"dav_model": (1, 0), "images": (2, 0)})
    g.add(4, "FlowMatchDepthSampler", [680, g.below(3)], {"steps": 3, "seed": 0, "ensemble": 1},
          {"dav_model": (1, 0), "video_latents": (3, 0)})
    g.add(5, "DAV_DecodeDepth", [680, g.below(4)],
          {"output": "disparity", "range": "shot", "near": 1.0, "far": 0.0, "chunk_size": 16,
           "decode_overlap": 2, "memory": "auto"}, {"dav_model": (1, 0), "depth_latents": (4, 0)})
    g.group("2 · Short-clip depth (≤ 32 frames)", [3, 4, 5])
    g.add(6, "DAV_DepthToNormals", [1100, ROW1], {"depth_is": "disparity", "fov_degrees": 60.0, "near": 1.0,
                                                 "far": 10.0}, {"depth": (5, 0)})
    g.add(7, "DAV_Relight", [1100, g.below(6)],
          {"azimuth": -60.0, "elevation": 25.0, "light_color": "#ffd9a0", "intensity": 1.2, "ambient": 0.55,
           "azimuth_end": 60.0, "mix": 1.0}, {"images": (2, 0), "normals": (6, 0)})
    g.add(8, "PreviewImage", [1460, ROW1], {}, {"images": (6, 0)}, title="Normals preview")
    g.add(9, "SaveImage", [1460, g.below(8)], {"filename_prefix": "dav/vfx_relighting/relit"},
          {"images": (7, 0)}, title="Save relit plate")
    g.group("3 · Normals and relighting", [6, 7, 8, 9])
    row2 = g.next_row()
    g.add(10, "DepthToColormap", [680, row2], {"colormap": "turbo", "invert": False, "range": "shot"},
          {"depth": (5, 0)})
    g.add(11, "PreviewImage", [1040, row2], {}, {"images": (10, 0)}, title="Depth preview")
    g.add(12, "DAV_SaveDepth", [1460, row2],
          {"format": "exr", "filename_prefix": "dav/vfx_relighting/depth_exr", "values": "disparity",
           "colormap": "Spectral", "fps": 24.0, "overwrite": True}, {"depth": (5, 0), "source": (2, 1)})
    g.note(13, [40, row2], (
        "Depth Any Video: VFX relighting\n\n"
        "Depth -> camera-space normals (set the plate's field of view) -> a directional light that sweeps from "
        "azimuth to azimuth_end over the shot, plus ambient, composited over the plate.\n"
        "Relit frames go to output/dav/vfx_relighting, float EXR depth beside them for your compositor.\n"
        "The short-clip sampler takes up to 32 frames; for longer shots use Keyframe Depth + Depth Interpolate "
        "Window (see long_video_depth.json)."
    ), size=(360, 280))
    g.group("4 · Depth for compositing", [13, 10, 11, 12])
    return g


def depth_control_video() -> Graph:
    g = Graph()
    g.add(1, "LoadDAVModel", [40, ROW1], {"checkpoint": MODEL, "precision": "auto"}, width=340)
    g.add(2, "LoadVideo", [40, g.below(1)], {"file": VIDEO}, width=340)
    g.group("1 · Model and clip (core Load Video)", [1, 2])
    g.add(3, "DAV_VideoDepthToFiles", [720, ROW1],
          {**FILE_TO_FILE, "filename_prefix": "dav/depth_control_video/png16", "resume": False, "colormap": "gray"},
          {"dav_model": (1, 0), "input_video": (2, 0)}, width=360)
    g.group("2 · Depth, streamed to files", [3])
    g.add(4, "SaveVideo", [1160, ROW1],
          {"filename_prefix": "dav/depth_control_video/control", "format": "auto", "codec": "auto"},
          {"video": (3, 2)}, title="Save control video", width=360)
    g.note(5, [1160, g.below(4)], (
        "Depth Any Video: depth as a control video\n\n"
        "Load Video (ComfyUI's own, with its upload button) gives a VIDEO; DAV Video Depth To Files streams it "
        "from its file (the video list on the node is ignored while input_video is connected) and writes "
        "16-bit depth frames plus a preview. With colormap gray the preview is a control video, near = "
        "white: its VIDEO output feeds Save Video here, or a video model's control input.\n\n"
        "Needs a ComfyUI with the VIDEO type (0.3.30 or later)."
    ), size=(360, 300))
    g.group("3 · Control video out", [4, 5])
    return g


WORKFLOWS = {
    "long_video_depth": long_video_depth,
    "vfx_relighting": vfx_relighting,
    "depth_control_video": depth_control_video,
}


def main() -> None:
    for name, build in WORKFLOWS.items():
        graph = build()
        (HERE / f"{name}.json").write_text(json.dumps(graph.ui(), indent=2) + "\n")
        (HERE / "api" / f"{name}.json").write_text(json.dumps(graph.api(), indent=2) + "\n")
        print(f"wrote workflows/{name}.json and workflows/api/{name}.json")


if __name__ == "__main__":
    main()
