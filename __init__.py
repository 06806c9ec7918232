"""ComfyUI entry point of the Depth Any Video node pack.

ComfyUI imports this file as a package from custom_nodes/; the nodes and the pack's own ``dav_core``
are imported relatively, so nothing is added to sys.path and ComfyUI's own ``nodes`` module is untouched.
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from .nodes._comfy import check_environment, install_sample, register_model_folder

register_model_folder()
install_sample()
check_environment()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
