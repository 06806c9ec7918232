"""One declaration per node: the classic ComfyUI class attributes made from a short description."""

from __future__ import annotations

from collections.abc import Callable

from ._comfy import CATEGORY

# An input: ("TYPE" or [choices], {"default": ..., "tooltip": ...}), or a function making one when
# ComfyUI asks (lists read from disk: videos, checkpoints).
Input = tuple | Callable[[], tuple]


def _inputs(declared: dict[str, Input]) -> dict[str, tuple]:
    return {name: spec() if callable(spec) else spec for name, spec in declared.items()}


def node(node_id: str, display_name: str, function: str, description: str, *, required: dict[str, Input],
         optional: dict[str, Input] | None = None, outputs: tuple[tuple[str, str, str], ...] = (),
         output_node: bool = False):
    """Class decorator: INPUT_TYPES, outputs (type, name, tooltip), function, category and description.

    The inputs keep their order (saved workflows store widget values by position); ``node_id`` and
    ``display_name`` go to the pack's NODE_CLASS_MAPPINGS and NODE_DISPLAY_NAME_MAPPINGS.
    """

    def declare(cls):
        def input_types(_cls):
            spec = {"required": _inputs(required)}
            if optional:
                spec["optional"] = _inputs(optional)
            return spec

        cls.INPUT_TYPES = classmethod(input_types)
        cls.RETURN_TYPES = tuple(kind for kind, _, _ in outputs)
        cls.RETURN_NAMES = tuple(name for _, name, _ in outputs)
        cls.OUTPUT_TOOLTIPS = tuple(tooltip for _, _, tooltip in outputs)
        cls.FUNCTION = function
        cls.CATEGORY = CATEGORY
        cls.DESCRIPTION = description
        if output_node:
            cls.OUTPUT_NODE = True
        cls.NODE_ID, cls.DISPLAY_NAME = node_id, display_name
        return cls

    return declare


def mappings(*classes) -> tuple[dict, dict]:
    """NODE_CLASS_MAPPINGS and NODE_DISPLAY_NAME_MAPPINGS of declared node classes."""
    return {c.NODE_ID: c for c in classes}, {c.NODE_ID: c.DISPLAY_NAME for c in classes}
