"""Peak memory of a model call, measured without weights or compute.

The model is built on the ``meta`` device and its parameters become fake tensors
(``torch._subclasses.fake_tensor``): every op runs only its shape function. A dispatch mode counts the
bytes of every storage an op creates and notices when a storage dies (weak references), so the
highest sum seen is the peak of live tensors of the call, the same tensors a real run allocates.
What it cannot see: allocator rounding and caching, the weights themselves (counted separately), and
kernels' internal scratch memory, added per op where known (:func:`cpu_workspace_bytes`). Attention runs through the same SDPA kernel selection as a real CPU run (fused
flash attention: output and log-sum-exp, no score matrix), which is also what CUDA's fused kernels keep.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

__all__ = ["LiveBytes", "cpu_workspace_bytes", "fake_module", "fake_tensors", "traced_peak"]

_MODE = FakeTensorMode(allow_non_fake_inputs=True)  # one mode: fake modules and traces must share it
_MODULES: dict[tuple, nn.Module] = {}


_CONVOLUTIONS = (
    torch.ops.aten.convolution.default,
    torch.ops.aten.conv2d.default,
    torch.ops.aten.conv3d.default,
)


def cpu_workspace_bytes(func, args) -> int:
    """Scratch memory a CPU kernel allocates inside itself, unseen by dispatch: a 2-D convolution
    (oneDNN) reorders its weight into a blocked copy per call; a 3-D convolution runs as unfold + matmul
    (``slow_conv3d``) with a column buffer [B, C_in/groups*kT*kH*kW, T*H*W]."""
    if func not in _CONVOLUTIONS:
        return 0
    x, weight = args[0], args[1]
    if x.ndim == 4:
        return weight.numel() * weight.element_size()
    if x.ndim != 5:
        return 0

    def triple(i: int, default: int):
        value = args[i] if len(args) > i else default
        return [value] * 3 if isinstance(value, int) else list(value)

    stride, dilation = triple(3, 1), triple(5, 1)
    padding = args[4] if len(args) > 4 else 0
    out_volume = 1
    for i, size in enumerate(x.shape[2:]):
        if isinstance(padding, str):  # "same" / "valid"
            k = dilation[i] * (weight.shape[2 + i] - 1) + 1
            out_volume *= size if padding == "same" else (size - k) // stride[i] + 1
            continue
        pad = padding if isinstance(padding, int) else padding[i]
        k = dilation[i] * (weight.shape[2 + i] - 1) + 1
        out_volume *= (size + 2 * pad - k) // stride[i] + 1
    return x.shape[0] * weight[0].numel() * out_volume * x.element_size()


class LiveBytes(TorchDispatchMode):
    """Tracks the bytes of live storages created by the ops run under it; ``peak`` is the maximum.

    ``workspace(func, args)`` adds an op's internal scratch memory to the peak while the op runs
    (e.g. :func:`cpu_workspace_bytes`; None: none)."""

    def __init__(self, workspace=None) -> None:
        super().__init__()
        self.live: dict[int, tuple[StorageWeakRef, int]] = {}  # storage id -> (weak ref, bytes)
        self.now = 0
        self.peak = 0
        self.workspace = workspace

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        scratch = 0 if self.workspace is None else self.workspace(func, args)
        for key in [k for k, (ref, _) in self.live.items() if ref.expired()]:
            self.now -= self.live.pop(key)[1]
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                if storage._cdata not in self.live:  # views and in-place ops reuse a storage
                    self.live[storage._cdata] = (StorageWeakRef(storage), storage.nbytes())
                    self.now += storage.nbytes()
        self.peak = max(self.peak, self.now + scratch)
        return out


def _fake(t: torch.Tensor) -> torch.Tensor:
    if t.device.type == "meta":
        return _MODE.fake_tensor_converter.from_meta_and_device(_MODE, t, torch.device("cpu"))
    return _MODE.from_tensor(t)  # a small tensor a constructor made on the CPU


def fake_module(cls: type[nn.Module], config: dict, dtype: torch.dtype) -> nn.Module:
    """``cls(**config)`` in ``dtype`` with fake parameters and buffers (no memory; cached per config)."""
    key = (cls, json.dumps(config, sort_keys=True, default=str), dtype)
    if key not in _MODULES:
        diffusers_logger = logging.getLogger("diffusers")
        level = diffusers_logger.level
        diffusers_logger.setLevel(logging.ERROR)  # "modules that should be kept in float32": none here
        try:
            with torch.device("meta"):
                module = nn.Module.to(cls(**config), dtype=dtype).eval()
        finally:
            diffusers_logger.setLevel(level)
        for sub in module.modules():
            for name, p in list(sub._parameters.items()):
                if p is not None:
                    sub._parameters[name] = nn.Parameter(_fake(p.data), requires_grad=False)
            for name, b in list(sub._buffers.items()):
                if b is not None:
                    sub._buffers[name] = _fake(b)
        _MODULES[key] = module
    return _MODULES[key]


@contextmanager
def fake_tensors():
    """Ops run on fake tensors only (shape functions, no memory): the mode :func:`fake_module`'s use."""
    with torch.inference_mode(), _MODE:
        yield


WORKSPACES = {"cpu": cpu_workspace_bytes}  # other devices: kernels' scratch is left to the planner's margin


def traced_peak(call: Callable[[], object], device_type: str = "cpu") -> int:
    """Peak bytes of live tensors (plus the scratch of ``device_type``'s kernels, see ``WORKSPACES``)
    while ``call()`` runs on fake tensors; ``call`` makes its inputs itself (``torch.empty``), so they
    count, and should not keep its result."""
    with fake_tensors(), LiveBytes(WORKSPACES.get(device_type)) as tracker:
        call()
    return tracker.peak
