"""The farm's cost model: projected speed-up for W workers from one run's stage times.

Per shot, ``K`` is the keyframe stage (encode + the chain of passes; a short shot's single window too):
serial, on one worker. ``P`` is the interpolation windows (with their encode) plus the decode chunks:
spread over the workers. ``R`` is writing on the driver, overlapping the workers' compute. Then

    one process:         T1      = K + P + R
    one shot, W workers: T(W)    = K + max(P / W, R)
    many shots (S >= W): T(W)/S  = max((K + P) / W, R)     (other shots' windows hide each keyframe chain)

and the speed-up is ``T1 / T(W)``. Ray's start-up and each worker's model load are paid once per call
and left out; so is moving latents between processes (small: 4 channels at 1/8 of the frame size).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

WORKER_COUNTS = (1, 2, 4, 8, 16)


def stage_split(times: Mapping[str, float]) -> tuple[float, float, float]:
    """(serial per shot K, parallel P, driver writes R) from stage seconds (keyframes, windows, decode,
    whole, write)."""
    serial = times.get("keyframes", 0.0) + times.get("whole", 0.0)
    parallel = times.get("windows", 0.0) + times.get("decode", 0.0)
    return serial, parallel, times.get("write", 0.0)


def projected_speedup(times: Mapping[str, float], workers: int, many_shots: bool = False) -> float:
    """Speed-up over one process of ``workers`` workers (see the module doc)."""
    serial, parallel, write = stage_split(times)
    one_process = serial + parallel + write
    if many_shots:
        farm = max((serial + parallel) / workers, write)
    else:
        farm = serial + max(parallel / workers, write)
    return one_process / farm if farm > 0 else 1.0


def projection_table(times: Mapping[str, float], counts: Iterable[int] = WORKER_COUNTS) -> list[dict]:
    """Rows of (workers, speed-up for one shot, speed-up for many shots)."""
    return [
        {
            "workers": w,
            "one_shot": projected_speedup(times, w),
            "many_shots": projected_speedup(times, w, many_shots=True),
        }
        for w in counts
    ]
