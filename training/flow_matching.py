"""Conditional flow matching of depth latents: training sigmas, noisy inputs and velocity targets.

Convention (as dav_core.sampling / diffusers FlowMatchEuler): x_sigma = sigma * noise + (1 - sigma) * x0,
timestep = sigma * num_train_timesteps, target v = noise - x0.
"""

from __future__ import annotations

import torch

from dav_core.sampling import flow_match_sigmas


def sample_sigmas(
    batch: int, flow_cfg: dict, scheduler_config: dict, generator: torch.Generator
) -> torch.Tensor:
    """Training sigmas [B] in (0,1].

    ``logit_normal`` (default): sigmoid(N(mean, std)); ``uniform``: U(0,1). With probability
    ``p_inference_sigmas`` a sigma is instead one of the sigmas the 1..``inference_steps``-step Euler
    samplers visit (1 included), so the few-step trajectory is trained directly.
    """
    kind = flow_cfg.get("sigma_sampling", "logit_normal")
    if kind == "logit_normal":
        normal = torch.randn(batch, generator=generator) * float(flow_cfg.get("logit_std", 1.0))
        sigmas = torch.sigmoid(normal + float(flow_cfg.get("logit_mean", 0.0)))
    elif kind == "uniform":
        sigmas = torch.rand(batch, generator=generator)
    else:
        raise ValueError(f"flow.sigma_sampling must be logit_normal or uniform, got {kind!r}")
    p = float(flow_cfg.get("p_inference_sigmas", 0.0))
    if p > 0:
        steps = int(flow_cfg.get("inference_steps", 3))
        table = torch.cat([flow_match_sigmas(n, scheduler_config)[:-1] for n in range(1, steps + 1)])
        pick = table[torch.randint(0, len(table), (batch,), generator=generator)]
        use = torch.rand(batch, generator=generator) < p
        sigmas = torch.where(use, pick, sigmas)
    return sigmas.clamp(1e-4, 1.0)


def flow_matching_inputs(x0: torch.Tensor, sigmas: torch.Tensor, noise: torch.Tensor):
    """Noisy latents x_sigma and the velocity target v = noise - x0 (x0, noise [B,F,C,h,w]; sigmas [B])."""
    s = sigmas.view(-1, 1, 1, 1, 1).to(x0)
    return s * noise + (1 - s) * x0, noise - x0
