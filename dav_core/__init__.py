"""Depth Any Video: video depth as flow-matching generation (library layer, no ComfyUI imports)."""

__version__ = "0.1.0"
