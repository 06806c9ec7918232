"""The optimizer-step loop every trainer runs: steps until done or out of time, with logs and checkpoints.

What differs between the depth/interpolation trainer, the VAE trainer and the decoder fine-tune is in
their :class:`StepHooks`: how one step is taken, what a log record holds, what a checkpoint is.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

logger = logging.getLogger(__name__)


class StepHooks(Protocol):
    step: int  # optimizer steps taken

    def advance(self) -> dict[str, float]:
        """Take one optimizer step (``step`` + 1); its losses, ``loss`` first."""

    def log_values(self, window: list[dict[str, float]], seconds: float) -> dict:
        """A log record's values (between ``step`` and ``elapsed_s``) for the steps of ``window``,
        taken in ``seconds``."""

    def save_checkpoint(self) -> object: ...


@dataclass
class LoopSchedule:
    total_steps: int
    log_every: int = 10  # and the last step
    checkpoint_every: int = 0  # 0: none (the last step is the caller's)
    time_budget_min: float | None = None  # counted from the ``started`` given to run_steps

    @classmethod
    def from_train_config(cls, tcfg: dict, total_steps: int, checkpoints: bool = True) -> LoopSchedule:
        return cls(
            total_steps=total_steps,
            log_every=int(tcfg.get("log_every", 10)),
            checkpoint_every=int(tcfg.get("checkpoint_every", 0) or 0) if checkpoints else 0,
            time_budget_min=tcfg.get("time_budget_min"),
        )

    def logs_at(self, step: int) -> bool:
        return step % self.log_every == 0 or step == self.total_steps

    def checkpoints_at(self, step: int) -> bool:
        return bool(self.checkpoint_every) and step % self.checkpoint_every == 0 and step < self.total_steps


class RunLog:
    """A run's ``log.jsonl``: one JSON record per logged step, echoed to ``echo`` as ``message`` % record.
    Written only where ``enabled`` (rank 0 of a distributed run)."""

    def __init__(self, path: Path, echo: logging.Logger, message: str, enabled: bool = True) -> None:
        self.path, self.echo, self.message, self.enabled = Path(path), echo, message, enabled

    def start_fresh(self) -> None:
        if self.enabled:
            self.path.unlink(missing_ok=True)

    def drop_after(self, step: int) -> None:
        """Forget the records of steps after ``step`` (written after the checkpoint a run resumes from)."""
        if not (self.enabled and self.path.exists()):
            return
        lines = [
            ln for ln in self.path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step
        ]
        self.path.write_text("".join(ln + "\n" for ln in lines))

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.echo.info(self.message, record)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def apply_gradients(
    optimizer: torch.optim.Optimizer,
    parameters: Iterable[torch.nn.Parameter],
    max_grad_norm: float | None,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Clip the gradients to ``max_grad_norm`` (None: not clipped), step and zero them (unscaled first
    and stepped through ``scaler`` under fp16)."""
    if scaler:
        scaler.unscale_(optimizer)
    if max_grad_norm is not None:
        torch.nn.utils.clip_grad_norm_(parameters, float(max_grad_norm))
    if scaler:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def run_steps(
    hooks: StepHooks,
    schedule: LoopSchedule,
    log: RunLog,
    started: float,
    agree: Callable[[bool], bool] = bool,
) -> bool:
    """Step ``hooks`` from its ``step`` to ``schedule.total_steps``; True when the time budget stopped it.

    ``agree`` makes the ranks of a distributed run take rank 0's decision to stop.
    """
    budget = schedule.time_budget_min
    budget_s = float(budget) * 60 if budget else None
    window: list[dict[str, float]] = []
    last_log = time.time()
    while hooks.step < schedule.total_steps:
        window.append(hooks.advance())
        step = hooks.step
        if schedule.logs_at(step):
            now = time.time()
            log.write({"step": step, **hooks.log_values(window, now - last_log), "elapsed_s": now - started})
            window, last_log = [], now
        if schedule.checkpoints_at(step):
            hooks.save_checkpoint()
        if budget_s is not None and agree(time.time() - started > budget_s):
            logger.info("time budget of %s min reached at step %d: stopping", budget, step)
            return True
    return False
