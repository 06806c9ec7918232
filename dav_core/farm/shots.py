"""The shots of one call: inputs on the command line or in a list file, each with its output folder name."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ShotEntry:
    """One input and the output folder name asked for it (None: named after its input)."""

    input: Path
    name: str | None = None


def read_shot_list(path: str | Path, option: str = "--shots") -> list[ShotEntry]:
    """``path``: one input per line, an optional second column naming its output folder; ``#`` starts a
    comment; a relative input is relative to the list's folder. Quote paths holding spaces."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ValueError(f"{option} {path} cannot be read: {err.strerror or err}") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            fields = shlex.split(line, comments=True)
        except ValueError as err:
            raise ValueError(f"{option} {path} line {number}: {err}") from None
        if not fields:
            continue
        if len(fields) > 2:
            raise ValueError(
                f"{option} {path} line {number}: expected an input and an optional output name, got "
                f"{len(fields)} fields (quote paths holding spaces)"
            )
        entries.append(ShotEntry(path.parent / fields[0], fields[1] if len(fields) == 2 else None))
    if not entries:
        raise ValueError(f"{option} {path} lists no inputs")
    return entries


def default_name(entry: ShotEntry, source=None) -> str:
    """The output folder name of a shot: the given name, a folder's own name, the sequence's name (a
    pattern ``sh010_plate.####.exr`` -> ``sh010_plate``), else the input's file stem."""
    if entry.name:
        return entry.name
    if entry.input.is_dir():
        return entry.input.name
    plate_name = getattr(getattr(source, "plate", None), "name", None)
    if plate_name:
        return str(plate_name)
    return entry.input.name if entry.input.is_dir() else entry.input.stem


def check_names(names: list[str], inputs: list[Path], option: str = "--output") -> None:
    """Refuse two shots writing to one folder (names compared ignoring case) and names that are not one
    plain folder name."""
    seen: dict[str, Path] = {}
    for name, path in zip(names, inputs, strict=True):
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            raise ValueError(f"shot {path}: output name {name!r} must be one folder name")
        key = name.casefold()
        if key in seen:
            raise ValueError(
                f"{option}: shots {seen[key]} and {path} would both write to the folder {name!r}; give one "
                "of them another name in a --shots list (second column)"
            )
        seen[key] = path
