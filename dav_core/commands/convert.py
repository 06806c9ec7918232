"""`dav convert SRC DST --precision fp16`: a checkpoint as one single-file bundle in the precision asked.

SRC is anything ``load_dav`` opens (the published folder, a bundle, a hub id); DST is a ``.safetensors``
bundle with the configs, scheduler and processing resolution in its metadata. Loading DST gives the same
tensors as loading SRC in that precision. Half precision halves the file and the memory it needs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert",
        help="write a checkpoint as one .safetensors bundle in fp32, fp16 or bf16",
        description="Convert a Depth Any Video checkpoint (folder, bundle or hub id) to a single-file bundle.",
    )
    p.add_argument("source", help="model folder, bundle .safetensors or hub id")
    p.add_argument("destination", type=Path, help="the bundle to write (.safetensors)")
    p.add_argument("--precision", default="fp16", choices=["fp32", "fp16", "bf16"], help="default fp16")
    p.add_argument("--overwrite", action="store_true", help="replace an existing destination")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    destination: Path = args.destination
    if destination.suffix != ".safetensors":
        raise ValueError(f"destination {destination} must end in .safetensors")
    if destination.is_dir():
        raise ValueError(f"destination {destination} is a folder: give a file name ending in .safetensors")
    if destination.exists() and not args.overwrite:
        raise ValueError(f"destination {destination} exists: pass --overwrite to replace it")
    if Path(args.source).resolve() == destination.resolve():
        raise ValueError("source and destination are the same file: write the bundle elsewhere")
    if not destination.parent.is_dir():
        raise ValueError(f"destination folder {destination.parent} does not exist")

    from ..models.loading import DTYPES, load_dav, save_bundle

    model = load_dav(args.source, dtype=DTYPES[args.precision])
    save_bundle(model, destination)
    size = destination.stat().st_size / 2**20
    print(f"wrote {destination} ({args.precision}, {size:.1f} MiB)", file=sys.stderr)
    return 0
