"""Train a small ``AutoencoderKLTemporalDecoder`` (SVD's VAE class) on synthetic RGB and depth frames.

    python -m training.train_vae --config training/configs/vae_tiny.yaml [key=value ...]

Every step takes windows of ``data.num_frames`` consecutive frames from random clips; half of the windows
are RGB, half normalised disparity (3 replicated channels, as the depth model encodes it). Loss: L1 + L2
reconstruction + a small KL. The temporal decoder sees each window as one video (``num_frames``).
After training the latent ``scaling_factor`` is set to 1 / std of the posterior means, and the VAE is
written with ``save_pretrained`` to ``<output_dir>/vae`` (usable as ``model.vae_path`` of the trainer),
with reconstruction errors in ``metrics.json``.
"""

from __future__ import annotations

import logging
import sys
import time

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKLTemporalDecoder

from dav_core.models.vae import images_to_disparity

from .cli import config_parser, log_to_console, resolved_config
from .data import ClipIndex, clip_tensors
from .loop import LoopSchedule, run_steps
from .vae_run import SeededSteps, save_trained_vae, start_run

logger = logging.getLogger("training.vae")


def load_frames(cfg: dict) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(rgb [T,3,H,W] in [-1,1], disparity [T,H,W] in [-1,1]) per usable clip, at the configured size."""
    dcfg = cfg["data"]
    res = dcfg.get("resolution")
    index = ClipIndex(
        dcfg["dataset_dir"],
        use_filter=bool(dcfg.get("filter", False)),
        cache_dir=dcfg.get("cache_dir"),
        resolutions=[res] if res else None,
        seed=int(cfg["seed"]),
        min_frames=int(dcfg["num_frames"]),
    )
    return [clip_tensors(e.path, (e.height, e.width)) for e in index.entries]


def sample_batch(clips, count: int, frames: int, generator: torch.Generator) -> tuple[torch.Tensor, int]:
    """[count*frames,3,H,W]: ``count`` windows, the first half RGB, the rest depth; returns (x, n_rgb_windows)."""
    windows = []
    n_rgb = (count + 1) // 2
    for j in range(count):
        rgb, depth = clips[int(torch.randint(len(clips), (1,), generator=generator))]
        start = int(torch.randint(rgb.shape[0] - frames + 1, (1,), generator=generator))
        if j < n_rgb:
            windows.append(rgb[start : start + frames])
        else:
            windows.append(depth[start : start + frames, None].expand(-1, 3, -1, -1))
    return torch.cat(windows), n_rgb


def vae_loss(vae, x: torch.Tensor, frames: int, lcfg: dict, generator: torch.Generator):
    posterior = vae.encode(x).latent_dist
    z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=generator)
    recon = vae.decode(z, num_frames=frames).sample
    l1, l2 = F.l1_loss(recon, x), F.mse_loss(recon, x)
    kl = posterior.kl().mean() / x[0].numel()  # per input element
    loss = (
        float(lcfg.get("l1", 1.0)) * l1 + float(lcfg.get("l2", 1.0)) * l2 + float(lcfg.get("kl", 1e-6)) * kl
    )
    return loss, {"l1": float(l1.detach()), "l2": float(l2.detach()), "kl": float(kl.detach())}


@torch.no_grad()
def evaluate(vae, clips, frames: int) -> dict:
    """Mean absolute reconstruction error (posterior mode): RGB in [0,1] units, disparity in [0,1] units."""
    vae.eval()
    rgb_err, dep_err, n = 0.0, 0.0, 0
    for rgb, depth in clips:
        usable = rgb.shape[0] - rgb.shape[0] % frames
        for s in range(0, usable, frames):
            x = rgb[s : s + frames]
            rec = vae.decode(vae.encode(x).latent_dist.mode(), num_frames=frames).sample
            rgb_err += float((rec.clamp(-1, 1) - x).abs().mean()) * 0.5
            d = depth[s : s + frames]
            rec_d = vae.decode(
                vae.encode(d[:, None].expand(-1, 3, -1, -1)).latent_dist.mode(), num_frames=frames
            ).sample
            dep_err += float((images_to_disparity(rec_d) - (d * 0.5 + 0.5)).abs().mean())
            n += 1
    vae.train()
    return {"rgb_l1": rgb_err / max(n, 1), "depth_l1": dep_err / max(n, 1), "windows": n}


@torch.no_grad()
def latent_scaling_factor(vae, clips, frames: int) -> float:
    means = []
    for rgb, depth in clips[:16]:
        means.append(vae.encode(rgb[:frames]).latent_dist.mean)
        means.append(vae.encode(depth[:frames, None].expand(-1, 3, -1, -1)).latent_dist.mean)
    return float(1.0 / torch.cat(means).std().clamp_min(1e-6))


def initial_vae(cfg: dict) -> AutoencoderKLTemporalDecoder:
    """The VAE of folder ``init_from``, else a new one of config ``vae``, in training mode."""
    if cfg.get("init_from"):
        vae = AutoencoderKLTemporalDecoder.from_pretrained(cfg["init_from"])
    else:
        vae = AutoencoderKLTemporalDecoder.from_config(dict(cfg["vae"]))
    return vae.train()


def train_vae(cfg: dict) -> dict:
    out, log = start_run(cfg, logger, "step %(step)d loss %(loss).4f (l1 %(l1).4f)")
    clips = load_frames(cfg)
    n_eval = min(int(cfg["data"].get("eval_clips", 1)), len(clips) - 1)
    train_clips, eval_clips = clips[: len(clips) - n_eval], clips[len(clips) - n_eval :]
    vae = initial_vae(cfg)
    ocfg, tcfg, lcfg = cfg["optim"], cfg["train"], cfg["loss"]
    optimizer = torch.optim.AdamW(
        vae.parameters(), lr=float(ocfg["lr"]), weight_decay=float(ocfg.get("weight_decay", 0))
    )
    frames, count = int(cfg["data"]["num_frames"]), int(cfg["data"]["windows_per_batch"])

    def loss_of(generator: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        x, _ = sample_batch(train_clips, count, frames, generator)  # [count*frames,3,H,W]
        return vae_loss(vae, x, frames, lcfg, generator)

    steps = SeededSteps(
        "vae",
        int(cfg["seed"]),
        loss_of,
        optimizer,
        list(vae.parameters()),
        float(ocfg.get("max_grad_norm", 1.0)),
    )
    before = evaluate(vae, eval_clips, frames)
    logger.info("before training: %s", before)
    start = time.time()
    schedule = LoopSchedule.from_train_config(tcfg, int(tcfg["steps"]), checkpoints=False)
    run_steps(steps, schedule, log, start)
    vae.eval()
    vae.register_to_config(scaling_factor=latent_scaling_factor(vae, train_clips, frames))
    after = evaluate(vae, eval_clips, frames)
    metrics = {
        "steps": steps.step,
        "seconds": time.time() - start,
        "before": before,
        "after": after,
        "scaling_factor": vae.config.scaling_factor,
    }
    save_trained_vae(vae, out, metrics, log)
    logger.info("held-out reconstruction after training: %s; saved %s", after, out / "vae")
    return metrics


def main(argv: list[str] | None = None) -> dict:
    args = config_parser("python -m training.train_vae", __doc__).parse_args(argv)
    log_to_console()
    return train_vae(resolved_config(args))


if __name__ == "__main__":
    main(sys.argv[1:])
