"""The `dav` console entry point.

Each subcommand lives in its own module exposing ``register(subparsers)`` (adds its parser and sets
``func``). Modules are imported only when the CLI starts, so a missing optional dependency of one
command never breaks the others.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# subcommand name -> module defining register(subparsers)
COMMAND_MODULES = {
    "depth": "dav_core.commands.depth",
    "synth": "dav_core.synthetic.command",
    "eval": "dav_core.commands.evaluate",
    "bench": "dav_core.commands.bench",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dav", description="Depth Any Video command line")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is not None and module_name.startswith(err.name):
                continue  # command not part of this build
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s"
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
