"""Draws the example workflows' layout (groups, nodes, links, notes) as PNGs for the README.

    PYTHONPATH=. python docs/render_workflows.py   # writes docs/<workflow>.png

A schematic of the canvas, not a screenshot: titles, input/output sockets, widget values, links.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
SCALE = 0.75
TYPE_COLOURS = {"DAV_MODEL": "#c678dd", "IMAGE": "#64b5f6", "MASK": "#81c784", "DAV_LATENTS": "#ff9f43",
                "DAV_KEYFRAMES": "#ffd166", "DAV_DEPTH_LATENTS": "#ef476f", "DAV_SOURCE": "#a0a0a0"}


def _font(size):
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def _widget_names(node_type: str) -> list[str]:
    """Widget names in widgets_values order (a seed is followed by its control_after_generate value)."""
    from nodes import NODE_CLASS_MAPPINGS

    if node_type not in NODE_CLASS_MAPPINGS:
        return {"SaveImage": ["filename_prefix"]}.get(node_type, [])
    spec = NODE_CLASS_MAPPINGS[node_type].INPUT_TYPES()
    names = []
    for section in ("required", "optional"):
        for name, (kind, *_) in spec.get(section, {}).items():
            if isinstance(kind, list) or kind in ("INT", "FLOAT", "STRING", "BOOLEAN"):
                names += [name, "control_after_generate"] if name == "seed" else [name]
    return names


def render(path: Path) -> Image.Image:
    from nodes import NODE_DISPLAY_NAME_MAPPINGS

    ui = json.loads(path.read_text())
    right = max(max(n["pos"][0] + n["size"][0] for n in ui["nodes"]),
                max(g["bounding"][0] + g["bounding"][2] for g in ui["groups"]))
    bottom = max(max(n["pos"][1] + n["size"][1] for n in ui["nodes"]),
                 max(g["bounding"][1] + g["bounding"][3] for g in ui["groups"]))
    image = Image.new("RGB", (int((right + 40) * SCALE), int((bottom + 40) * SCALE)), "#202020")
    draw = ImageDraw.Draw(image)
    title_font, text_font = _font(15), _font(11)

    def s(*values):
        return [v * SCALE for v in values]

    for group in ui["groups"]:
        x, y, w, h = group["bounding"]
        draw.rectangle(s(x, y, x + w, y + h), outline=group["color"], width=2, fill="#2a2a2a")
        draw.text(s(x + 10, y + 8), group["title"], fill=group["color"], font=title_font)
    sockets = {}
    for node in ui["nodes"]:
        x, y = node["pos"]
        w, h = node["size"]
        note = node["type"] == "Note"
        draw.rounded_rectangle(s(x, y, x + w, y + h), radius=6, fill="#53432b" if note else "#353535",
                               outline="#777")
        title = node.get("title") or NODE_DISPLAY_NAME_MAPPINGS.get(node["type"], node["type"])
        draw.rectangle(s(x, y, x + w, y + 26), fill="#43331b" if note else "#444")
        draw.text(s(x + 8, y + 6), "Note" if note else title, fill="#eee", font=text_font)
        if note:
            text = node["widgets_values"][0]
            lines, line = [], ""
            for word in text.replace("\n", " \n ").split(" "):
                if word == "\n" or len(line) + len(word) > int(w / 7.0):
                    lines.append(line)
                    line = "" if word == "\n" else word
                else:
                    line = f"{line} {word}".strip()
            lines.append(line)
            for i, text_line in enumerate(lines[: int((h - 34) / 15)]):
                draw.text(s(x + 8, y + 32 + 15 * i), text_line, fill="#ddd", font=text_font)
            continue
        for i, slot in enumerate(node["inputs"]):
            cy = y + 40 + 22 * i
            sockets[(node["id"], "in", i)] = (x, cy)
            draw.ellipse(s(x - 5, cy - 5, x + 5, cy + 5), fill=TYPE_COLOURS.get(slot["type"], "#bbb"))
            draw.text(s(x + 10, cy - 7), slot["name"], fill="#ccc", font=text_font)
        for i, slot in enumerate(node["outputs"]):
            cy = y + 40 + 22 * i
            sockets[(node["id"], "out", i)] = (x + w, cy)
            draw.ellipse(s(x + w - 5, cy - 5, x + w + 5, cy + 5), fill=TYPE_COLOURS.get(slot["type"], "#bbb"))
            label = slot["name"]
            draw.text(s(x + w - 10 - 6.5 * len(label), cy - 7), label, fill="#ccc", font=text_font)
        rows = max(len(node["inputs"]), len(node["outputs"]))
        for i, (name, value) in enumerate(zip(_widget_names(node["type"]), node["widgets_values"], strict=False)):
            draw.text(s(x + 10, y + 44 + 22 * rows + 26 * i), f"{name}: {value}"[:46], fill="#9ab", font=text_font)
    for _link, src, src_slot, dst, dst_slot, kind in ui["links"]:
        (x0, y0), (x1, y1) = sockets[(src, "out", src_slot)], sockets[(dst, "in", dst_slot)]
        points = [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * (3 * t * t - 2 * t * t * t)) for t in [i / 24 for i in range(25)]]
        draw.line([tuple(s(*p)) for p in points], fill=TYPE_COLOURS.get(kind, "#bbb"), width=2)
    return image


def main() -> None:
    for path in sorted((REPO / "workflows").glob("*.json")):
        target = REPO / "docs" / f"{path.stem}.png"
        render(path).save(target, optimize=True)
        print(f"wrote {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()
