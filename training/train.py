"""Depth Any Video trainer: conditional flow matching of video depth latents, then the interpolation UNet.

    python -m training.train --config training/configs/debug.yaml [key=value ...]
    torchrun --nproc_per_node 2 -m training.train --config ... (DDP; gloo on CPU, nccl on CUDA)

See training/README.md. Convention (as dav_core.sampling / diffusers FlowMatchEuler):
x_sigma = sigma * noise + (1 - sigma) * x0, timestep = sigma * num_train_timesteps, target v = noise - x0.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import math
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from diffusers import AutoencoderKLTemporalDecoder
from torch.nn.parallel import DistributedDataParallel

from dav_core.models.loading import (
    DEFAULT_SCHEDULER_CONFIG,
    DAVModel,
    load_dav_parts,
    save_bundle,
    save_folder,
)
from dav_core.models.unet import UNetSpatioTemporalRopeConditionModel
from dav_core.models.vae import encode_frames, encode_normalized_depth
from dav_core.sampling import flow_match_sigmas

from . import checkpoint_io
from .config import load_config, resolve
from .data import (
    ClipDataset,
    ClipIndex,
    LatentCache,
    PackedBatchSampler,
    batch_sizes_for,
    collate,
    mix_seed,
    vae_fingerprint,
)
from .device_batches import DeviceLatentBatches
from .distributed import barrier, collective_device, init_distributed, is_main, mean_across_ranks
from .frames import interp_condition
from .latent_pack import PackIndex, PackLatents
from .plot import plot_loss
from .surgery import make_interp_unet

logger = logging.getLogger("training")


# ------------------------------------------------------------------------------------------- flow matching


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


def per_rank_batch_sizes(sizes: dict | int, divisor: int) -> dict | int:
    """Global batch sizes (clips per optimizer step) -> clips per rank and micro-step (rounded up)."""
    if isinstance(sizes, int):
        return max(1, math.ceil(sizes / divisor))
    return {k: max(1, math.ceil(v / divisor)) for k, v in sizes.items()}


# ------------------------------------------------------------------------------------------- EMA


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


# ------------------------------------------------------------------------------------------- models


def build_vae(cfg: dict) -> AutoencoderKLTemporalDecoder:
    model_cfg = cfg["model"]
    path = model_cfg.get("vae_path") or model_cfg.get("pretrained")
    if path:
        path = Path(path)
        if (path / "config.json").is_file():
            vae = AutoencoderKLTemporalDecoder.from_pretrained(path)
        elif (path / "vae" / "config.json").is_file() and not (path / "unet").is_dir():
            vae = AutoencoderKLTemporalDecoder.from_pretrained(path / "vae")
        else:
            vae = load_dav_parts(path, components=("vae",))["vae"]
    else:
        torch.manual_seed(int(cfg["seed"]))
        vae = AutoencoderKLTemporalDecoder.from_config(model_cfg["vae"])
        logger.warning("no model.vae_path: using a randomly initialised VAE (only for smoke tests)")
    return vae.eval().requires_grad_(False)


def build_unet(
    cfg: dict,
) -> tuple[UNetSpatioTemporalRopeConditionModel, UNetSpatioTemporalRopeConditionModel | None]:
    model_cfg = cfg["model"]
    if model_cfg.get("pretrained"):
        loaded = load_dav_parts(model_cfg["pretrained"], components=("unet", "unet_interp"))
        return loaded["unet"], loaded.get("unet_interp")
    torch.manual_seed(int(cfg["seed"]))
    return UNetSpatioTemporalRopeConditionModel.from_config(dict(model_cfg["unet"])), None


# ------------------------------------------------------------------------------------------- trainer


class Trainer:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.started = time.time()  # the time budget counts data preparation too
        self.rank, self.world_size, local_rank = init_distributed()
        tcfg = cfg["train"]
        want = tcfg.get("device", "auto")
        if want == "auto":
            want = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(want)
        self.seed = int(cfg["seed"])
        self.out = Path(cfg["output_dir"])
        self.ckpt_dir = self.out / "checkpoints"
        if is_main():
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(_yaml_dump(cfg))
        self.scheduler_config = {**DEFAULT_SCHEDULER_CONFIG, **(cfg["model"].get("scheduler") or {})}
        self.depth_steps = int(tcfg["steps"]) if tcfg.get("steps") is not None else 0
        self.interp_steps = int(cfg["interp"].get("steps") or 0)
        self.accum = int(tcfg.get("grad_accum", 1))
        mp = tcfg.get("mixed_precision", "no")
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mp)
        if self.autocast_dtype is not None and self.device.type != "cuda":
            logger.warning("mixed_precision=%s is only used on CUDA; training in fp32 on %s", mp, self.device)
            self.autocast_dtype = None
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None

        self.vae = build_vae(cfg).to(self.device)
        unet, unet_interp = build_unet(cfg)
        self.unet = unet.to(self.device).train().requires_grad_(True)
        self.ema_unet = EMA(self.unet, float(cfg["ema"]["decay"]))
        self.unet_interp, self.ema_interp = None, None
        if (
            unet_interp is not None
            and self.interp_steps > 0
            and bool(cfg["interp"].get("from_pretrained", False))
        ):
            self.unet_interp = unet_interp.to(self.device).train().requires_grad_(True)
        torch.manual_seed(mix_seed(self.seed, self.rank, 3))

        dcfg = cfg["data"]
        self.device_batches: DeviceLatentBatches | None = None
        if is_main():  # rank 0 fills the filter and latent caches, the others then read them
            self._build_data(dcfg)
        barrier()
        if not is_main():
            self._build_data(dcfg)

        if tcfg.get("steps") is None:  # steps from epochs (of the depth phase's packed batches)
            self._make_loader("depth")
            self.depth_steps = int(tcfg["epochs"]) * math.ceil(len(self.sampler) / self.accum)
            logger.info("%s epochs = %d steps", tcfg["epochs"], self.depth_steps)
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.phase, self.model, self.optimizer, self.sampler, self.iterator = None, None, None, None, None
        self.history_start = 0
        self._resume()

    # ----------------------------------------------------------------------------- data

    def _build_data(self, dcfg: dict) -> None:
        if dcfg.get("latent_pack"):  # index and latents made elsewhere (python -m training.latent_pack)
            self.index = PackIndex(dcfg["latent_pack"])
            mine = vae_fingerprint(self.vae)
            if self.index.vae_fingerprint != mine:
                raise ValueError(
                    f"data.latent_pack {dcfg['latent_pack']} was encoded by VAE {self.index.vae_fingerprint}, "
                    f"but this config's VAE is {mine}: pack again with this VAE or set model.vae_path"
                )
            self.latent_cache = PackLatents(self.index)
            logger.info("%d clips from latent pack %s", len(self.index), dcfg["latent_pack"])
            if dcfg.get("pack_on_device", True):  # batches gathered where the model is, no DataLoader
                self.device_batches = DeviceLatentBatches(self.index, self.latent_cache, self.device)
                logger.info("latent pack on %s: %.1f MiB", self.device, self.device_batches.nbytes() / 2**20)
            return
        self.index = ClipIndex.from_config(dcfg, self.seed)
        self.latent_cache = None
        if dcfg.get("cache_latents", True):
            self.latent_cache = LatentCache(self.index.cache_dir, self.vae, int(dcfg.get("vae_chunk", 8)))
            if is_main():
                n = self.latent_cache.build(self.index.entries)
                if n:
                    logger.info("encoded latents of %d clips into %s", n, self.latent_cache.root)

    def _make_loader(self, phase: str) -> None:
        dcfg, icfg = self.cfg["data"], self.cfg["interp"]
        lo, hi = (
            (dcfg["min_frames"], dcfg["max_frames"])
            if phase == "depth"
            else (icfg["min_frames"], icfg["max_frames"])
        )
        sizes = batch_sizes_for(dcfg.get("resolutions"), dcfg["batch_sizes"], self.index.entries)
        if dcfg.get("batch_sizes_are_global", False):
            sizes = per_rank_batch_sizes(sizes, self.world_size * self.accum)
        self.sampler = PackedBatchSampler(
            self.index,
            sizes,
            min_frames=int(lo),
            max_frames=int(hi),
            seed=mix_seed(self.seed, phase == "interp"),
            rank=self.rank,
            world_size=self.world_size,
            drop_last=bool(dcfg.get("drop_last", False)),
            repeats=dcfg.get("clip_repeats", 1),
        )
        if len(self.sampler.all_batches()) == 0:
            raise ValueError(f"no {phase} batches: no clip has at least {lo} frames")
        self.dataset = ClipDataset(self.index, phase, self.latent_cache)
        self.loader_phase, self.iterator = phase, None

    def _next_batch(self) -> dict:
        while True:
            if self.iterator is None:
                self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
                if self.device_batches is not None:
                    phase, batches = self.loader_phase, self.device_batches
                    self.iterator = (batches.batch(items, phase) for items in self.sampler)
                else:
                    loader = torch.utils.data.DataLoader(
                        self.dataset,
                        batch_sampler=self.sampler,
                        collate_fn=collate,
                        num_workers=int(self.cfg["data"].get("num_workers", 0)),
                    )
                    self.iterator = iter(loader)
            try:
                batch = next(self.iterator)
                self.batch_in_epoch += 1
                return batch
            except StopIteration:
                self.epoch, self.batch_in_epoch, self.iterator = self.epoch + 1, 0, None

    @torch.no_grad()
    def _latents(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        if "rgb_latents" in batch:
            return batch["rgb_latents"].to(self.device), batch["depth_latents"].to(self.device)
        b, k = batch["rgb"].shape[:2]
        chunk = int(self.cfg["data"].get("vae_chunk", 8))
        rgb = encode_frames(self.vae, batch["rgb"].flatten(0, 1).to(self.device), chunk)
        depth = encode_normalized_depth(self.vae, batch["depth"].flatten(0, 1).to(self.device), chunk)
        return rgb.unflatten(0, (b, k)), depth.unflatten(0, (b, k))

    # ----------------------------------------------------------------------------- phases

    def _phase_at(self, step: int) -> str:
        return "depth" if step < self.depth_steps else "interp"

    def raw_unet(self) -> UNetSpatioTemporalRopeConditionModel:
        return self.unet_interp if self.phase == "interp" else self.unet

    def _ema(self) -> EMA:
        return self.ema_interp if self.phase == "interp" else self.ema_unet

    def _setup_phase(self, phase: str) -> None:
        tcfg, ocfg = self.cfg["train"], self.cfg["optim"]
        if phase == "interp":
            if self.unet_interp is None:
                self.unet_interp = make_interp_unet(self.ema_unet.module).train().requires_grad_(True)
            self.ema_interp = self.ema_interp or EMA(self.unet_interp, float(self.cfg["ema"]["decay"]))
            self.unet.requires_grad_(False).eval()
        self.phase = phase
        module = self.raw_unet()
        if tcfg.get("grad_checkpointing", False):
            module.enable_gradient_checkpointing()
        self.model = module
        if self.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(module, device_ids=ids)
        lr = float(ocfg["lr"] if phase == "depth" else self.cfg["interp"].get("lr") or ocfg["lr"])
        self.optimizer = torch.optim.AdamW(
            [p for p in module.parameters() if p.requires_grad],
            lr=lr,
            betas=tuple(ocfg.get("betas", (0.9, 0.999))),
            weight_decay=float(ocfg.get("weight_decay", 0.0)),
            **(
                {"fused": True} if self.device.type == "cuda" else {"foreach": True}
            ),  # fewer launches on GPUs
        )
        self.base_lr = lr
        self._make_loader(phase)

    def _lr_at(self, step: int) -> float:
        ocfg = self.cfg["optim"]
        start = 0 if self.phase == "depth" else self.depth_steps
        total = self.depth_steps if self.phase == "depth" else self.interp_steps
        s = step - start
        warmup = int(ocfg.get("warmup_steps", 0))
        if warmup and s < warmup:
            return self.base_lr * (s + 1) / warmup
        if ocfg.get("schedule", "constant") == "cosine":
            frac = (s - warmup) / max(1, total - warmup)
            floor = float(ocfg.get("min_lr_ratio", 0.1))
            return self.base_lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))
        return self.base_lr

    # ----------------------------------------------------------------------------- one step

    def loss_on(self, batch: dict, micro: int) -> torch.Tensor:
        rgb, x0 = self._latents(batch)  # [B,K,4,h,w]
        generator = torch.Generator().manual_seed(mix_seed(self.seed, self.step, micro, self.rank, 7))
        if self.device.type == "cuda":  # drawn where it is used: no host-to-device copy per step
            on_device = torch.Generator(self.device).manual_seed(
                mix_seed(self.seed, self.step, micro, self.rank, 8)
            )
            noise = torch.randn(x0.shape, generator=on_device, device=self.device)
        else:
            noise = torch.randn(x0.shape, generator=generator)
        sigmas = sample_sigmas(x0.shape[0], self.cfg["flow"], self.scheduler_config, generator).to(
            self.device
        )
        noisy, target = flow_matching_inputs(x0, sigmas, noise)
        parts = [noisy, rgb]
        if self.phase == "interp":
            parts += list(interp_condition(x0))
        timesteps = sigmas * float(self.scheduler_config["num_train_timesteps"])
        position_ids = batch["indices"].to(self.device)
        autocast = (
            torch.autocast(self.device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with autocast:
            pred = self.model(torch.cat(parts, dim=2), timesteps, position_ids=position_ids)
        return F.mse_loss(pred.float(), target.float())

    def train_step(self) -> float:
        module = self.raw_unet()
        lr = self._lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total = 0.0
        for micro in range(self.accum):
            batch = self._next_batch()
            sync = micro == self.accum - 1 or self.world_size == 1
            ctx = contextlib.nullcontext() if sync else self.model.no_sync()
            with ctx:
                loss = self.loss_on(batch, micro) / self.accum
                (self.scaler.scale(loss) if self.scaler else loss).backward()
            total += float(loss.detach())
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        max_norm = self.cfg["optim"].get("max_grad_norm")
        if max_norm:
            torch.nn.utils.clip_grad_norm_(module.parameters(), float(max_norm))
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._ema().update(module)
        self.step += 1
        return total

    # ----------------------------------------------------------------------------- loop

    def train(self) -> Trainer:
        tcfg = self.cfg["train"]
        total_steps = self.depth_steps + self.interp_steps
        budget = tcfg.get("time_budget_min")
        budget_s = float(budget) * 60 if budget else None
        log_every, ckpt_every = int(tcfg.get("log_every", 10)), int(tcfg.get("checkpoint_every", 0) or 0)
        start, last_log_t, window = self.started, time.time(), []
        stopped_by_budget = False
        while self.step < total_steps:
            phase = self._phase_at(self.step)
            if phase != self.phase:
                if self.phase is not None:
                    self.epoch, self.batch_in_epoch = 0, 0
                self._setup_phase(phase)
            loss = mean_across_ranks(self.train_step())
            window.append(loss)
            if self.step % log_every == 0 or self.step == total_steps:
                now = time.time()
                self._log(
                    {
                        "step": self.step,
                        "phase": self.phase,
                        "loss": sum(window) / len(window),
                        "lr": self._lr_at(self.step - 1),
                        "epoch": self.epoch,
                        "steps_per_s": len(window) / max(now - last_log_t, 1e-9),
                        "elapsed_s": now - start,
                    }
                )
                window, last_log_t = [], now
            if ckpt_every and self.step % ckpt_every == 0 and self.step < total_steps:
                self.save_checkpoint()
            if budget_s is not None and self._agree(time.time() - start > budget_s):
                stopped_by_budget = True
                logger.info(
                    "time budget of %s min reached at step %d: saving and stopping", budget, self.step
                )
                break
        self.save_checkpoint()
        if not stopped_by_budget:
            self.export(self.out / "final")
        elif tcfg.get("export_on_budget", True):
            self.export(self.out / "final")
        barrier()
        return self

    def _agree(self, flag: bool) -> bool:
        if not dist.is_initialized():
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=collective_device())
        dist.broadcast(t, 0)
        return bool(t.item())

    def _log(self, record: dict) -> None:
        if not is_main():
            return
        with open(self.out / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        logger.info("step %(step)d %(phase)s loss %(loss).4f lr %(lr).2e", record)

    # ----------------------------------------------------------------------------- checkpoints

    def dav_model(self) -> DAVModel:
        """The EMA weights as a DAV model.

        Interpolation UNet: its trained EMA; else the pretrained one (``interp.from_pretrained``, its phase
        not reached yet); else surgered from the depth EMA.
        """
        unet = copy.deepcopy(self.ema_unet.module).cpu().eval()
        if self.ema_interp is not None:
            interp = copy.deepcopy(self.ema_interp.module).cpu().eval()
        elif self.unet_interp is not None:
            interp = copy.deepcopy(self.unet_interp).cpu().eval()
        else:
            interp = make_interp_unet(unet).eval()
        for m in (unet, interp):
            if hasattr(m, "disable_gradient_checkpointing"):
                m.disable_gradient_checkpointing()
        return DAVModel(
            unet=unet,
            vae=copy.deepcopy(self.vae).cpu(),
            unet_interp=interp,
            scheduler_config=dict(self.scheduler_config),
        )

    def save_checkpoint(self) -> Path | None:
        if not is_main():
            barrier()
            return None
        final = self.ckpt_dir / f"step_{self.step:07d}"
        tmp = self.ckpt_dir / f".tmp-step_{self.step:07d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_folder(self.dav_model(), tmp / "model")
        state = {
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "phase": self.phase,
            "unet": self.unet.state_dict(),
            "ema_unet": self.ema_unet.state_dict(),
            "unet_interp": self.unet_interp.state_dict() if self.unet_interp is not None else None,
            "ema_interp": self.ema_interp.state_dict() if self.ema_interp is not None else None,
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "rng": checkpoint_io.rng_state(),
            "world_size": self.world_size,
        }
        checkpoint_io.save_state(state, tmp / "training_state.pt")
        shutil.rmtree(final, ignore_errors=True)
        tmp.replace(final)
        (self.ckpt_dir / "latest").write_text(final.name)
        keep = int(self.cfg["train"].get("keep_checkpoints", 2))
        old = sorted(p for p in self.ckpt_dir.glob("step_*") if p.is_dir())
        for p in old[: max(0, len(old) - keep)]:
            shutil.rmtree(p, ignore_errors=True)
        plot_loss(self.out / "log.jsonl", self.out / "loss.png")
        logger.info("saved checkpoint %s", final)
        barrier()
        return final

    def _resume(self) -> None:
        resume = self.cfg["train"].get("resume", "auto")
        path = None
        if resume == "auto":
            latest = self.ckpt_dir / "latest"
            if latest.is_file() and (self.ckpt_dir / latest.read_text().strip()).is_dir():
                path = self.ckpt_dir / latest.read_text().strip()
        elif resume:
            path = Path(resume)
        if path is None:
            if is_main() and (self.out / "log.jsonl").exists():
                (self.out / "log.jsonl").unlink()  # a fresh run starts a fresh curve
            return
        state = checkpoint_io.load_state(path / "training_state.pt")
        self.unet.load_state_dict(state["unet"])
        self.ema_unet.load_state_dict(state["ema_unet"])
        if state["unet_interp"] is not None:
            self.unet_interp = make_interp_unet(self.unet).to(self.device)
            self.unet_interp.load_state_dict(state["unet_interp"])
            self.unet_interp.train().requires_grad_(True)
            if state["ema_interp"] is not None:  # None: a pretrained one whose phase has not started
                self.ema_interp = EMA(self.unet_interp, float(self.cfg["ema"]["decay"]))
                self.ema_interp.load_state_dict(state["ema_interp"])
        self.step = int(state["step"])
        if state["phase"] is not None and self.step < self.depth_steps + self.interp_steps:
            self._setup_phase(state["phase"])
            if state["optimizer"] is not None and state["phase"] == self._phase_at(self.step):
                self.optimizer.load_state_dict(state["optimizer"])
                self.epoch, self.batch_in_epoch = int(state["epoch"]), int(state["batch_in_epoch"])
            else:
                self.epoch, self.batch_in_epoch = 0, 0
                self.phase = None  # the loop switches to the next phase
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        checkpoint_io.set_rng_state(state["rng"])
        log = self.out / "log.jsonl"
        if is_main() and log.exists():  # drop records written after the checkpoint
            lines = [
                ln
                for ln in log.read_text().splitlines()
                if ln.strip() and json.loads(ln)["step"] <= self.step
            ]
            log.write_text("".join(ln + "\n" for ln in lines))
        logger.info("resumed from %s at step %d", path, self.step)

    def export(self, folder: Path) -> None:
        if not is_main():
            return
        model = self.dav_model()
        model.processing_resolution = self.cfg.get("export", {}).get("processing_resolution")
        model.interpolation_window = self.cfg.get("export", {}).get("interpolation_window")
        save_folder(model, folder)
        bundle = self.cfg.get("export", {}).get("bundle")
        if bundle:
            save_bundle(model, self.out / bundle)
        plot_loss(self.out / "log.jsonl", self.out / "loss.png")
        logger.info("exported %s%s", folder, f" and {self.out / bundle}" if bundle else "")


def _yaml_dump(cfg: dict) -> str:
    import yaml

    return yaml.safe_dump(cfg, sort_keys=False)


def parse_args(argv: list[str] | None = None) -> tuple[dict, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="YAML config (may name a base_config)")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. train.steps=100")
    args = parser.parse_args(argv)
    return resolve(load_config(args.config, args.overrides)), args


def main(argv: list[str] | None = None) -> Trainer:
    cfg, _ = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if cfg["train"].get("threads"):
        torch.set_num_threads(int(cfg["train"]["threads"]))
    return Trainer(cfg).train()


if __name__ == "__main__":
    main(sys.argv[1:])
