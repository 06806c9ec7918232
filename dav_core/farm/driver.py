"""The farm's driver: shots through one queue of tasks on the workers, frames written here in order.

Per shot: the run is resolved on a worker (its model, its device's memory), the output folder is opened
under the one contract (identity, resume, lock), then the keyframe passes run in order on one worker, and
the shot's blocks of interpolation windows and its decode chunks spread over all workers. The driver adds
the blocks' weighted latents in plan order and the decoded chunks in chunk order, exactly as
:func:`dav_core.stages.stream_depth` does in one process, and writes each frame through the shot's
:class:`~dav_core.io.depth_outputs.DepthOutputs` as soon as it is final: shot-wide values (the png16
range, the preview) are computed by the writers after the last frame, as in one process. Writing stays
on the driver. Tasks of all shots share one queue (decode chunks first, then resolves and keyframes,
then windows), so the keyframe chain of the next shot runs while the windows of the last one fill the
other workers.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..io.depth_outputs import DepthOutputs
from ..job import OutputSpec, open_outputs, plate_size, recorded_settings, to_storage_size
from ..longvideo.sources import FrameSource
from ..longvideo.windows import add_block
from ..run import ResolvedRun
from ..settings import LongVideoSettings
from ..stages import remaining_schedule
from .cluster import connect, placement, start_workers
from .worker import DepthWorker

logger = logging.getLogger(__name__)

# task priorities: lower runs first
_DECODE, _START, _WINDOWS = 0, 1, 2


@dataclass
class ShotJob:
    """One shot: its name, its frames (None when the input could not be opened: ``error`` says why) and
    where it is written."""

    name: str
    source: FrameSource | None
    output: OutputSpec
    error: str | None = None


@dataclass
class ShotResult:
    name: str
    output: str
    num_frames: int
    computed: int
    seconds: float
    error: str | None = None


@dataclass
class StageTimes:
    """Seconds summed over the workers (keyframes, windows, decode, whole short shots) and on the driver
    (write)."""

    keyframes: float = 0.0
    windows: float = 0.0
    decode: float = 0.0
    whole: float = 0.0
    write: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return dict(vars(self))


class Farm:
    """Workers holding the model, on a local Ray instance or a joined cluster (see :mod:`.cluster`).

    ``load_model``: a picklable callable returning the model, run once in each worker; ``threads``: torch
    CPU threads per worker (default: the cores each worker holds).
    """

    def __init__(self, load_model: Callable, workers: int | None = None, address: str | None = None,
                 threads: int | None = None) -> None:  # fmt: skip
        self.ray, self.started = connect(workers, address)
        try:
            self.placement = placement(self.ray, workers)
            threads = threads or (None if self.placement.gpus else self.placement.cpus)
            self.actors = start_workers(self.ray, DepthWorker, self.placement, load_model, threads)
            self.model_identity = self.ray.get(self.actors[0].model_identity.remote())
        except BaseException:
            self.close()
            raise

    def pids(self) -> list[int]:
        return self.ray.get([a.pid.remote() for a in self.actors])

    def close(self) -> None:
        for actor in getattr(self, "actors", []):
            self.ray.kill(actor)
        self.actors = []
        if self.started:
            self.ray.shutdown()
            self.started = False

    def __enter__(self) -> Farm:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(
        self,
        jobs: list[ShotJob],
        settings: LongVideoSettings,
        formats: tuple[str, ...],
        names: Mapping[str, str],
        on_frames: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
        on_shot: Callable[[ShotResult], None] | None = None,
    ) -> tuple[list[ShotResult], StageTimes]:
        """Every shot of ``jobs`` written; a shot that fails is reported in its result while the others go
        on. ``on_frames(n)``: n more frames written; ``on_total(n)``: the frames to compute changed by n
        (frames kept on resume); ``on_shot``: a shot finished or failed."""
        queue = _Queue(self.ray, self.actors)
        times = StageTimes()
        model = _ModelIdentity(*self.model_identity)
        shots = [_Shot(job, queue, times, settings, formats, names, model, on_frames, on_total) for job in jobs]
        results: dict[int, ShotResult] = {}

        def finish(index: int, shot: _Shot) -> None:
            results[index] = shot.result()
            if on_shot is not None:
                on_shot(results[index])

        try:
            for index, shot in enumerate(shots):
                shot.start()
                if shot.finished:
                    finish(index, shot)
            while queue.busy():
                shot = queue.step()
                index = shots.index(shot)
                if shot.finished and index not in results:
                    finish(index, shot)
        except BaseException:  # an interrupt: frames written stay, each manifest says incomplete
            for shot in shots:
                if shot.outputs is not None and not shot.finished:
                    shot.outputs.abort()
            raise
        return [results[i] for i in range(len(shots))], times


@dataclass
class _ModelIdentity:  # what job_identity reads of a model
    source: str
    dtype: object


class _Queue:
    """Tasks waiting for a free worker, by priority then order; a worker runs one task at a time."""

    def __init__(self, ray, actors) -> None:
        self.ray, self.idle = ray, list(actors)
        self.waiting: list = []
        self.running: dict = {}  # ObjectRef -> (actor, shot, on_done)
        self.order = itertools.count()

    def submit(self, priority: int, shot: _Shot, call: Callable, on_done: Callable) -> None:
        """``call(actor)`` -> ObjectRef, run when a worker is free; ``on_done(result)`` then."""
        heapq.heappush(self.waiting, (priority, next(self.order), shot, call, on_done))

    def busy(self) -> bool:
        return bool(self.waiting or self.running)

    def step(self) -> _Shot:
        """Start waiting tasks on free workers, wait for one task to end and hand its result on."""
        while self.waiting and self.idle:
            _, _, shot, call, on_done = heapq.heappop(self.waiting)
            if shot.finished:  # a failed shot's remaining tasks are dropped
                continue
            actor = self.idle.pop(0)
            self.running[call(actor)] = (actor, shot, on_done)
        if not self.running:
            raise RuntimeError("no worker is left to run the remaining tasks")
        (ref,), _ = self.ray.wait(list(self.running), num_returns=1)
        actor, shot, on_done = self.running.pop(ref)
        try:
            result = self.ray.get(ref)
        except Exception as error:  # noqa: BLE001 - the task's error fails its shot only
            if isinstance(error, self.ray.exceptions.RayActorError):
                logger.warning("a worker was lost for good: %s", _one_line(error))
            else:
                self.idle.append(actor)
            shot.fail(error)
            return shot
        self.idle.append(actor)
        if not shot.finished:
            try:
                on_done(result)
            except Exception as error:  # noqa: BLE001 - writing or planning failed: this shot only
                shot.fail(error)
        return shot


class _Shot:
    """One shot's state: resolved, keyframes solved, blocks and decode chunks in flight, frames written."""

    def __init__(self, job, queue, times, settings, formats, names, model, on_frames, on_total) -> None:
        self.job, self.queue, self.times = job, queue, times
        self.settings, self.formats, self.names, self.model = settings, formats, names, model
        self.on_frames, self.on_total = on_frames or (lambda n: None), on_total or (lambda n: None)
        self.outputs: DepthOutputs | None = None
        self.finished, self.error = False, job.error
        self.computed, self.began = 0, time.perf_counter()
        self.seconds = 0.0

    # ------------------------------------------------------------------ stages, each a task's follow-up

    def start(self) -> None:
        if self.error is not None:
            self._end()
            return
        source = self.job.source
        kept = recorded_settings(self.job.output)
        self.queue.submit(
            _START,
            self,
            lambda a: a.resolve.remote(self.settings, source.num_frames, source.frame_size, kept, self.names),
            self._resolved,
        )

    def _resolved(self, run: ResolvedRun) -> None:
        self.run = run
        self.outputs, self.numbers, skip = open_outputs(
            self.job.source, run, self.model, self.job.output, self.formats, self.names
        )
        self.size = plate_size(getattr(self.job.source, "plate", None))  # the plate's own size (H, W) or None
        self.on_total(-len(skip))
        if len(skip) == run.num_frames:
            self._close()
            return
        source = self.job.source
        if run.plan.is_single_window:
            self.queue.submit(_START, self, lambda a: a.whole.remote(source, run, skip), self._whole)
            return
        self.schedule = remaining_schedule(None, run, frozenset(skip))
        self.queue.submit(_START, self, lambda a: a.keyframes.remote(source, run), self._keyframes)

    def _whole(self, result) -> None:
        frames, seconds = result
        self.times.whole += seconds
        for index, disparity in frames:
            self._write(index, disparity)
        self._close()

    def _keyframes(self, result) -> None:
        (key_rgb, key_depth), seconds = result
        self.times.keyframes += seconds
        ray, plan = self.queue.ray, self.run.plan
        rgb_ref, depth_ref = ray.put(key_rgb), ray.put(key_depth)
        self.blended = {f: key_depth[f] for f in plan.keyframes}
        self.release = plan.release_schedule()
        self.final_upto = len(self.release[0])  # frames 0..final_upto-1 have final latents
        self.done_window = -1
        self.blocks: dict[int, dict] = {}  # block number -> its weighted latents, until added in order
        self.next_block = 0
        self.decodes: list[list] = []  # [chunk index, disparity or None], in chunk order
        self._decode_ready()
        source, run = self.job.source, self.run
        for number, group in enumerate(self.schedule.groups):
            self.queue.submit(
                _WINDOWS,
                self,
                lambda a, group=group: a.windows.remote(source, run, rgb_ref, depth_ref, group),
                lambda result, number=number: self._block(number, result),
            )
        self._maybe_done()

    def _block(self, number: int, result) -> None:
        block, seconds = result
        self.times.windows += seconds
        self.blocks[number] = block
        groups, release = self.schedule.groups, self.release
        while self.next_block in self.blocks:  # blocks are added in plan order, as in one process
            group = groups[self.next_block]
            add_block(self.blended, self.blocks.pop(self.next_block))
            self.next_block += 1
            # skipped windows release their frames too
            self.final_upto += sum(len(release[i + 1]) for i in range(self.done_window + 1, group[-1] + 1))
            self.done_window = group[-1]
        if self.next_block == len(groups):
            windows = len(self.run.plan.windows)
            self.final_upto += sum(len(release[i + 1]) for i in range(self.done_window + 1, windows))
            self.done_window = windows - 1
        self._decode_ready()
        self._maybe_done()

    def _decode_ready(self) -> None:
        decoder = self.schedule.decoder
        for index, stack in decoder.ready(self.blended, self.final_upto):
            entry = [index, None]
            self.decodes.append(entry)
            first = decoder.plan.chunks[index].start
            self.queue.submit(
                _DECODE,
                self,
                lambda a, stack=stack, first=first: a.decode.remote(stack, first),
                lambda result, entry=entry: self._decoded(entry, result),
            )
        for f in [f for f in self.blended if f < decoder.oldest_needed]:
            del self.blended[f]
        self._emit()

    def _decoded(self, entry: list, result) -> None:
        entry[1], seconds = result
        self.times.decode += seconds
        self._emit()
        self._maybe_done()

    def _emit(self) -> None:
        """Add decoded chunks in chunk order and write the frames they finish."""
        decoder = self.schedule.decoder
        while self.decodes and self.decodes[0][1] is not None:
            index, disparity = self.decodes.pop(0)
            decoder.add(index, disparity)
        for f, disparity in decoder.finished():
            self._write(f, disparity.numpy())

    def _maybe_done(self) -> None:
        if self.next_block == len(self.schedule.groups) and not self.decodes:
            if self.schedule.decoder.next_frame != self.run.num_frames:
                raise RuntimeError(
                    f"internal error: wrote {self.schedule.decoder.next_frame} of {self.run.num_frames} frames"
                )
            self._close()

    # ------------------------------------------------------------------ the outputs

    def _write(self, index: int, disparity) -> None:
        start = time.perf_counter()
        self.outputs.write(self.numbers[index], to_storage_size(disparity, self.size))
        self.times.write += time.perf_counter() - start
        self.computed += 1
        self.on_frames(1)

    def _close(self) -> None:
        start = time.perf_counter()
        self.outputs.close()
        self.times.write += time.perf_counter() - start
        self._end()

    def fail(self, error: BaseException) -> None:
        if self.finished:
            return
        self.error = _one_line(error)
        if self.outputs is not None:
            self.outputs.abort()
        self._end()

    def _end(self) -> None:
        self.finished = True
        self.seconds = time.perf_counter() - self.began

    def result(self) -> ShotResult:
        source = self.job.source
        return ShotResult(
            self.job.name,
            str(self.job.output.folder),
            source.num_frames if source is not None else 0,
            self.computed,
            self.seconds,
            self.error,
        )


def _one_line(error: BaseException) -> str:
    """A task's error on one line: the cause raised in the worker, not Ray's traceback."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        error = cause
    return " ".join(str(error).split()) or type(error).__name__
