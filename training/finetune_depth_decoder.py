"""Fine-tune a VAE's decoder on depth, with its encoder frozen.

    python -m training.finetune_depth_decoder --config training/configs/decoder_v3.yaml [key=value ...]

The depth model only ever decodes depth, and the decoder bounds its accuracy: exact depth encoded and
decoded again already has an AbsRel of its own (far pixels, whose disparity is near 0, suffer most).
With the encoder and ``scaling_factor`` unchanged, every latent the UNets learned from (and every latent
cache) stays valid, so the decoder can be retrained alone and swapped into a bundle
(``python -m training.export SOURCE OUT --vae <output_dir>/vae``).

Each step decodes windows of ``data.num_frames`` consecutive frames (one video each for the temporal
decoder) from posterior samples of their latents. Loss: L1 of the disparity in [0,1] divided by
``(target + loss.relative)`` (times ``loss.relative``: weight 1 at the far end), which tracks the relative
depth error that AbsRel measures, plus 0.2 times plain L1.
"""

from __future__ import annotations

import logging
import sys
import time

import torch
from diffusers import AutoencoderKLTemporalDecoder

from dav_core.models.vae import images_to_disparity

from .cli import config_parser, log_to_console, resolved_config
from .data import ClipIndex, clip_tensors
from .distributed import training_device
from .latent_pack import PackIndex
from .loop import LoopSchedule, run_steps
from .models import build_vae
from .vae_run import SeededSteps, save_trained_vae, start_run

logger = logging.getLogger("training.decoder")


def load_depth_windows(cfg: dict) -> list[torch.Tensor]:
    """Normalised disparity [T,H,W] in [-1,1] per usable clip, at the training resolution drawn per clip
    (or the targets of ``data.latent_pack``)."""
    dcfg = cfg["data"]
    if dcfg.get("latent_pack"):
        clips = [t for t in PackIndex(dcfg["latent_pack"]).targets() if t.shape[0] >= int(dcfg["num_frames"])]
        if not clips:
            raise ValueError(
                f"data.latent_pack {dcfg['latent_pack']} has no depth targets of {dcfg['num_frames']}+ frames"
            )
        return clips[: dcfg.get("max_clips") or len(clips)]
    index = ClipIndex.from_config(dcfg, int(cfg["seed"]), min_frames=int(dcfg["num_frames"]))
    entries = index.entries[: dcfg.get("max_clips") or len(index.entries)]
    return [clip_tensors(e.path, (e.height, e.width))[1] for e in entries]


def relative_l1(recon: torch.Tensor, target: torch.Tensor, relative: float) -> torch.Tensor:
    """Decoded images [N,3,H,W] against normalised disparity [N,H,W], both mapped to [0,1]."""
    pred = recon.mean(dim=1) * 0.5 + 0.5
    gt = target * 0.5 + 0.5
    err = (pred - gt).abs()
    return (err / (gt + relative)).mean() * relative + 0.2 * err.mean()


def sample_windows(clips, count: int, frames: int, generator: torch.Generator) -> list[torch.Tensor]:
    """``count`` windows [frames,H,W] of random clips (one resolution per call: that of the first clip)."""
    first = int(torch.randint(len(clips), (1,), generator=generator))
    size = clips[first].shape[-2:]
    same = [c for c in clips if c.shape[-2:] == size]
    out = []
    for _ in range(count):
        clip = same[int(torch.randint(len(same), (1,), generator=generator))]
        start = int(torch.randint(clip.shape[0] - frames + 1, (1,), generator=generator))
        out.append(clip[start : start + frames])
    return out


@torch.no_grad()
def depth_l1(vae, clips, frames: int) -> float:
    """Mean |decoded - exact| disparity in [0,1] units (posterior mode), over whole windows."""
    err, n = 0.0, 0
    for depth in clips:
        for s in range(0, depth.shape[0] - frames + 1, frames):
            d = depth[s : s + frames].to(vae.device)
            z = vae.encode(d[:, None].expand(-1, 3, -1, -1)).latent_dist.mode()
            rec = vae.decode(z, num_frames=frames).sample
            err += float((images_to_disparity(rec) - (d * 0.5 + 0.5)).abs().mean())
            n += 1
    return err / max(n, 1)


def decoder_loss(
    vae: AutoencoderKLTemporalDecoder,
    windows: torch.Tensor,
    frames: int,
    relative: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """:func:`relative_l1` of ``windows`` [N,H,W] (N/frames videos) decoded from posterior samples of
    their latents (the encoder without gradients)."""
    with torch.no_grad():
        posterior = vae.encode(windows[:, None].expand(-1, 3, -1, -1)).latent_dist
        noise = torch.randn(posterior.mean.shape, generator=generator).to(windows.device)
        z = posterior.mean + posterior.std * noise  # [N,4,h,w]
    recon = vae.decode(z, num_frames=frames).sample  # [N,3,H,W]
    return relative_l1(recon, windows, relative)


def vae_with_trainable_decoder(cfg: dict, device: torch.device) -> AutoencoderKLTemporalDecoder:
    """The config's VAE on ``device``: encoder frozen, decoder trainable and in training mode."""
    vae: AutoencoderKLTemporalDecoder = build_vae(cfg).to(device)
    vae.requires_grad_(False)
    vae.decoder.requires_grad_(True).train()
    return vae


def finetune_decoder(cfg: dict) -> dict:
    tcfg, ocfg, dcfg = cfg["train"], cfg["optim"], cfg["data"]
    out, log = start_run(cfg, logger, "step %(step)d loss %(loss).4f")
    started = time.time()
    clips = load_depth_windows(cfg)
    n_eval = min(int(dcfg.get("eval_clips", 8)), len(clips) // 4)
    train_clips, eval_clips = clips[n_eval:], clips[:n_eval]
    device = training_device(tcfg.get("device", "auto"))
    vae = vae_with_trainable_decoder(cfg, device)
    params = [p for p in vae.decoder.parameters() if p.requires_grad]
    lr, warmup = float(ocfg["lr"]), int(ocfg.get("warmup_steps", 0))
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=float(ocfg.get("weight_decay", 0)))
    frames, count = int(dcfg["num_frames"]), int(dcfg["windows_per_batch"])
    relative = float(cfg["loss"].get("relative", 0.05))

    def loss_of(generator: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        windows = torch.cat(sample_windows(train_clips, count, frames, generator)).to(device)  # [N,H,W]
        return decoder_loss(vae, windows, frames, relative, generator), {}

    steps = SeededSteps(
        "decoder",
        int(cfg["seed"]),
        loss_of,
        optimizer,
        params,
        float(ocfg.get("max_grad_norm", 1.0)),
        lr_at=lambda step: lr * min(1.0, step / max(1, warmup)),  # a trained decoder is easily knocked off
    )
    before = depth_l1(vae, eval_clips, frames)
    logger.info("%d clips (%d held out); held-out depth L1 before: %.4f", len(clips), n_eval, before)
    run_steps(
        steps, LoopSchedule.from_train_config(tcfg, int(tcfg["steps"]), checkpoints=False), log, started
    )
    vae.eval().requires_grad_(False)
    after = depth_l1(vae, eval_clips, frames)
    metrics = {
        "steps": steps.step,
        "seconds": time.time() - started,
        "depth_l1_before": before,
        "depth_l1_after": after,
    }
    save_trained_vae(vae, out, metrics, log)
    logger.info("held-out depth L1 %.4f -> %.4f; saved %s", before, after, out / "vae")
    return metrics


def main(argv: list[str] | None = None) -> dict:
    args = config_parser("python -m training.finetune_depth_decoder", __doc__).parse_args(argv)
    log_to_console()
    return finetune_decoder(resolved_config(args))


if __name__ == "__main__":
    main(sys.argv[1:])
