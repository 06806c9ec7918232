"""The farm's worker: one process holding the model once, computing parts of shots on request.

Each method reads the frames it needs from the source itself (a file source pickles as its path and
selection, and is opened again here), runs one stage function of :mod:`dav_core.stages`, and returns
the result with the seconds it took. Noise comes from generators seeded by (seed, stage, pass or window
index), so a part gives the same numbers on whichever worker runs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch

from ..decoding import decode_chunk
from ..longvideo.reader import LatentReader
from ..longvideo.windows import block_latents
from ..run import ResolvedRun, resolve_run
from ..stages import encode_and_solve_keyframes, stream_depth, window_rgb


class DepthWorker:
    """``load_model()`` runs once, here; ``threads``: torch's CPU threads in this process (None: as set)."""

    def __init__(self, load_model: Callable, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.model = load_model()

    def pid(self) -> int:
        return os.getpid()

    def model_identity(self) -> tuple[str, torch.dtype]:
        """What the job identity records of the model: (source, dtype)."""
        return str(self.model.source), self.model.dtype

    def resolve(self, settings, num_frames, frame_size, kept_sizes, names) -> ResolvedRun:
        """The run resolved for this worker's model and device (memory fitted here)."""
        return resolve_run(
            self.model, settings, num_frames, frame_size, kept_sizes=kept_sizes, names=names
        )

    @torch.inference_mode()
    def whole(self, source, run: ResolvedRun, skip) -> tuple[list, float]:
        """A shot of one window: every frame not in ``skip`` as (index, disparity [H,W])."""
        start = time.perf_counter()
        frames = [(f.index, f.disparity) for f in stream_depth(self.model, source, run, skip_frames=skip)]
        return frames, time.perf_counter() - start

    @torch.inference_mode()
    def keyframes(self, source, run: ResolvedRun) -> tuple[tuple[dict, dict], float]:
        """The keyframes encoded and solved, pass after pass: ({frame: video latent}, {frame: depth latent})."""
        start = time.perf_counter()
        result = encode_and_solve_keyframes(self.model, source, run)
        return result, time.perf_counter() - start

    @torch.inference_mode()
    def windows(self, source, run: ResolvedRun, key_rgb: dict, key_depth: dict, group: list[int]):
        """One block of interpolation windows: {frame: weighted depth latent [4,h,w]} to add in order."""
        start = time.perf_counter()
        plan, settings = run.plan, run.settings
        wanted = {f for i in group for f in plan.windows[i].frames} - set(plan.keyframes)
        reader = LatentReader(self.model, source, run.geometry, settings.chunk_size, wanted)
        block = block_latents(
            self.model, plan, settings, key_depth, lambda w: window_rgb(reader, key_rgb, w), group
        )
        return block, time.perf_counter() - start

    @torch.inference_mode()
    def decode(self, stack: torch.Tensor, first: int) -> tuple[torch.Tensor, float]:
        """One decode chunk: depth latents [n,4,h,w] -> disparity [n,ph,pw]."""
        start = time.perf_counter()
        return decode_chunk(self.model, stack, first), time.perf_counter() - start
