"""`dav download [--repo ID] [--revision R] [--output DIR]`: the published model as a plain folder.

DIR defaults to ``<first $DAV_MODELS_DIR entry, else ./models/depth_any_video>/<repo name>``, which is
ComfyUI's layout when run from ComfyUI's folder. See :mod:`dav_core.models.download` for the checks.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

DEFAULT_REPO = (
    "hhyangcs/depth-any-video"  # = dav_core.models.download.DEFAULT_REPO (parsing imports no torch)
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "download",
        help="download the published model from the Hugging Face hub (safetensors only, resumable)",
        description="Download a Depth Any Video checkpoint from the Hugging Face hub into a plain folder "
        "that --model and ComfyUI's LoadDAVModel open. An interrupted download resumes when run again.",
    )
    p.add_argument("--repo", default=DEFAULT_REPO, help=f"hub id owner/name (default {DEFAULT_REPO})")
    p.add_argument(
        "--revision", default=None, help="branch, tag or commit (default: the repo's default branch)"
    )
    p.add_argument(
        "--output",
        "-o",
        type=Path,
        default=None,
        help="the model folder to create (default: <$DAV_MODELS_DIR or models/depth_any_video>/<repo name>)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def default_output(repo_id: str) -> Path:
    """``<first $DAV_MODELS_DIR entry or models/depth_any_video>/<repo name>``."""
    dirs = [d for d in os.environ.get("DAV_MODELS_DIR", "").split(os.pathsep) if d]
    base = Path(dirs[0]) if dirs else Path("models") / "depth_any_video"
    return base / repo_id.rsplit("/", 1)[-1]


def run(args: argparse.Namespace) -> int:
    output: Path = (args.output or default_output(args.repo)).expanduser().absolute()
    if output.exists() and not output.is_dir():
        raise ValueError(f"--output {output} is a file: give the folder to create")

    from ..models.download import download_model, is_model_folder

    for name in ("httpx", "httpx2"):  # one INFO line per HTTP request otherwise
        logging.getLogger(name).setLevel(logging.WARNING)

    existed = is_model_folder(output)
    try:
        folder = download_model(
            output.parent,
            args.repo,
            revision=args.revision,
            name=output.name,
            show_progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        print(
            "interrupted: the bytes downloaded so far are kept; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    print(
        f"{args.repo} {'was already' if existed else 'downloaded'} in {folder}\n"
        f"use it: dav depth clip.mp4 --output out --model {folder}",
        file=sys.stderr,
    )
    return 0
