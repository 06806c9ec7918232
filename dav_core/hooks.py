"""Progress and cancellation hooks accepted by every pipeline stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class Cancelled(Exception):
    """Raised inside a stage when the caller's ``should_cancel`` returns True."""


@dataclass(frozen=True)
class Hooks:
    """``on_progress(done, total)`` is called as work advances (units chosen by the stage: UNet
    frame-passes, VAE chunks); ``should_cancel()`` is polled between UNet and VAE calls, and a True
    answer raises :class:`Cancelled` (a caller may also raise its own exception from it)."""

    on_progress: Callable[[int, int], None] | None = None
    should_cancel: Callable[[], bool] | None = None

    def check_cancel(self) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise Cancelled()

    def progress(self, total: int) -> Progress:
        """A counter of ``total`` units reporting to these hooks."""
        return Progress(self, total)


NO_HOOKS = Hooks()


class Progress:
    """Counts work done for one stage; ``advance(n)`` reports it and then polls for cancellation."""

    def __init__(self, hooks: Hooks, total: int):
        self.hooks, self.total, self.done = hooks, max(1, total), 0

    def advance(self, amount: int) -> None:
        self.done += amount
        if self.hooks.on_progress is not None:
            self.hooks.on_progress(self.done, self.total)
        self.hooks.check_cancel()

    def shrink(self, amount: int) -> None:
        """Drop ``amount`` units that will not be done (a resumed run skips them)."""
        self.total = max(1, self.total - amount)
