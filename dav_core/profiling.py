"""Where a run's time goes: seconds and FLOPs per stage, and the machine's peak to compare them with.

Stages are the model's calls: ``encode`` (``vae.encode``), ``keyframes`` (``unet``), ``windows``
(``unet_interp``), ``decode`` (``vae.decode``), plus ``write`` (``DepthOutputs.write``: the depth files).
:meth:`StageProfile.instrument` wraps them for one run: each call is timed (CUDA synchronised before
both clock reads) and its input shapes are recorded. FLOPs are counted afterwards, once per distinct
(stage, input shapes), by running that call on fake tensors (no compute, no memory) under torch's
``FlopCounterMode``, times the number of calls. It counts matrix multiplies, convolutions and attention
(as 2 FLOPs per multiply-add); elementwise ops, norms and softmax are not counted. Calls a stage makes
inside another stage (none in a normal run) count as the outer stage's.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

STAGES = ("encode", "keyframes", "windows", "decode", "write")
STAGE_LABELS = {
    "encode": "VAE encode",
    "keyframes": "keyframes (UNet)",
    "windows": "windows (interp UNet)",
    "decode": "VAE decode",
    "write": "writing files",
    "other": "other",
}
STAGE_CALLS = {  # stage -> (component, method) of the model
    "encode": ("vae", "encode"),
    "keyframes": ("unet", "forward"),
    "windows": ("unet_interp", "forward"),
    "decode": ("vae", "decode"),
}


@dataclass(frozen=True)
class TensorShape:
    """A tensor argument as recorded: what a FLOP count needs to make it again."""

    shape: tuple[int, ...]
    dtype: torch.dtype


@dataclass
class CallRecord:
    """Calls of one stage with one input signature: how many, and the first call's arguments."""

    args: tuple
    kwargs: dict
    count: int = 0


def _record(value):
    return TensorShape(tuple(value.shape), value.dtype) if isinstance(value, torch.Tensor) else value


def _key(value):
    """Hashable signature of a recorded argument; floats (timesteps) do not change the FLOPs."""
    if isinstance(value, float):
        return float
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


@dataclass
class StageProfile:
    """Seconds, calls and input signatures per stage for the runs done under :meth:`instrument`."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seconds: Counter = field(default_factory=Counter)
    calls: Counter = field(default_factory=Counter)
    signatures: dict = field(default_factory=dict)  # (stage, key) -> CallRecord
    _running: bool = False

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def wrap(self, stage: str, fn: Callable) -> Callable:
        """``fn`` timed as ``stage`` (its input shapes recorded unless ``stage`` is ``write``)."""

        @wraps(fn)
        def timed(*args, **kwargs):
            if self._running:  # inside another stage: counted there
                return fn(*args, **kwargs)
            self._running = True
            self._sync()
            start = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
                self._sync()
            finally:  # a failed call's time (e.g. out of memory before a retry) stays the stage's
                self.seconds[stage] += time.perf_counter() - start
                self._running = False
            self.calls[stage] += 1  # completed calls: what the FLOPs count
            if stage in STAGE_CALLS:
                self._remember(stage, args, kwargs)
            return result

        return timed

    def _remember(self, stage: str, args: tuple, kwargs: dict) -> None:
        recorded = tuple(_record(a) for a in args), {k: _record(v) for k, v in kwargs.items()}
        key = (
            stage,
            tuple(map(_key, recorded[0])),
            tuple((k, _key(v)) for k, v in sorted(recorded[1].items())),
        )
        self.signatures.setdefault(key, CallRecord(*recorded)).count += 1

    @contextmanager
    def instrument(self, model):
        """Time ``model``'s stage calls and every ``DepthOutputs.write`` while the block runs."""
        from .io.depth_outputs import DepthOutputs

        wrapped = {}  # (module, method) -> what the instance had under that name (None: nothing)
        for stage, (name, method) in STAGE_CALLS.items():
            module = getattr(model, name)
            if module is not None and (module, method) not in wrapped:  # unet_interp may be the unet
                wrapped[module, method] = vars(module).get(method)
                setattr(module, method, self.wrap(stage, getattr(module, method)))
        write = DepthOutputs.write
        DepthOutputs.write = self.wrap("write", write)
        try:
            yield self
        finally:
            DepthOutputs.write = write
            for (module, method), before in wrapped.items():
                if before is None:
                    del module.__dict__[method]
                else:
                    module.__dict__[method] = before


def flop_counter() -> FlopCounterMode:
    """torch's FlopCounterMode, also counting the CPU's fused attention kernel (torch counts only the
    CUDA ones) with the formula torch uses for those."""

    def cpu_attention(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    cpu_op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    return FlopCounterMode(display=False, custom_mapping={cpu_op: cpu_attention})


def call_flops(fn: Callable, record: CallRecord) -> int:
    """FLOPs of one ``fn`` call with ``record``'s arguments; call it inside ``fake_tensors()`` with a
    fake module's method to count without compute."""

    def make(value):
        return torch.zeros(value.shape, dtype=value.dtype) if isinstance(value, TensorShape) else value

    args = tuple(make(a) for a in record.args)
    kwargs = {k: make(v) for k, v in record.kwargs.items()}
    with flop_counter() as counter:
        fn(*args, **kwargs)
    return counter.get_total_flops()


def stage_flops(model, profile: StageProfile) -> dict[str, int]:
    """FLOPs of every recorded stage call of ``profile``, summed per stage (counted on fake tensors)."""
    from .memory.estimate import ModelSpec
    from .memory.trace import fake_tensors

    spec = ModelSpec.from_model(model)
    totals: Counter = Counter()
    for (stage, *_), record in profile.signatures.items():
        module = spec.module(STAGE_CALLS[stage][0])  # built outside the fake mode
        with fake_tensors():
            flops = call_flops(getattr(module, STAGE_CALLS[stage][1]), record)
        totals[stage] += flops * record.count
    return dict(totals)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def achieved_gflops(op: Callable[[], object], flops: int, device: torch.device, seconds: float) -> float:
    """GFLOP/s of ``op`` (``flops`` each) repeated for about ``seconds`` after one warm-up call."""
    op()
    _sync(device)
    start, count = time.perf_counter(), 0
    while True:
        op()
        count += 1
        _sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return flops * count / elapsed / 1e9


def machine_peak(device: torch.device, dtype: torch.dtype, seconds: float = 1.0) -> dict:
    """The device's GFLOP/s in ``dtype`` on a large matmul and a 3x3 convolution (320 channels, the
    UNet's first stage), each timed for ``seconds``."""
    n = 8192 if device.type == "cuda" else 2048
    generator = torch.Generator(device).manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=generator, device=device).to(dtype)

    a, b = randn(n, n), randn(n, n)
    batch = 32 if device.type == "cuda" else 1
    x, w = randn(batch, 320, 64, 64), randn(320, 320, 3, 3)
    with torch.inference_mode():
        matmul = achieved_gflops(lambda: a @ b, 2 * n**3, device, seconds)
        conv_flops = 2 * batch * 64 * 64 * 320 * 320 * 9
        conv = achieved_gflops(
            lambda: torch.nn.functional.conv2d(x, w, padding=1), conv_flops, device, seconds
        )
    return {
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "matmul_gflops": matmul,
        "conv_gflops": conv,
    }


def stage_report(profile: StageProfile, flops: dict[str, int], total: float, frames: int, peak: float):
    """Per stage (and ``other`` = ``total`` minus the stages): calls, seconds, FLOPs, per output frame,
    and the achieved fraction of ``peak`` GFLOP/s."""
    report = {}
    for stage in (*STAGES, "other"):
        seconds = total - sum(profile.seconds.values()) if stage == "other" else profile.seconds[stage]
        count = flops.get(stage)
        rate = count / seconds / 1e9 if count and seconds > 0 else None
        report[stage] = {
            "calls": profile.calls[stage],
            "seconds": seconds,
            "seconds_per_frame": seconds / frames,
            "flops": count,
            "gflop_per_frame": count / frames / 1e9 if count is not None else None,
            "gflops": rate,
            "fraction_of_peak": rate / peak if rate is not None and peak else None,
        }
    return report


def format_stage_table(stages: dict, peak: dict | None = None, indent: str = "  ") -> str:
    """The per-stage report as an aligned text table."""
    total = sum(s["seconds_per_frame"] for s in stages.values())
    lines = [
        f"{indent}{'stage':<22}{'ms/frame':>10}{'share':>8}{'GFLOP/frame':>13}{'GFLOP/s':>10}{'of peak':>9}{'calls':>7}"
    ]
    for stage, s in stages.items():

        def num(value, fmt):
            return format(value, fmt) if value is not None else "-"

        share = s["seconds_per_frame"] / total if total > 0 else 0.0
        lines.append(
            f"{indent}{STAGE_LABELS.get(stage, stage):<22}{s['seconds_per_frame'] * 1000:>10.2f}{share:>8.1%}"
            f"{num(s['gflop_per_frame'], '.3f'):>13}{num(s['gflops'], '.1f'):>10}"
            f"{num(s['fraction_of_peak'], '.1%'):>9}{s['calls'] if stage != 'other' else '':>7}"
        )
    if peak:
        lines.append(
            f"{indent}peak ({peak['device']}, {peak['dtype']}): matmul {peak['matmul_gflops']:.1f} GFLOP/s, "
            f"3x3 conv {peak['conv_gflops']:.1f} GFLOP/s; 'of peak' is against the matmul"
        )
    return "\n".join(lines)
