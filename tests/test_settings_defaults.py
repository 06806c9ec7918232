"""Every front end builds the library's one settings object with the same defaults."""

from __future__ import annotations

import inspect

from dav_core.cli import build_parser
from dav_core.settings import DEFAULTS, LongVideoSettings
from dav_core.stages import stream_depth
from tests.helpers import load_pack

# settings field -> the `dav depth` option's destination
CLI_DESTINATIONS = {"max_keyframes_per_pass": "keyframes_per_pass"}
# node class -> the settings fields it has inputs for
NODE_FIELDS = {
    "DAV_VideoDepthToFiles": ("steps", "seed", "ensemble", "max_resolution", "chunk_size", "window", "overlap",
                              "max_keyframes_per_pass", "memory"),
    "KeyframeDepth": ("steps", "seed", "ensemble", "window", "overlap", "max_keyframes_per_pass", "memory"),
    "VideoToLatent": ("max_resolution", "chunk_size", "memory"),
    "FlowMatchDepthSampler": ("steps", "seed", "ensemble"),
    "DAV_DecodeDepth": ("chunk_size", "decode_overlap", "memory"),
}


def _cli_defaults() -> dict:
    parser = build_parser()
    depth = parser._subparsers._group_actions[0].choices["depth"]  # the `dav depth` sub-parser
    args = depth.parse_args(["clip.mp4", "--output", "out"])
    return {f: getattr(args, CLI_DESTINATIONS.get(f, f)) for f in LongVideoSettings.__dataclass_fields__
            if hasattr(args, CLI_DESTINATIONS.get(f, f))}


def test_cli_api_and_nodes_share_the_settings_defaults():
    defaults = {f: getattr(DEFAULTS, f) for f in LongVideoSettings.__dataclass_fields__}
    cli = _cli_defaults()
    assert set(cli) == set(defaults) - {"decode_overlap", "pass_overlap"}  # the options `dav depth` has
    assert cli == {f: defaults[f] for f in cli}
    assert inspect.signature(stream_depth).parameters["settings"].default is None  # None: LongVideoSettings()
    mappings = load_pack().NODE_CLASS_MAPPINGS
    for node, fields in NODE_FIELDS.items():
        declared = {name: spec for section in mappings[node].INPUT_TYPES().values() for name, spec in section.items()}
        widgets = {f: declared[f][1]["default"] for f in fields}
        assert widgets == {f: defaults[f] for f in fields}, node
        run = getattr(mappings[node], mappings[node].FUNCTION)
        arguments = {f: p.default for f, p in inspect.signature(run).parameters.items() if f in fields}
        assert arguments == {f: defaults[f] for f in fields}, node
    keyframes = mappings["KeyframeDepth"].INPUT_TYPES()["required"]["pass_overlap"][1]["default"]
    assert keyframes == DEFAULTS.keyframe_pass_overlap  # the node shows the value None stands for
