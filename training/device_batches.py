"""Training batches gathered on the training device from latent packs held there whole.

The per-item path (``ClipDataset`` + ``collate`` in a ``DataLoader``) indexes every clip's latents on
the CPU, stacks them and copies the batch to the device each step. With a latent pack (a few tens of
MiB) the whole pack fits on the device instead: every frame of every clip at one resolution sits in one
tensor, and a batch is one ``index_select`` there. The frames chosen are exactly those of the per-item
path (same per-item seeds), so the two give the same batches.
"""

from __future__ import annotations

import torch

from .frames import sample_frame_indices, sample_window
from .latent_pack import PackIndex, PackLatents


class DeviceLatentBatches:
    """Every clip's ``rgb`` and ``depth`` latents on ``device``, concatenated per resolution.

    ``batch(items, mode)`` takes one batch of :class:`training.data.PackedBatchSampler` (items
    ``(clip_index, frames, seed)`` of one resolution and one frame count) and returns what
    ``collate(ClipDataset(...)[item] for item in items)`` returns, already on the device.
    """

    def __init__(self, index: PackIndex, latents: PackLatents, device: torch.device | str) -> None:
        self.index, self.device = index, torch.device(device)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, entry in enumerate(index.entries):
            by_size.setdefault((entry.height, entry.width), []).append(i)
        self.rgb: dict[tuple[int, int], torch.Tensor] = {}  # [frames of all clips,4,h,w]
        self.depth: dict[tuple[int, int], torch.Tensor] = {}
        self.first_row = torch.zeros(len(index.entries), dtype=torch.long)  # a clip's first row in its tensor
        for size, clips in by_size.items():
            rgb, depth, row = [], [], 0
            for i in clips:
                clip = latents.load(index.entries[i])  # [T,4,h,w] each
                frames = index.entries[i].frames
                if clip["rgb"].shape[0] < frames or clip["depth"].shape[0] < frames:
                    raise ValueError(
                        f"latent pack clip {index.entries[i].path} holds fewer than {frames} frames"
                    )
                rgb.append(clip["rgb"][:frames])
                depth.append(clip["depth"][:frames])
                self.first_row[i] = row
                row += frames
            self.rgb[size] = torch.cat(rgb).to(self.device)
            self.depth[size] = torch.cat(depth).to(self.device)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.rgb.values(), *self.depth.values()))

    def batch(self, items: list[tuple[int, int, int]], mode: str) -> dict[str, torch.Tensor]:
        """``indices`` [B,K] (RoPE positions) and ``rgb_latents`` / ``depth_latents`` [B,K,4,h,w]."""
        if mode not in ("depth", "interp"):
            raise ValueError(f"mode must be depth or interp, got {mode!r}")
        entries = [self.index.entries[clip] for clip, _, _ in items]
        sizes = {(e.height, e.width) for e in entries}
        if len(sizes) != 1:
            raise ValueError(f"a packed batch holds one resolution, got {sorted(sizes)}")
        size = sizes.pop()
        choose = sample_frame_indices if mode == "depth" else sample_window
        frames = torch.stack(  # [B,K] frame indices within each clip, as ClipDataset draws them
            [
                choose(entry.frames, k, torch.Generator().manual_seed(int(seed)))
                for entry, (_, k, seed) in zip(entries, items, strict=True)
            ]
        )
        clips = torch.tensor([clip for clip, _, _ in items])
        rows = (self.first_row[clips][:, None] + frames).to(self.device, non_blocking=True)  # [B,K]
        b, k = frames.shape
        rgb = self.rgb[size].index_select(0, rows.flatten()).unflatten(0, (b, k))  # [B,K,4,h,w]
        depth = self.depth[size].index_select(0, rows.flatten()).unflatten(0, (b, k))
        positions = frames if mode == "depth" else torch.arange(k).expand(b, k).clone()
        return {"indices": positions, "rgb_latents": rgb, "depth_latents": depth}
