"""What the VAE trainer and the decoder fine-tune share: seeded steps on one loss, the run folder and
its log, and the trained VAE saved with its metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers import AutoencoderKLTemporalDecoder

from .data import mix_seed
from .loop import RunLog, apply_gradients, set_lr
from .plot import plot_loss

StepLoss = Callable[[torch.Generator], tuple[torch.Tensor, dict[str, float]]]


class SeededSteps:
    """Loop hooks of a run whose step n draws all its randomness from one generator seeded with
    ``mix_seed(seed, n)``: one loss (and its logged parts) per step, no accumulation, no checkpoints.

    ``lr_at(step)``, when given, sets the learning rate of each step (1-based).
    """

    def __init__(
        self,
        phase: str,
        seed: int,
        loss_of: StepLoss,
        optimizer: torch.optim.Optimizer,
        parameters: list[torch.nn.Parameter],
        max_grad_norm: float,
        lr_at: Callable[[int], float] | None = None,
    ) -> None:
        self.phase, self.seed, self.loss_of = phase, seed, loss_of
        self.optimizer, self.parameters, self.max_grad_norm = optimizer, parameters, max_grad_norm
        self.lr_at = lr_at
        self.step = 0

    def advance(self) -> dict[str, float]:
        self.step += 1
        generator = torch.Generator().manual_seed(mix_seed(self.seed, self.step))
        loss, parts = self.loss_of(generator)
        if self.lr_at is not None:
            set_lr(self.optimizer, self.lr_at(self.step))
        loss.backward()
        apply_gradients(self.optimizer, self.parameters, self.max_grad_norm)
        return {"loss": float(loss.detach()), **parts}

    def log_values(self, window: list[dict[str, float]], seconds: float) -> dict:
        return {"phase": self.phase, **window[-1]}  # the last step's losses

    def save_checkpoint(self) -> None:
        return None


def start_run(cfg: dict, echo: logging.Logger, message: str) -> tuple[Path, RunLog]:
    """Seed torch, set ``train.threads``, make ``output_dir`` and start its log afresh."""
    torch.manual_seed(int(cfg["seed"]))
    if cfg["train"].get("threads"):
        torch.set_num_threads(int(cfg["train"]["threads"]))
    out = Path(cfg["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    log = RunLog(out / "log.jsonl", echo, message)
    log.start_fresh()
    return out, log


def save_trained_vae(vae: AutoencoderKLTemporalDecoder, out: Path, metrics: dict, log: RunLog) -> None:
    """``out/vae`` (``save_pretrained``), ``out/metrics.json`` and the loss curve ``out/loss.png``."""
    vae.cpu().save_pretrained(out / "vae", safe_serialization=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    plot_loss(log.path, out / "loss.png")
