"""Depth Any Video trainer: conditional flow matching of video depth latents, then the interpolation UNet.

    python -m training.train --config training/configs/debug.yaml [key=value ...]
    torchrun --nproc_per_node 2 -m training.train --config ... (DDP; gloo on CPU, nccl on CUDA)

See training/README.md; the flow-matching convention is in training/flow_matching.py.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from dav_core.models.loading import (
    DEFAULT_SCHEDULER_CONFIG,
    DAVModel,
    save_bundle,
    save_folder,
)
from dav_core.models.unet import UNetSpatioTemporalRopeConditionModel
from dav_core.models.vae import encode_frames, encode_normalized_depth

from . import checkpoint_io
from .cli import config_parser, log_to_console, resolved_config
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
from .distributed import (
    agree_with_rank0,
    barrier,
    init_distributed,
    is_main,
    mean_across_ranks,
    training_device,
)
from .ema import EMA
from .flow_matching import flow_matching_inputs, sample_sigmas
from .frames import interp_condition
from .latent_pack import PackIndex, PackLatents
from .loop import LoopSchedule, RunLog, apply_gradients, run_steps, set_lr
from .models import build_unet, build_vae
from .plot import plot_loss
from .surgery import make_interp_unet

logger = logging.getLogger("training")
LOG_MESSAGE = "step %(step)d %(phase)s loss %(loss).4f lr %(lr).2e"


# ------------------------------------------------------------------------------------------- batch sizes


def per_rank_batch_sizes(sizes: dict | int, divisor: int) -> dict | int:
    """Global batch sizes (clips per optimizer step) -> clips per rank and micro-step (rounded up)."""
    if isinstance(sizes, int):
        return max(1, math.ceil(sizes / divisor))
    return {k: max(1, math.ceil(v / divisor)) for k, v in sizes.items()}


# ------------------------------------------------------------------------------------------- trainer


class Trainer:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.started = time.time()  # the time budget counts data preparation too
        self.rank, self.world_size, local_rank = init_distributed()
        tcfg = cfg["train"]
        self.device = training_device(tcfg.get("device", "auto"), local_rank)
        self.seed = int(cfg["seed"])
        self.out = Path(cfg["output_dir"])
        self.ckpt_dir = self.out / "checkpoints"
        if is_main():
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(_yaml_dump(cfg))
        self.log = RunLog(self.out / "log.jsonl", logger, LOG_MESSAGE, enabled=is_main())
        self.scheduler_config = {**DEFAULT_SCHEDULER_CONFIG, **(cfg["model"].get("scheduler") or {})}
        self.depth_steps = int(tcfg["steps"]) if tcfg.get("steps") is not None else 0
        self.interp_steps = int(cfg["interp"].get("steps") or 0)
        self.accum = int(tcfg.get("grad_accum", 1))
        self._set_up_precision(tcfg.get("mixed_precision", "no"))
        self._build_models()
        torch.manual_seed(mix_seed(self.seed, self.rank, 3))

        self.device_batches: DeviceLatentBatches | None = None
        if is_main():  # rank 0 fills the filter and latent caches, the others then read them
            self._build_data(cfg["data"])
        barrier()
        if not is_main():
            self._build_data(cfg["data"])

        if tcfg.get("steps") is None:  # steps from epochs (of the depth phase's packed batches)
            self._make_loader("depth")
            self.depth_steps = int(tcfg["epochs"]) * math.ceil(len(self.sampler) / self.accum)
            logger.info("%s epochs = %d steps", tcfg["epochs"], self.depth_steps)
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.phase, self.model, self.optimizer, self.sampler, self.iterator = None, None, None, None, None
        self._resume()

    def _set_up_precision(self, mixed_precision: str) -> None:
        """Autocast dtype (CUDA only) and, for fp16, a gradient scaler."""
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mixed_precision)
        if self.autocast_dtype is not None and self.device.type != "cuda":
            logger.warning(
                "mixed_precision=%s is only used on CUDA; training in fp32 on %s",
                mixed_precision,
                self.device,
            )
            self.autocast_dtype = None
        self.scaler = torch.amp.GradScaler("cuda") if self.autocast_dtype == torch.float16 else None

    def _build_models(self) -> None:
        """The frozen VAE, the depth UNet and its EMA, and a pretrained interpolation UNet where
        ``interp.from_pretrained`` trains it on."""
        cfg = self.cfg
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
        """One optimizer step over ``train.grad_accum`` micro-batches; their summed (scaled) loss."""
        module = self.raw_unet()
        set_lr(self.optimizer, self._lr_at(self.step))
        total = 0.0
        for micro in range(self.accum):
            batch = self._next_batch()
            sync = micro == self.accum - 1 or self.world_size == 1
            ctx = contextlib.nullcontext() if sync else self.model.no_sync()
            with ctx:
                loss = self.loss_on(batch, micro) / self.accum
                (self.scaler.scale(loss) if self.scaler else loss).backward()
            total += float(loss.detach())
        max_norm = self.cfg["optim"].get("max_grad_norm")
        apply_gradients(self.optimizer, module.parameters(), max_norm or None, self.scaler)
        self._ema().update(module)
        self.step += 1
        return total

    # ----------------------------------------------------------------------------- loop (StepHooks)

    def advance(self) -> dict[str, float]:
        """One step of the phase ``step`` is in (set up on entering it); its loss averaged over ranks."""
        phase = self._phase_at(self.step)
        if phase != self.phase:
            if self.phase is not None:
                self.epoch, self.batch_in_epoch = 0, 0
            self._setup_phase(phase)
        return {"loss": mean_across_ranks(self.train_step())}

    def log_values(self, window: list[dict[str, float]], seconds: float) -> dict:
        return {
            "phase": self.phase,
            "loss": sum(r["loss"] for r in window) / len(window),
            "lr": self._lr_at(self.step - 1),
            "epoch": self.epoch,
            "steps_per_s": len(window) / max(seconds, 1e-9),
        }

    def train(self) -> Trainer:
        """Both phases to their last step (or the time budget), then a checkpoint and the export."""
        tcfg = self.cfg["train"]
        schedule = LoopSchedule.from_train_config(tcfg, self.depth_steps + self.interp_steps)
        stopped_by_budget = run_steps(self, schedule, self.log, self.started, agree=agree_with_rank0)
        self.save_checkpoint()
        if not stopped_by_budget or tcfg.get("export_on_budget", True):
            self.export(self.out / "final")
        barrier()
        return self

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
        """``checkpoints/step_XXXXXXX`` (rank 0): the EMA model in ``model/`` and ``training_state.pt``."""
        if not is_main():
            barrier()
            return None
        keep = int(self.cfg["train"].get("keep_checkpoints", 2))
        final = checkpoint_io.write_checkpoint(self.ckpt_dir, self.step, self._fill_checkpoint, keep)
        plot_loss(self.log.path, self.out / "loss.png")
        logger.info("saved checkpoint %s", final)
        barrier()
        return final

    def _fill_checkpoint(self, folder: Path) -> None:
        save_folder(self.dav_model(), folder / "model")
        checkpoint_io.save_state(self.training_state(), folder / "training_state.pt")

    def training_state(self) -> dict:
        """Raw and EMA weights, optimizer, scaler, position in the data and RNG states."""
        return {
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

    def _resume_path(self) -> Path | None:
        resume = self.cfg["train"].get("resume", "auto")
        if resume == "auto":
            return checkpoint_io.latest_checkpoint(self.ckpt_dir)
        return Path(resume) if resume else None

    def _resume(self) -> None:
        """Continue from ``train.resume`` (``auto``: the latest checkpoint, if any)."""
        path = self._resume_path()
        if path is None:
            self.log.start_fresh()  # a fresh run starts a fresh curve
            return
        state = checkpoint_io.load_state(path / "training_state.pt")
        self._load_weights(state)
        self.step = int(state["step"])
        if state["phase"] is not None and self.step < self.depth_steps + self.interp_steps:
            self._resume_phase(state)
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        checkpoint_io.set_rng_state(state["rng"])
        self.log.drop_after(self.step)  # records written after the checkpoint
        logger.info("resumed from %s at step %d", path, self.step)

    def _load_weights(self, state: dict) -> None:
        self.unet.load_state_dict(state["unet"])
        self.ema_unet.load_state_dict(state["ema_unet"])
        if state["unet_interp"] is not None:
            self.unet_interp = make_interp_unet(self.unet).to(self.device)
            self.unet_interp.load_state_dict(state["unet_interp"])
            self.unet_interp.train().requires_grad_(True)
            if state["ema_interp"] is not None:  # None: a pretrained one whose phase has not started
                self.ema_interp = EMA(self.unet_interp, float(self.cfg["ema"]["decay"]))
                self.ema_interp.load_state_dict(state["ema_interp"])

    def _resume_phase(self, state: dict) -> None:
        """The saved phase with its optimizer and place in the data; if the saved step ended it, nothing
        (the loop then enters the next phase)."""
        self._setup_phase(state["phase"])
        if state["optimizer"] is not None and state["phase"] == self._phase_at(self.step):
            self.optimizer.load_state_dict(state["optimizer"])
            self.epoch, self.batch_in_epoch = int(state["epoch"]), int(state["batch_in_epoch"])
        else:
            self.epoch, self.batch_in_epoch = 0, 0
            self.phase = None

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
        plot_loss(self.log.path, self.out / "loss.png")
        logger.info("exported %s%s", folder, f" and {self.out / bundle}" if bundle else "")


def _yaml_dump(cfg: dict) -> str:
    import yaml

    return yaml.safe_dump(cfg, sort_keys=False)


def parse_args(argv: list[str] | None = None) -> tuple[dict, argparse.Namespace]:
    args = config_parser("python -m training.train", __doc__).parse_args(argv)
    return resolved_config(args), args


def main(argv: list[str] | None = None) -> Trainer:
    cfg, _ = parse_args(argv)
    log_to_console()
    if cfg["train"].get("threads"):
        torch.set_num_threads(int(cfg["train"]["threads"]))
    return Trainer(cfg).train()


if __name__ == "__main__":
    main(sys.argv[1:])
