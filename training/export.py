"""Export a checkpoint to a single-file bundle: ``python -m training.export SOURCE OUT.safetensors``.

SOURCE is a training checkpoint (``.../checkpoints/step_XXXXXXX``), its ``model/`` folder, ``final/`` or
any folder ``load_dav`` reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dav_core.models.loading import load_dav, save_bundle


def export_bundle(source: str | Path, out: str | Path) -> Path:
    source = Path(source)
    if (source / "model" / "unet").is_dir():
        source = source / "model"
    save_bundle(load_dav(source), out)
    return Path(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    print(export_bundle(args.source, args.out))


if __name__ == "__main__":
    main(sys.argv[1:])
