"""Training data over synthetic clip folders: filtered index, per-clip targets, latent cache, packing sampler.

- :class:`ClipIndex` lists the clips of a dataset folder, runs ``ClipFilter`` once per clip and caches the
  decisions (JSON keyed by clip name, meta.json mtime/size and the filter settings).
- Each clip gets one training resolution (the configured one closest in aspect ratio; the clip's own
  size when none is configured), centre-cropped to that aspect and resized.
- Targets are Marigold-normalised disparity over the whole clip, in [-1,1] (near = 1, invalid = -1).
- :class:`LatentCache` stores the frozen VAE's latents of every frame of a clip (RGB and depth), so
  training reads latents instead of pixels; the per-frame encoder makes this exact.
- :class:`PackedBatchSampler` draws, per epoch, a frame count K for every clip and packs clips of the
  same resolution and the same K into batches (batch size per resolution); DDP ranks get disjoint shares.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from dav_core.normalization import depth_to_disparity, normalize_depth
from dav_core.synthetic import clip_dirs, load_clip, load_meta

from .frames import sample_frame_indices, sample_window

logger = logging.getLogger(__name__)


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (stable across processes and Python versions)."""
    digest = hashlib.sha256(",".join(str(int(p)) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


# ------------------------------------------------------------------------------------------- index


@dataclasses.dataclass(frozen=True)
class ClipEntry:
    path: Path
    frames: int
    height: int  # training resolution
    width: int


class ClipIndex:
    """The usable clips of a dataset folder and the training resolution of each."""

    def __init__(
        self,
        dataset_dir: str | Path,
        *,
        use_filter: bool = True,
        filter_kwargs: dict | None = None,
        cache_dir: str | Path | None = None,
        resolutions: list | None = None,
        seed: int = 0,
        min_frames: int = 1,
    ) -> None:
        self.dataset_dir = Path(dataset_dir)
        dirs = clip_dirs(self.dataset_dir)
        if not dirs:
            raise FileNotFoundError(f"no complete clips in {self.dataset_dir}")
        self.cache_dir = Path(cache_dir) if cache_dir else self.dataset_dir / ".dav_train_cache"
        self.rejected: dict[str, list[str]] = {}
        if use_filter:
            decisions = self._filter_decisions(dirs, filter_kwargs or {})
            self.rejected = {name: d["reasons"] for name, d in decisions.items() if not d["passed"]}
            dirs = [p for p in dirs if decisions[p.name]["passed"]]
        res_list = [_multiple_of_8(r) for r in resolutions] if resolutions else None
        entries = []
        for i, path in enumerate(dirs):
            meta = load_meta(path)
            frames, h, w = int(meta["frames"]), int(meta["height"]), int(meta["width"])
            if frames < min_frames:
                continue
            th, tw = (
                pick_resolution(h, w, res_list, mix_seed(seed, i)) if res_list else _multiple_of_8((h, w))
            )
            entries.append(ClipEntry(path, frames, th, tw))
        if not entries:
            raise ValueError(f"no clips of {self.dataset_dir} are usable (rejected: {self.rejected})")
        self.entries = entries
        logger.info("%d clips usable, %d rejected by the filter", len(entries), len(self.rejected))

    @classmethod
    def from_config(cls, dcfg: dict, seed: int, min_frames: int = 1) -> ClipIndex:
        """The index a training config's ``data`` section describes."""
        return cls(
            dcfg["dataset_dir"],
            use_filter=bool(dcfg.get("filter", True)),
            filter_kwargs=dcfg.get("filter_settings") or {},
            cache_dir=dcfg.get("cache_dir"),
            resolutions=dcfg.get("resolutions"),
            seed=seed,
            min_frames=min_frames,
        )

    def __len__(self) -> int:
        return len(self.entries)

    def _filter_decisions(self, dirs: list[Path], filter_kwargs: dict) -> dict[str, dict]:
        from dav_core.filtering import ClipFilter

        clip_filter = ClipFilter(**filter_kwargs)
        settings = json.dumps(dataclasses.asdict(clip_filter), sort_keys=True, default=str)
        cache_file = self.cache_dir / "filter_decisions.json"
        cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
        if cache.get("settings") != settings:
            cache = {"settings": settings, "clips": {}}
        changed = False
        out = {}
        for path in dirs:
            stat = (path / "meta.json").stat()
            stamp = f"{stat.st_mtime_ns}:{stat.st_size}"
            known = cache["clips"].get(path.name)
            if known is None or known.get("stamp") != stamp:
                clip = load_clip(path)
                depth = np.where(clip.valid, clip.depth, np.inf).astype(np.float32)
                report = clip_filter.check_clip(clip.rgb, depth)
                known = {"stamp": stamp, "passed": bool(report.passed), "reasons": list(report.reasons)}
                cache["clips"][path.name] = known
                changed = True
                if not report.passed:
                    logger.info("filter rejects %s: %s", path.name, "; ".join(report.messages))
            out[path.name] = known
        if changed:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".partial")
            tmp.write_text(json.dumps(cache, indent=1))
            tmp.replace(cache_file)
        return out


def _multiple_of_8(size) -> tuple[int, int]:
    h, w = (int(v) for v in size)
    return max(8, round(h / 8) * 8), max(8, round(w / 8) * 8)


def pick_resolution(h: int, w: int, resolutions: list[tuple[int, int]], seed: int) -> tuple[int, int]:
    """The configured resolution closest in aspect ratio; ties (same aspect) drawn by ``seed``."""
    errors = [abs(math.log((rh / rw) / (h / w))) for rh, rw in resolutions]
    best = min(errors)
    ties = [r for r, e in zip(resolutions, errors, strict=True) if e <= best + 1e-6]
    return tuple(random.Random(seed).choice(ties))


# ------------------------------------------------------------------------------------------- pixels


def clip_tensors(path: str | Path, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB [T,3,H,W] in [-1,1] and normalised disparity [T,H,W] in [-1,1] at ``size`` (crop + resize)."""
    clip = load_clip(path)
    rgb = torch.from_numpy(clip.rgb).permute(0, 3, 1, 2).float() / 127.5 - 1.0  # [T,3,H,W]
    valid = torch.from_numpy(clip.valid) & torch.from_numpy(clip.depth > 0)
    disparity = depth_to_disparity(torch.from_numpy(clip.depth), valid)
    target = normalize_depth(disparity, valid) if valid.any() else torch.full_like(disparity, -1.0)
    rgb, target = _crop_to_aspect(rgb, size), _crop_to_aspect(target[:, None], size)
    if rgb.shape[-2:] != tuple(size):
        rgb = F.interpolate(rgb, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(-1, 1)
        target = F.interpolate(target, size=size, mode="nearest-exact")
    return rgb, target[:, 0]


def _crop_to_aspect(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    h, w = x.shape[-2:]
    th, tw = size
    if h * tw > w * th:  # too tall
        ch = round(w * th / tw)
        top = (h - ch) // 2
        return x[..., top : top + ch, :]
    cw = round(h * tw / th)
    left = (w - cw) // 2
    return x[..., :, left : left + cw]


# ------------------------------------------------------------------------------------------- latents


def vae_fingerprint(vae: torch.nn.Module) -> str:
    """Short hash of the VAE's weights (cache key)."""
    h = hashlib.sha1()
    for name, tensor in sorted(vae.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class LatentCache:
    """Per-clip latents of every frame: ``rgb`` and ``depth`` [T,4,h,w] float32, one safetensors file each."""

    def __init__(self, cache_dir: str | Path, vae: torch.nn.Module, chunk: int = 8) -> None:
        self.fingerprint = vae_fingerprint(vae)
        self.root = Path(cache_dir) / f"latents_{self.fingerprint}"
        self.vae = vae
        self.chunk = chunk

    def file(self, entry: ClipEntry) -> Path:
        return self.root / f"{entry.path.name}_{entry.height}x{entry.width}.safetensors"

    @torch.no_grad()
    def encode(self, rgb: torch.Tensor, depth: torch.Tensor) -> dict[str, torch.Tensor]:
        """Latents ``rgb`` and ``depth`` [T,4,h,w] of frames [T,3,H,W] and normalised disparity [T,H,W]."""
        from dav_core.models.vae import encode_frames, encode_normalized_depth

        return {
            "rgb": encode_frames(self.vae, rgb, self.chunk).contiguous(),
            "depth": encode_normalized_depth(self.vae, depth, self.chunk).contiguous(),
        }

    def build(self, entries: list[ClipEntry]) -> int:
        """Encode every clip that is not cached yet; returns how many were encoded."""
        self.root.mkdir(parents=True, exist_ok=True)
        done = 0
        for entry in entries:
            target = self.file(entry)
            if target.exists():
                continue
            latents = self.encode(*clip_tensors(entry.path, (entry.height, entry.width)))
            tmp = target.with_name(target.name + ".partial")
            save_file(latents, str(tmp))
            tmp.replace(target)
            done += 1
        return done

    def load(self, entry: ClipEntry) -> dict[str, torch.Tensor]:
        return load_file(str(self.file(entry)))


# ------------------------------------------------------------------------------------------- dataset


class ClipDataset(torch.utils.data.Dataset):
    """Items are ``(clip_index, frames, seed)`` from :class:`PackedBatchSampler`.

    mode ``depth``: frame dropout (``frames`` of T frames, sorted original indices);
    mode ``interp``: a contiguous window of ``frames`` frames.
    Returns ``indices`` [K] plus ``rgb_latents``/``depth_latents`` [K,4,h,w] when a latent cache is
    given, else ``rgb`` [K,3,H,W] and ``depth`` [K,H,W] pixels in [-1,1].
    """

    def __init__(self, index: ClipIndex, mode: str = "depth", latent_cache: LatentCache | None = None):
        if mode not in ("depth", "interp"):
            raise ValueError(f"mode must be depth or interp, got {mode!r}")
        self.index, self.mode, self.latent_cache = index, mode, latent_cache

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: tuple[int, int, int]) -> dict[str, torch.Tensor]:
        clip_idx, frames, seed = item
        entry = self.index.entries[clip_idx]
        generator = torch.Generator().manual_seed(int(seed))
        if self.mode == "depth":
            indices = sample_frame_indices(entry.frames, frames, generator)
        else:
            indices = sample_window(entry.frames, frames, generator)
        out = {"indices": indices}
        if self.latent_cache is not None:
            latents = self.latent_cache.load(entry)
            out["rgb_latents"], out["depth_latents"] = latents["rgb"][indices], latents["depth"][indices]
        else:
            rgb, depth = clip_tensors(entry.path, (entry.height, entry.width))
            out["rgb"], out["depth"] = rgb[indices], depth[indices]
        if self.mode == "interp":
            out["indices"] = torch.arange(len(indices))  # windows are denoised with positions 0..L-1
        return out


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


# ------------------------------------------------------------------------------------------- sampler


class PackedBatchSampler(torch.utils.data.Sampler):
    """Video packing: every batch holds clips of one resolution and one frame count K.

    Per epoch each clip appears ``repeats`` times (once by default), each time with K drawn uniformly
    from ``[min_frames, min(max_frames, T)]`` and its own seed, so a small data set still fills large
    batches. Items are grouped by (resolution, K), shuffled, cut into batches of that resolution's batch size
    (the last batch of a group may be smaller unless ``drop_last``) and the batches shuffled. With
    several ranks, rank r takes batches r, r+W, ...; the list is padded by repeating batches so every
    rank gets the same number. ``start_batch`` skips the first batches of the epoch (resume).
    """

    def __init__(
        self,
        index: ClipIndex,
        batch_sizes: dict[tuple[int, int], int] | int,
        *,
        min_frames: int,
        max_frames: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        repeats: int = 1,
    ) -> None:
        if not 1 <= min_frames <= max_frames:
            raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"data.clip_repeats must be a whole number >= 1, got {repeats!r}")
        self.repeats = repeats
        self.index = index
        self.batch_sizes = batch_sizes
        self.min_frames, self.max_frames = min_frames, max_frames
        self.seed, self.rank, self.world_size, self.drop_last = seed, rank, world_size, drop_last
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def batch_size(self, resolution: tuple[int, int]) -> int:
        if isinstance(self.batch_sizes, int):
            return self.batch_sizes
        return self.batch_sizes[resolution]

    def all_batches(self) -> list[list[tuple[int, int, int]]]:
        """Every batch of the current epoch, over all ranks, in order."""
        rng = random.Random(mix_seed(self.seed, self.epoch, 17))
        groups: dict[tuple, list[tuple[int, int]]] = {}
        for i, entry in enumerate(self.index.entries):
            if entry.frames < self.min_frames:
                continue
            for repeat in range(self.repeats):
                k = rng.randint(self.min_frames, min(self.max_frames, entry.frames))
                groups.setdefault((entry.height, entry.width, k), []).append((i, repeat))
        batches = []
        for key in sorted(groups):
            members = groups[key]
            rng.shuffle(members)
            size = self.batch_size(key[:2])
            for start in range(0, len(members), size):
                chunk = members[start : start + size]
                if self.drop_last and len(chunk) < size:
                    continue
                batches.append([(i, key[2], self._item_seed(i, repeat)) for i, repeat in chunk])
        rng.shuffle(batches)
        if self.world_size > 1 and batches and len(batches) % self.world_size:
            pad = self.world_size - len(batches) % self.world_size
            batches += [batches[j % len(batches)] for j in range(pad)]
        return batches

    def _item_seed(self, clip: int, repeat: int) -> int:
        extra = (repeat,) if repeat else ()  # the first appearance keeps the seed of a single one
        return mix_seed(self.seed, self.epoch, clip, 29, *extra)

    def _mine(self) -> list[list[tuple[int, int, int]]]:
        return self.all_batches()[self.rank :: self.world_size]

    def __iter__(self):
        yield from self._mine()[self.start_batch :]

    def __len__(self) -> int:
        return len(self._mine())


def batch_sizes_for(resolutions: list | None, batch_sizes, entries: list[ClipEntry]) -> dict | int:
    """Map each training resolution to its batch size (``batch_sizes`` a number or a list parallel to resolutions)."""
    if isinstance(batch_sizes, int):
        return batch_sizes
    if not resolutions:
        if len(batch_sizes) != 1:
            raise ValueError("batch_sizes must be one number when no resolutions are configured")
        return int(batch_sizes[0])
    if len(batch_sizes) != len(resolutions):
        raise ValueError(f"{len(resolutions)} resolutions but {len(batch_sizes)} batch sizes")
    mapping = {_multiple_of_8(r): int(b) for r, b in zip(resolutions, batch_sizes, strict=True)}
    missing = {(e.height, e.width) for e in entries} - set(mapping)
    if missing:
        raise ValueError(f"no batch size for resolutions {sorted(missing)}")
    return mapping
