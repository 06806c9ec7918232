"""Measured peak memory of one stage call on the CPU: the check on the traced estimates.

Run in a fresh process (``measure`` starts ``python -m dav_core.memory.measure``): the stage's component
is built with random weights (every page touched, as loaded weights are), the call runs once as a
warm-up (library code paged in, oneDNN's kernels for these shapes made and cached: one-time state of a
run, ~8 MiB for the tiny UNet), the kernel's resident-set high-water mark is reset (Linux
``/proc/self/clear_refs``), the call runs again, and the rise of the high-water mark over the resident
set before it is the call's measured peak. It sees everything the call touched: tensors, allocator
slack and the kernels' own scratch memory, which the trace only models.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from .estimate import STAGE_COMPONENT, ModelSpec, component_bytes, stage_call

STATUS = Path("/proc/self/status")
# glibc otherwise raises its mmap threshold as tensors are freed and keeps later ones in per-thread heaps:
# the same call then peaks anywhere from 107 to 295 MiB (full-size VAE decode, 2 frames at 128x128).
# Blocks over 64 KiB mapped and unmapped at once make the high-water mark what the call needs (130 MiB
# in four runs out of four).
GLIBC_RETURN_FREED = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def _status_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.M).group(1))


def random_component(spec: ModelSpec, name: str) -> nn.Module:
    """A component of ``spec`` with random weights on the CPU (every page touched, as loaded weights are)."""
    from ..models.random_init import random_component as build

    return build(name, json.loads(getattr(spec, name)), spec.dtype)


def measure_here(
    spec: ModelSpec, stage: str, n: int, size: tuple[int, int], length: int = 8, threads: int = 1
):
    """Measure in this process (fresh, Linux): {"weights": bytes, "activations": bytes}."""
    torch.set_num_threads(threads)
    name = STAGE_COMPONENT[stage]
    module = random_component(spec, name)
    generator = torch.Generator().manual_seed(1)

    def make(*shape):
        return torch.randn(*shape, generator=generator)

    call = stage_call(module, stage, n, size, length, make)
    with torch.inference_mode():
        call()  # warm-up: library code paged in, oneDNN's kernels for these shapes made and cached
        before = _status_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident set
        call()
        peak = _status_kib("VmHWM")
    return {"weights": component_bytes(spec, name), "activations": (peak - before) * 1024}


def measure(spec: ModelSpec, stage: str, n: int, size: tuple[int, int], length: int = 8, threads: int = 1):
    """:func:`measure_here` in a fresh Python process (so earlier allocations do not hide the peak)."""
    configs = {k: getattr(spec, k) for k in spec.components}
    args = {
        "configs": configs,
        "dtype": str(spec.dtype).removeprefix("torch."),
        "stage": stage,
        "n": n,
        "size": list(size),
        "length": length,
        "threads": threads,
    }
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, **GLIBC_RETURN_FREED}
    done = subprocess.run(
        [sys.executable, "-m", "dav_core.memory.measure", json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"measuring {stage} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", help="JSON: configs, dtype, stage, n, size, length, threads")
    job = json.loads(parser.parse_args().job)
    configs = {k: json.loads(v) for k, v in job["configs"].items()}
    spec = ModelSpec.from_configs(configs, getattr(torch, job["dtype"]))
    result = measure_here(spec, job["stage"], job["n"], tuple(job["size"]), job["length"], job["threads"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
