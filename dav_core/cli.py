"""The `dav` console entry point.

Each subcommand lives in its own module exposing ``register(subparsers)`` (adds its parser and sets
``func``). Modules are imported only when the CLI starts, so a missing optional dependency of one
command never breaks the others.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# What a user passed is wrong (exit 2); anything else is a runtime failure (exit 1).
USAGE_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError)

# subcommand name -> module defining register(subparsers)
COMMAND_MODULES = {
    "depth": "dav_core.commands.depth",
    "synth": "dav_core.synthetic.command",
    "eval": "dav_core.commands.evaluate",
    "bench": "dav_core.commands.bench",
    "convert": "dav_core.commands.convert",
    "download": "dav_core.commands.download",
}


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line plus a hint, like every other error of the command line."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\nhint: {self.prog} --help lists the options\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="dav", description="Depth Any Video command line")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error (also: DAV_DEBUG=1)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is not None and module_name.startswith(err.name):
                continue  # command not part of this build
            raise
        module.register(subparsers)
    for command in subparsers.choices.values():  # `dav depth ... --debug` works too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
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
    debug = args.debug or os.environ.get("DAV_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted: frames written so far are kept; rerun with --resume to finish", file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            raise
        usage = isinstance(err, USAGE_ERRORS)
        print(f"error: {one_line(err, usage)}", file=sys.stderr)
        if not usage:
            print("hint: rerun with --debug (or DAV_DEBUG=1) to see where it failed", file=sys.stderr)
        return 2 if usage else 1


def one_line(err: BaseException, usage: bool) -> str:
    """The error's message on one line; runtime failures also name their kind."""
    message = " ".join(str(err).split()) or type(err).__name__
    return message if usage else f"{message} ({type(err).__name__})"


if __name__ == "__main__":
    sys.exit(main())
