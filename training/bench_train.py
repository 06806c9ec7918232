"""Training-step benchmark: the trainer's own steps, per-item batches against batches gathered on the device.

    python -m training.bench_train --config training/configs/tiny_v4.yaml --batch 16,4 --batch 256,64

For every ``--batch`` (one size per configured resolution) it builds the trainer twice from the same
config, with ``data.pack_on_device`` false (``ClipDataset`` items collated in a ``DataLoader`` and
copied to the device) and true (:mod:`training.device_batches`), runs ``--warmup`` untimed steps and then
``--steps`` timed depth steps, and prints steps/s, clips/s and the milliseconds of each step spent
getting the batch. A batch holds clips of one resolution and one frame count, so batches larger than
such a group need ``data.clip_repeats`` (each clip drawn that many times per epoch). Both variants run in the same process, one after the other, so their ratio is
measured under the same conditions. Needs a config that trains on latent packs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time

import torch

from .cli import config_parser, resolved_config
from .config import load_config, resolve
from .train import Trainer


def _parse_batch(text: str) -> list[int]:
    try:
        sizes = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch must look like 16,4, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--batch sizes must be >= 1, got {text!r}")
    return sizes


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(cfg: dict, warmup: int, steps: int) -> dict:
    """Steps/s, clips/s and data milliseconds per step of ``steps`` depth steps after ``warmup``."""
    trainer = Trainer(cfg)
    trainer._setup_phase("depth")
    data_s, clips = 0.0, 0
    next_batch = trainer._next_batch

    def timed_next_batch() -> dict:
        nonlocal data_s, clips
        _sync(trainer.device)
        start = time.perf_counter()
        batch = next_batch()
        _sync(trainer.device)
        data_s += time.perf_counter() - start
        clips += int(batch["indices"].shape[0])
        return batch

    trainer._next_batch = timed_next_batch
    for _ in range(warmup):
        trainer.train_step()
    _sync(trainer.device)
    data_s, clips = 0.0, 0
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    _sync(trainer.device)
    wall = time.perf_counter() - start
    return {
        "steps_per_s": steps / wall,
        "clips_per_s": clips / wall,
        "data_ms_per_step": 1000 * data_s / steps,
        "device": str(trainer.device),
    }


def _parser() -> argparse.ArgumentParser:
    parser = config_parser(
        "python -m training.bench_train", __doc__, config_help="training config that reads data.latent_pack"
    )
    parser.add_argument(
        "--batch",
        type=_parse_batch,
        action="append",
        help="batch size per configured resolution, e.g. 16,4 (repeatable; default: the config's)",
    )
    parser.add_argument("--steps", type=int, default=30, help="timed steps per variant (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--json", help="also write the results to this file")
    return parser


def _variant_config(args: argparse.Namespace, output_dir: str, sizes: list[int], on_device: bool) -> dict:
    """The config of one timed variant: its batch sizes and batch path, a fresh run without checkpoints."""
    overrides = [
        *args.overrides,
        f"output_dir={output_dir}",
        f"data.batch_sizes={json.dumps(sizes)}",
        f"data.pack_on_device={str(on_device).lower()}",
        f"train.steps={args.warmup + args.steps + 1}",
        "train.resume=false",
        "train.time_budget_min=null",
        "train.checkpoint_every=0",
    ]
    return resolve(load_config(args.config, overrides))


def _print_row(row: dict) -> None:
    print(
        f"batch {','.join(map(str, row['batch_sizes'])):>9}  {'device' if row['pack_on_device'] else 'per-item':>8}  "
        f"{row['steps_per_s']:7.2f} steps/s  {row['clips_per_s']:8.1f} clips/s  "
        f"data {row['data_ms_per_step']:7.1f} ms/step  ({row['device']})",
        flush=True,
    )


def main(argv: list[str] | None = None) -> list[dict]:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    logging.basicConfig(level=logging.WARNING)
    base = resolved_config(args)
    if not base["data"].get("latent_pack"):
        parser.error(
            f"--config {args.config} has no data.latent_pack (make one: python -m training.latent_pack)"
        )
    results = []
    with tempfile.TemporaryDirectory(prefix="dav_bench_train_") as tmp:
        for sizes in args.batch or [base["data"]["batch_sizes"]]:
            for on_device in (False, True):
                cfg = _variant_config(args, f"{tmp}/run_{len(results)}", sizes, on_device)
                row = {"batch_sizes": sizes, "pack_on_device": on_device}
                row.update(time_steps(cfg, args.warmup, args.steps))
                results.append(row)
                _print_row(row)
            item, device = results[-2], results[-1]
            print(f"  device / per-item steps/s: {device['steps_per_s'] / item['steps_per_s']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
