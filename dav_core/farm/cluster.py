"""Ray for the farm: imported on demand, a local instance started or a cluster joined, workers placed.

A local instance (``--workers N`` alone) listens on 127.0.0.1 only; Ray's dashboard and its token
authentication stay as Ray sets them. ``--ray ADDRESS`` (``auto``: ``RAY_ADDRESS``) joins a running
cluster and uses what it offers: one worker per GPU, else one per node with its CPUs, ``--workers``
being an upper bound.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

logger = logging.getLogger(__name__)

RAY_INSTALL = 'pip install "comfyui-depth-any-video[ray]"'
# A worker process that dies (SIGKILL, a node lost) is started again and its tasks rerun there.
MAX_RESTARTS = 4
MAX_TASK_RETRIES = 4


def import_ray(option: str = "--workers"):
    """The ``ray`` module, or one line naming the install."""
    try:
        import ray
    except ImportError:
        raise ValueError(f"{option} needs Ray, which is not installed: {RAY_INSTALL}") from None
    return ray


@dataclass(frozen=True)
class Placement:
    """How many workers, and what each one holds: a GPU, or ``cpus`` cores (and as many torch threads)."""

    workers: int
    gpus: float
    cpus: int


def connect(workers: int | None, address: str | None):
    """Ray, started (local, on localhost) or joined (``address``); returns (ray, started here)."""
    ray = import_ray("--ray" if address and not workers else "--workers")
    if ray.is_initialized():  # a caller (a test, a notebook) already holds a cluster
        return ray, False
    if address:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        return ray, True
    ray.init(_node_ip_address="127.0.0.1", log_to_driver=False, configure_logging=False)
    return ray, True


def placement(ray, workers: int | None) -> Placement:
    """Workers for what the cluster offers: one per GPU, else the CPUs split between them (``workers``:
    the number asked for, an upper bound)."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        count = min(gpus, workers or gpus)
        cpus = max(1, int(resources.get("CPU", 1)) // count)
        return Placement(count, 1, min(cpus, _smallest_node_cpus(ray)))
    total = int(resources.get("CPU", 1))
    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU")]
    count = min(workers or len(nodes) or 1, total)
    return Placement(count, 0, max(1, min(total // count, _smallest_node_cpus(ray))))


def _smallest_node_cpus(ray) -> int:
    cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    cpus = [c for c in cpus if c > 0]
    return min(cpus) if cpus else os.cpu_count() or 1


def start_workers(ray, worker_class, place: Placement, *args) -> list:
    """``place.workers`` actors of ``worker_class(*args, threads)``, each restarted if its process dies."""
    remote = ray.remote(worker_class).options(
        num_gpus=place.gpus,
        num_cpus=place.cpus,
        max_restarts=MAX_RESTARTS,
        max_task_retries=MAX_TASK_RETRIES,
    )
    logger.info("%d workers, each with %s", place.workers, "a GPU" if place.gpus else f"{place.cpus} CPU cores")
    return [remote.remote(*args) for _ in range(place.workers)]
