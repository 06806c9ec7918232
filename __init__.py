"""ComfyUI entry point of the Depth Any Video node pack.

ComfyUI imports this file as a package from custom_nodes/. The pack folder is appended to sys.path
(appended, so ComfyUI's own ``nodes`` module keeps precedence) to make ``dav_core`` importable; the
node classes come from this pack's ``nodes`` subpackage through a relative import.
"""

import os
import sys

_PACK_DIR = os.path.dirname(os.path.abspath(__file__))
if _PACK_DIR not in sys.path:
    sys.path.append(_PACK_DIR)

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS  # noqa: E402
from .nodes._comfy import check_environment, register_model_folder  # noqa: E402

register_model_folder()
check_environment()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
