"""Flow-matching Euler sampling, as diffusers' FlowMatchEulerDiscreteScheduler does it.

sigma runs from 1 (pure noise) to 0 (data); the UNet gets timestep = sigma * num_train_timesteps and
predicts the velocity v; one Euler step is x <- x + (sigma_next - sigma) * v.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def flow_match_sigmas(num_steps: int, scheduler_config: dict) -> torch.Tensor:
    """Sigmas [num_steps+1] (last is 0) for a FlowMatchEulerDiscreteScheduler config.

    Same values as diffusers' ``set_timesteps``: a linear ramp from sigma_max to the training
    schedule's smallest sigma, with the static ``shift`` applied.
    """
    if num_steps < 1:
        raise ValueError(f"steps must be >= 1, got {num_steps}")
    if scheduler_config.get("use_dynamic_shifting"):
        raise ValueError(
            "scheduler configs with use_dynamic_shifting=true are not supported (DAV uses a static shift)"
        )
    train_steps = int(scheduler_config.get("num_train_timesteps", 1000))
    shift = float(scheduler_config.get("shift", 1.0))

    def shifted(s):
        return shift * s / (1 + (shift - 1) * s)

    sigma_max, sigma_min = shifted(1.0), shifted(1.0 / train_steps)
    sigmas = shifted(np.linspace(sigma_max, sigma_min, num_steps))  # float64, like diffusers
    return torch.cat([torch.from_numpy(sigmas).float(), torch.zeros(1)])  # [S+1]


def timesteps_for(sigmas: torch.Tensor, scheduler_config: dict) -> torch.Tensor:
    """UNet timesteps [S] for sigmas [S+1]."""
    return sigmas[:-1] * float(scheduler_config.get("num_train_timesteps", 1000))


def euler_sample(
    velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    noise: torch.Tensor,
    sigmas: torch.Tensor,
    timesteps: torch.Tensor,
    on_step: Callable[[int, torch.Tensor], torch.Tensor | None] | None = None,
) -> torch.Tensor:
    """Integrate dx/dsigma = v from sigma=1 to 0 with Euler steps (state kept in float32).

    ``velocity(x, t)`` returns v for state x at timestep t. ``on_step(i, x)`` runs before step i
    and may return a replacement state (used to pin known latents along the trajectory).
    """
    x = noise.float()
    for i, t in enumerate(timesteps):
        if on_step is not None:
            replaced = on_step(i, x)
            x = x if replaced is None else replaced
        v = velocity(x, t).float()
        x = x + (sigmas[i + 1] - sigmas[i]) * v
    return x


def make_noise(
    shape: tuple[int, ...], generator: torch.Generator, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Standard normal noise drawn on the generator's device and moved to ``device`` (same on CPU and GPU)."""
    return torch.randn(shape, generator=generator, device=generator.device).to(device)


def stage_generator(seed: int, stage: int, index: int) -> torch.Generator:
    """Independent noise stream per (stage, index) so any window can be recomputed alone (resume).

    Stage 0 index 0 (the first keyframe pass) uses ``seed`` itself, as the single-window path does.
    """
    if stage == 0 and index == 0:
        return torch.Generator().manual_seed(seed)
    state = np.random.SeedSequence([seed, stage, index]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
