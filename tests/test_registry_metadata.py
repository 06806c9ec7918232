"""What a user sees of the pack before installing it: registry metadata, node descriptions and tooltips."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.helpers import REPO, load_pack

nodes = load_pack().nodes

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def test_registry_metadata_is_filled():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    meta, comfy = project["project"], project["tool"]["comfy"]
    assert meta["name"] and meta["description"] and meta["version"].count(".") == 2
    assert meta["urls"]["Repository"].startswith("https://github.com/")
    assert comfy["PublisherId"] and comfy["DisplayName"]
    assert comfy["requires-comfyui"].startswith(">=")
    assert not any(dep.startswith("comfyui-frontend-package") for dep in meta["dependencies"])
    icon = comfy["Icon"]
    assert icon.startswith(meta["urls"]["Repository"].replace("github.com", "raw.githubusercontent.com"))
    local = REPO / icon.split("/main/", 1)[1]  # the icon ships in the repository
    with Image.open(local) as image:
        assert image.width <= 800 and image.height <= 400
    assert [m["model_url"] for m in comfy["Models"]] == ["https://huggingface.co/hhyangcs/depth-any-video"]


def test_every_node_describes_itself_and_its_inputs():
    for node_id, cls in nodes.NODE_CLASS_MAPPINGS.items():
        assert nodes.NODE_DISPLAY_NAME_MAPPINGS.get(node_id), node_id
        assert 20 <= len(cls.DESCRIPTION) <= 300, f"{node_id}: a short description"
        spec = cls.INPUT_TYPES()
        for section in ("required", "optional"):
            for name, declared in spec.get(section, {}).items():
                options = declared[1] if len(declared) > 1 else {}
                assert options.get("tooltip"), f"{node_id}.{name} has no tooltip"
        assert len(getattr(cls, "OUTPUT_TOOLTIPS", ())) == len(cls.RETURN_TYPES), f"{node_id}: output tooltips"
