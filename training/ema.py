"""Exponential moving average of a module's weights."""

from __future__ import annotations

import copy

import torch


class EMA:
    """Exponential moving average of a module's parameters (a full copy; buffers copied as they are)."""

    def __init__(self, module: torch.nn.Module, decay: float, warmup: bool = True):
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.decay, self.warmup, self.updates = decay, warmup, 0

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates)) if self.warmup else self.decay
        ema_params = list(self.module.parameters())
        params = [p.detach().to(e.dtype) for e, p in zip(ema_params, module.parameters(), strict=True)]
        torch._foreach_lerp_(ema_params, params, 1 - decay)
        for ema_b, b in zip(self.module.buffers(), module.buffers(), strict=True):
            ema_b.copy_(b)

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
