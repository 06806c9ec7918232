"""Numbered image sequences as VFX tools name them, found with ``fileseq``.

An input is a folder, an image file, or a pattern: ``plate.####.exr``, ``plate.@@@@.exr``,
``plate.%04d.exr``, ``plate.1001-1100#.exr``. Frame numbers come from the file names (any padding, from
1001, negative). Holes are reported in one warning line; the sequence still spans first..last and a
missing frame is read as the previous present one ("hold", so the frames around a hole keep their true
distance for the model), or refused with ``on_missing="error"``. In a folder the sequence is chosen by its
name pattern: other images are listed in the log, never interleaved; when two sequences are equally long
the folder is refused with the list (name one with a pattern). A folder of images without frame numbers is
read in natural order, numbered 0..N-1.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .plate import DEFAULT_PADDING

__all__ = ["IMAGE_EXTENSIONS", "ON_MISSING", "ImageSequence", "find_sequence", "natural_key"]

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr", ".dpx"})
ON_MISSING = ("hold", "error")
_INSTALL = 'pip install "comfyui-depth-any-video"  (or: pip install "fileseq>=2.0")'
_PATTERN = re.compile(r"[#@]|%0?\d*d|\$F\d*|\d+-\d+")


def _fileseq():
    try:
        import fileseq
    except ImportError:
        raise ImportError(f"reading image sequences needs fileseq: {_INSTALL}") from None
    return fileseq


def natural_key(name: str) -> tuple:
    """Sort key putting ``frame_2`` before ``frame_10`` (digit runs compare as numbers)."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


@dataclass(frozen=True)
class ImageSequence:
    """Present files by frame number; ``frame_numbers`` first..last contiguous; ``missing`` the holes."""

    files: dict[int, Path]
    frame_numbers: tuple[int, ...]
    missing: tuple[int, ...]
    padding: int
    name: str
    pattern: str

    def file_for(self, number: int) -> Path:
        """The file read for frame ``number``: its own, else the previous present one (hold)."""
        while number not in self.files:
            number -= 1
        return self.files[number]


def _describe(numbers) -> str:
    return str(_fileseq().FrameSet(sorted(numbers)))


def _from_fileseq(seq, restrict=None) -> ImageSequence:
    files = {}
    for frame, path in zip(seq.frameSet(), seq, strict=True):  # the files of the sequence, in frame order
        if restrict is None or frame in restrict:
            files[int(frame)] = Path(path)
    if not files:
        raise ValueError(f"the frame range of {seq} selects no file")
    first, last = min(files), max(files)
    numbers = tuple(range(first, last + 1))
    missing = tuple(n for n in numbers if n not in files)
    name = seq.basename().rstrip("._-") or Path(seq.dirname() or ".").resolve().name
    padding = max(1, seq.zfill())
    pattern = os.path.join(seq.dirname(), f"{seq.basename()}{'#' * padding}{seq.extension()}")
    return ImageSequence(files, numbers, missing, padding, name, pattern)


def _numbered_sequences(folder: Path) -> list:
    fileseq = _fileseq()
    found = []
    for seq in fileseq.findSequencesOnDisk(str(folder)):
        if (
            seq.extension().lower() in IMAGE_EXTENSIONS
            and seq.frameSet() is not None
            and seq.basename()[:1] != "."
        ):
            found.append(seq)
    return found


def _folder(folder: Path) -> ImageSequence:
    images = sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
        ),
        key=lambda p: natural_key(p.name),
    )
    if not images:
        allowed = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise ValueError(f"no image frames ({allowed}) in folder {folder}")
    sequences = sorted(_numbered_sequences(folder), key=lambda s: -len(s))
    if not sequences:  # images without frame numbers: natural order, 0..N-1
        files = dict(enumerate(images))
        return ImageSequence(files, tuple(files), (), DEFAULT_PADDING, folder.resolve().name, str(folder))
    if len(sequences) > 1 and len(sequences[0]) == len(sequences[1]):
        listed = "; ".join(Path(_from_fileseq(s).pattern).name for s in sequences)
        raise ValueError(
            f"folder {folder} holds several sequences of {len(sequences[0])} frames ({listed}): name one with a "
            "pattern such as plate.####.exr"
        )
    chosen = _from_fileseq(sequences[0])
    others = [p.name for p in images if p not in set(chosen.files.values())]
    if others:
        log.warning(
            "folder %s: reading sequence %s; %d other images not read: %s",
            folder, Path(chosen.pattern).name, len(others), ", ".join(others[:10]) + (" ..." if len(others) > 10 else ""),
        )  # fmt: skip
    return chosen


def find_sequence(
    spec: str | os.PathLike, on_missing: str = "hold", name: str = "input", missing_name: str = "on_missing"
) -> ImageSequence:
    """The sequence a folder or a pattern names (see the module doc); ``name``, ``missing_name``: the input
    and the ``on_missing`` option as errors call them."""
    if on_missing not in ON_MISSING:
        raise ValueError(f"{missing_name} must be one of {', '.join(ON_MISSING)}, got {on_missing!r}")
    path = Path(spec)
    if path.is_dir():
        seq = _folder(path)
    else:
        fileseq = _fileseq()
        text = str(spec)
        if not _PATTERN.search(Path(text).name):
            raise FileNotFoundError(f"{name} not found: {text}")
        try:
            pattern = fileseq.FileSequence(text)
            found = fileseq.findSequenceOnDisk(text)
        except (fileseq.FileSeqException, ValueError) as err:
            raise FileNotFoundError(f"{name} pattern {text} matches no files ({err})") from None
        restrict = pattern.frameSet()
        restrict = (
            set(restrict)
            if restrict is not None and re.search(r"\d+-\d+", pattern.frameRange() or "")
            else None
        )
        seq = _from_fileseq(found, restrict)
    if seq.missing:
        where = Path(seq.pattern).name
        if on_missing == "error":
            raise ValueError(
                f"sequence {where} is missing frames {_describe(seq.missing)} ({missing_name} error)"
            )
        log.warning(
            "sequence %s: missing frames %s (%d) are read as the frame before each",
            where,
            _describe(seq.missing),
            len(seq.missing),
        )
    return seq
