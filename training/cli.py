"""Command lines of the training tools: a YAML config, dotted key=value overrides, console logging."""

from __future__ import annotations

import argparse
import logging

from .config import load_config, resolve


def config_parser(
    prog: str, doc: str, config_help: str = "YAML config (may name a base_config)"
) -> argparse.ArgumentParser:
    """A parser of ``--config`` and trailing overrides, described by the first line of ``doc``."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
    parser.add_argument("--config", required=True, help=config_help)
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. train.steps=100")
    return parser


def resolved_config(args: argparse.Namespace) -> dict:
    """The config of ``args.config`` with ``args.overrides`` applied."""
    return resolve(load_config(args.config, args.overrides))


def log_to_console(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
