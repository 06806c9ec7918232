"""``dav synth``: generate a synthetic video + exact depth dataset (and/or a contact sheet)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = text.lower().split("x")
        return int(h), int(w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like HxW (e.g. 128x128), got {text!r}") from None


def _frames(text: str) -> int | tuple[int, int]:
    try:
        if "-" in text or ":" in text:
            a, b = text.replace(":", "-").split("-")
            lo, hi = int(a), int(b)
            if not 1 <= lo <= hi:
                raise ValueError
            return lo, hi
        n = int(text)
        if n < 1:
            raise ValueError
        return n
    except ValueError:
        raise argparse.ArgumentTypeError(f"frames must be N or MIN-MAX (positive), got {text!r}") from None


def register(subparsers) -> argparse.ArgumentParser:
    from .generators import SCENE_TYPES
    from .renderer import BACKENDS

    p = subparsers.add_parser(
        "synth",
        help="generate a synthetic video + exact depth dataset",
        description="Render procedural rooms, corridors, streets and terrain (photo-textured, moving objects, "
        "varied lights and camera paths) with exact z-depth. Clip i uses seed S+i; re-running completes "
        "an interrupted dataset. Format: dav_core/synthetic/README.md.",
    )
    p.add_argument("--out", type=Path, help="dataset directory (one folder per clip)")
    p.add_argument("--clips", type=int, default=8, help="number of clips (default 8)")
    p.add_argument(
        "--frames",
        type=_frames,
        default=32,
        help="frames per clip: N or MIN-MAX for variable length (default 32)",
    )
    p.add_argument("--size", type=_size, default=(128, 128), help="frame size HxW (default 128x128)")
    p.add_argument("--seed", type=int, default=0, help="base seed; clip i uses seed+i (default 0)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all CPU cores)")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="renderer: auto (GL, else ray caster), gl, raycast",
    )
    p.add_argument(
        "--scene",
        choices=SCENE_TYPES,
        action="append",
        help="restrict to scene type(s); repeatable, cycled over clips",
    )
    p.add_argument(
        "--rgb-format",
        choices=("auto", "mp4", "png"),
        default="auto",
        help="RGB storage (default: lossless mp4)",
    )
    p.add_argument(
        "--depth-dtype", choices=("float32", "float16"), default="float32", help="depth storage precision"
    )
    p.add_argument(
        "--effects",
        choices=("auto", "none"),
        default="auto",
        help="camera/sensor effects on the RGB (motion blur, defocus, exposure, white balance, noise): "
        "auto = sampled per clip from its seed (default), none = clean renders",
    )
    p.add_argument(
        "--contact-sheet",
        type=Path,
        metavar="PNG",
        help="also write a contact sheet (RGB + depth of sample clips)",
    )
    p.add_argument("--sheet-clips", type=int, default=8, help="clips on the contact sheet (default 8)")
    p.add_argument(
        "--sheet-frames", type=int, default=4, help="frames per clip on the contact sheet (default 4)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .generate import generate_dataset, resolve_backend

    if args.out is None and args.contact_sheet is None:
        print("error: dav synth needs --out DIR and/or --contact-sheet PNG", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be >= 1")
    if args.out is not None:
        stats = generate_dataset(
            args.out,
            args.clips,
            frames=args.frames,
            size=args.size,
            seed=args.seed,
            workers=args.workers,
            backend=args.backend,
            scene_types=args.scene,
            rgb_format=args.rgb_format,
            depth_dtype=args.depth_dtype,
            progress=not args.no_progress,
            effects=args.effects,
        )
        if stats["generated"]:
            print(
                f"dav synth: {stats['generated']} clips ({stats['frames']} frames) in {stats['seconds']:.1f}s "
                f"= {stats['frames_per_second']:.1f} frames/s with {stats['workers']} worker(s) [{stats['backend']}]; "
                f"{stats['skipped']} already complete -> {args.out}",
                file=sys.stderr,
            )
        else:
            print(f"dav synth: all {stats['clips']} clips already complete in {args.out}", file=sys.stderr)
    if args.contact_sheet is not None:
        from .contact import make_contact_sheet

        n = max(1, args.sheet_clips)
        if args.out is not None:
            from .dataset import clip_dirs, load_clip

            dirs = clip_dirs(args.out)[: max(args.clips, 0)] or clip_dirs(args.out)
            if not dirs:
                raise ValueError(f"no complete clips in {args.out} for the contact sheet")
            step = max(1, len(dirs) // n)
            clips = [load_clip(d) for d in dirs[::step][:n]]
        else:
            from .dataset import generate_clip
            from .renderer import create_renderer

            backend = resolve_backend(args.backend)
            if backend == "raycast":
                os.environ.setdefault("LP_NUM_THREADS", "1")
            renderer = create_renderer(backend)
            try:
                scenes = args.scene
                clips = [
                    generate_clip(
                        args.seed + i,
                        args.frames,
                        args.size,
                        renderer=renderer,
                        scene_type=scenes[i % len(scenes)] if scenes else None,
                        effects=args.effects,
                    )
                    for i in range(n)
                ]
            finally:
                renderer.close()
        path = make_contact_sheet(clips, args.contact_sheet, frames_per_clip=args.sheet_frames)
        print(f"dav synth: contact sheet -> {path}", file=sys.stderr)
    return 0
