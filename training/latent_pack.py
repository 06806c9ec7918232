"""Latent packs: a dataset's filtered index and cached latents in one folder, without the pixels.

A pack moves training to another machine (a GPU box) for a fraction of the dataset's size: the filter
and the VAE encoder run once where the clips are, and the trainer reads the pack with
``data.latent_pack: DIR`` instead of ``data.dataset_dir``. Latents may be stored in float16 (half the
size; the trainer computes in float32) and clips may be cut to their first N frames per resolution.
The first ``--targets`` clips also carry their normalised disparity (16-bit PNG, frames stacked
vertically) for ``training.finetune_depth_decoder``.

    python -m training.latent_pack --config training/configs/tiny_v3.yaml --out pack \\
        --dtype float16 --limit 128x128=12 --targets 200

Layout: ``DIR/index.json`` (format, vae fingerprint, per clip: name, frames, height, width) and
``DIR/latents/<name>_<H>x<W>.safetensors`` with ``rgb`` and ``depth`` [T,4,h,w], and
``DIR/targets/<name>_<H>x<W>.png`` (uint16, [T*H,W], disparity in [0,1] times 65535) where present.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .data import ClipEntry, ClipIndex, LatentCache, clip_tensors

logger = logging.getLogger(__name__)

PACK_FORMAT = "dav-latent-pack"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _latent_name(name: str, height: int, width: int) -> str:
    return f"{name}_{height}x{width}.safetensors"


def _target_name(name: str, height: int, width: int) -> str:
    return f"{name}_{height}x{width}.png"


def write_target_png(target: torch.Tensor, path: Path) -> None:
    """Normalised disparity [T,H,W] in [-1,1] as a 16-bit PNG of the frames stacked vertically."""
    import cv2

    q = ((target.float().clamp(-1, 1) * 0.5 + 0.5) * 65535).round().to(torch.int32).numpy().astype(np.uint16)
    if not cv2.imwrite(str(path), q.reshape(-1, q.shape[-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write {path}")


def read_target_png(path: Path, height: int) -> torch.Tensor:
    """Inverse of :func:`write_target_png`: [T,H,W] in [-1,1] (float32)."""
    import cv2

    q = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if q is None or q.dtype != np.uint16:
        raise ValueError(f"{path} is not a 16-bit PNG of depth targets")
    return torch.from_numpy(q.astype(np.float32) / 65535 * 2 - 1).reshape(-1, height, q.shape[-1])


def write_pack(
    index: ClipIndex,
    cache: LatentCache,
    out: str | Path,
    *,
    dtype: torch.dtype = torch.float16,
    frame_limits: dict[tuple[int, int], int] | None = None,
    targets: int = 0,
) -> Path:
    """Copy the cached latents of ``index``'s clips into a pack at ``out`` (its index written last);
    the first ``targets`` clips also get their depth targets."""
    out = Path(out)
    if (out / "index.json").exists():
        raise FileExistsError(f"--out {out} already holds a latent pack; choose an empty folder")
    (out / "latents").mkdir(parents=True, exist_ok=True)
    (out / "targets").mkdir(exist_ok=True)
    limits = frame_limits or {}
    clips = []
    for entry in index.entries:
        frames = min(entry.frames, limits.get((entry.height, entry.width), entry.frames))
        wants_target = len(clips) < targets
        cached = cache.file(entry).exists()
        if wants_target or not cached:  # pixels read once, for the latents and the target alike
            rgb, depth = clip_tensors(entry.path, (entry.height, entry.width))  # [T,3,H,W], [T,H,W]
            rgb, depth = rgb[:frames], depth[:frames]
        # uncached clips: only the frames kept are encoded (the encoder is per frame); the cache is not filled
        latents = cache.load(entry) if cached else cache.encode(rgb, depth)
        cut = {k: v[:frames].to(dtype).contiguous() for k, v in latents.items()}  # [T,4,h,w]
        save_file(cut, str(out / "latents" / _latent_name(entry.path.name, entry.height, entry.width)))
        record = {"name": entry.path.name, "frames": frames, "height": entry.height, "width": entry.width}
        if wants_target:
            write_target_png(
                depth, out / "targets" / _target_name(entry.path.name, entry.height, entry.width)
            )
            record["target"] = True
        clips.append(record)
    record = {"format": PACK_FORMAT, "vae": cache.fingerprint, "clips": clips}
    tmp = out / "index.json.partial"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(out / "index.json")  # a pack without index.json is incomplete
    return out


def _read_index(root: Path) -> dict:
    index_file = root / "index.json"
    if not index_file.is_file():
        raise FileNotFoundError(f"data.latent_pack: {root} has no index.json (not a complete latent pack)")
    record = json.loads(index_file.read_text())
    if record.get("format") != PACK_FORMAT:
        raise ValueError(f"data.latent_pack: {index_file} is not a {PACK_FORMAT} index")
    return record


class PackIndex:
    """The clips of one or more latent packs (trained on together, in the order given), with the
    interface of :class:`ClipIndex` the trainer uses. An entry's ``path`` is ``<pack>/<clip name>``."""

    def __init__(self, pack_dirs: str | Path | list[str | Path]) -> None:
        roots = [Path(p) for p in ([pack_dirs] if isinstance(pack_dirs, str | Path) else pack_dirs)]
        if not roots:
            raise ValueError("data.latent_pack: no pack given")
        self.records = {root: _read_index(root) for root in roots}
        fingerprints = {str(r["vae"]) for r in self.records.values()}
        if len(fingerprints) != 1:
            raise ValueError(
                f"data.latent_pack: the packs were encoded by different VAEs {sorted(fingerprints)}"
            )
        self.vae_fingerprint = fingerprints.pop()
        self.entries = [
            ClipEntry(root / c["name"], int(c["frames"]), int(c["height"]), int(c["width"]))
            for root, record in self.records.items()
            for c in record["clips"]
        ]
        if not self.entries:
            raise ValueError(f"data.latent_pack: {[str(r) for r in roots]} hold no clips")
        self.rejected: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def targets(self) -> list[torch.Tensor]:
        """Normalised disparity [T,H,W] in [-1,1] of the clips that carry it."""
        return [
            read_target_png(root / "targets" / _target_name(c["name"], c["height"], c["width"]), c["height"])
            for root, record in self.records.items()
            for c in record["clips"]
            if c.get("target")
        ]


class PackLatents:
    """Loads a pack's latents as float32 (the :class:`LatentCache` interface of ``ClipDataset``)."""

    def __init__(self, index: PackIndex) -> None:
        self._held: dict[Path, dict[str, torch.Tensor]] = {}  # packs are small: each file is read once

    def load(self, entry: ClipEntry) -> dict[str, torch.Tensor]:
        file = entry.path.parent / "latents" / _latent_name(entry.path.name, entry.height, entry.width)
        if file not in self._held:  # held as float32: converted once, not per item
            self._held[file] = {k: v.float() for k, v in load_file(str(file)).items()}
        return self._held[file]


def _parse_limit(text: str) -> tuple[tuple[int, int], int]:
    try:
        size, frames = text.split("=")
        h, w = (int(v) for v in size.lower().split("x"))
        return (h, w), int(frames)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--limit must look like 128x128=12, got {text!r}") from None


def main(argv: list[str] | None = None) -> None:
    from .cli import config_parser, log_to_console, resolved_config
    from .models import build_vae

    parser = config_parser(
        "python -m training.latent_pack", __doc__, config_help="training config whose data and VAE to pack"
    )
    parser.add_argument("--out", required=True, help="new folder for the pack")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float16")
    parser.add_argument(
        "--limit",
        type=_parse_limit,
        action="append",
        default=[],
        help="HxW=N: clips at HxW keep their first N frames",
    )
    parser.add_argument("--targets", type=int, default=0, help="the first N clips also carry depth targets")
    args = parser.parse_args(argv)
    log_to_console()
    cfg = resolved_config(args)
    dcfg = cfg["data"]
    vae = build_vae(cfg)
    index = ClipIndex.from_config(dcfg, int(cfg["seed"]))
    cache = LatentCache(index.cache_dir, vae, int(dcfg.get("vae_chunk", 8)))  # used where already filled
    out = write_pack(
        index, cache, args.out, dtype=DTYPES[args.dtype], frame_limits=dict(args.limit), targets=args.targets
    )
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {len(index)} clips, {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
