"""The one output-folder contract every writer of depth files follows (``dav depth``, each node, ``dav bench``).

* **Identity.** Every run records its job identity (what decides its frames: input, settings, model, or
  the values of a saved batch) under ``job`` in the folder's ``manifest.json``.
* **Resume** keeps the valid frames of sequence outputs (png16, exr) and computes the rest; it refuses a
  folder holding depth files whose recorded identity is missing or different. A single-file output (npy,
  the mp4 preview) needs every frame, so it is written whole.
* **Overwrite** removes every depth file of the previous run (frames, arrays, preview, partial files; found
  under the name the manifest records, the current name, and the ``depth_000123.png`` names of earlier
  versions) and its manifest, so the new manifest holds the new run only.
* **Names.** Files are ``<name>.<frame>.<ext>``, ``<name>.npy``, ``<name>_preview.mp4``
  (:mod:`dav_core.io.output_names`) with the plate's frame numbers and padding; the manifest records the
  ``name`` and the ``plate`` (:class:`dav_core.io.plate.PlateInfo`).
* Neither: a folder that already holds depth files is refused.
* **Lock.** The folder is locked while a run writes (a second run on it is refused); the manifest says
  ``completed: true`` only once everything is written.

Errors name the front end's options through ``names`` (keys ``output``, ``resume``, ``overwrite``; a front
end without a resume option maps ``resume`` to "").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..choices import COLORMAPS, OUTPUT_FORMATS, SEQUENCE_FORMATS, check_choice
from .exr import check_exr_type, parse_exr_layers
from .output_folder import OutputLock, prepare_output_folder
from .output_names import DEFAULT_NAME, array_filename, check_name, depth_file_pattern, preview_filename
from .plate import PlateInfo
from .writers import MANIFEST_NAME, DepthEncoding, make_writer, read_manifest, set_manifest_field

PREVIEW_FORMAT = "mp4"
# Relative disparity in [0,1] (near = 1): what the pipeline produces and every output stores.
DISPARITY = DepthEncoding(kind="disparity", low=0.0, high=1.0, relative=True)


def parse_formats(text: str | Sequence[str], name: str = "format") -> tuple[str, ...]:
    """``"png16,mp4"`` or a sequence -> validated, de-duplicated formats (errors name ``name``)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    formats = [f.strip() for f in items if f.strip()]
    bad = [f for f in formats if f not in OUTPUT_FORMATS]
    if bad or not formats:
        raise ValueError(f"{name} takes a comma-separated list of {', '.join(OUTPUT_FORMATS)}; got {text!r}")
    return tuple(dict.fromkeys(formats))


def depth_files(folder: Path, names: Sequence[str] = ()) -> list[Path]:
    """The depth files of earlier runs in ``folder`` (frames, arrays, previews, partial files) named ``names``,
    the name its manifest records, or the default name."""
    if not folder.is_dir():
        return []
    recorded = (read_manifest(folder) or {}).get("name")
    pattern = depth_file_pattern([*names, DEFAULT_NAME, *([recorded] if isinstance(recorded, str) else [])])
    return sorted(p for p in folder.iterdir() if p.is_file() and pattern.fullmatch(p.name))


def batch_identity(values: np.ndarray, frame_numbers: Sequence[int], encoding: DepthEncoding) -> dict:
    """The job identity of saving a computed depth batch [N,H,W]: its values, frame numbers and encoding."""
    digest = hashlib.sha256(np.ascontiguousarray(values, dtype=np.float32).tobytes()).hexdigest()
    return {
        "input": {"depth_batch": digest, "frames": [int(n) for n in frame_numbers]},
        "settings": {"encoding": encoding.to_dict()},
        "model": None,
    }


class DepthOutputs:
    """The depth files of one output folder, opened together under the module's contract.

    ``job``: the run's identity (recorded; compared on resume). ``plate``: what the source's frames carry
    (padding, pixel aspect, windows, colourspace); ``name``: the files' name; ``exr_type``/``exr_layers``: the
    EXR layout (:mod:`dav_core.io.exr`); ``fps``: the frame rate, None when unknown (the preview then plays at
    24). ``kept``: frame numbers already present
    in every sequence output (resume); ``needs_every_frame``: a single-file output (npy, mp4) is
    requested, so every frame must be passed to :meth:`write`. As a context manager an exception aborts
    every writer (frames written stay, the manifest says incomplete).
    """

    def __init__(
        self,
        output: str | Path,
        formats: Sequence[str],
        frame_numbers: Sequence[int],
        job: dict,
        *,
        encoding: DepthEncoding = DISPARITY,
        fps: float | None = None,
        colormap: str = "Spectral",
        resume: bool = False,
        overwrite: bool = False,
        names: Mapping[str, str] | None = None,
        plate: PlateInfo | None = None,
        name: str = DEFAULT_NAME,
        exr_type: str = "float",
        exr_layers: Sequence[str] = ("depth",),
    ) -> None:
        names = {"output": "output", "resume": "resume", "overwrite": "overwrite", **(names or {})}
        formats = parse_formats(formats, names.get("format", "format"))
        check_choice(names.get("colormap", "colormap"), colormap, COLORMAPS)
        check_name(name, names.get("name", "name"))
        check_exr_type(exr_type, names.get("exr_type", "exr_type"))
        exr_layers = parse_exr_layers(exr_layers, names.get("exr_layers", "exr_layers"))
        plate = plate or PlateInfo()
        if resume and overwrite:
            raise ValueError(f"{names['resume'] or 'resume'} and {names['overwrite']} exclude each other")
        self.output = prepare_output_folder(output, names["output"])
        self.lock = OutputLock(self.output, names["output"]).acquire()
        self.writers = {}
        try:
            _claim_folder(self.output, job, resume, overwrite, names, name)
            for fmt in formats:
                if fmt in SEQUENCE_FORMATS:
                    options = {"resume": resume, "stem": name, "plate": plate}
                else:
                    options = {"overwrite": resume, "filename": array_filename(name)}
                if fmt == PREVIEW_FORMAT:
                    options.update(fps=fps or 24.0, colormap=colormap, filename=preview_filename(name))
                if fmt == "exr":
                    options.update(exr_type=exr_type, layers=exr_layers, fps=fps, attributes=_exr_attributes(job))
                self.writers[fmt] = make_writer(
                    fmt, self.output, encoding, expected_frames=frame_numbers, **options
                )
            set_manifest_field(self.output, "job", job)
            set_manifest_field(self.output, "name", name)
            set_manifest_field(self.output, "plate", plate.to_dict())
        except BaseException:
            self.abort()
            raise
        sequences = [w.existing for fmt, w in self.writers.items() if fmt in SEQUENCE_FORMATS]
        self.frame_numbers = list(frame_numbers)  # the frames this run writes
        self.kept = set(frame_numbers).intersection(*sequences) if sequences else set()
        self.needs_every_frame = any(fmt not in SEQUENCE_FORMATS for fmt in formats)

    def write(self, number: int, values) -> None:
        """One frame [H,W] to every output (sequence frames already present are not rewritten)."""
        for fmt, writer in self.writers.items():
            if fmt not in SEQUENCE_FORMATS or number not in writer.existing:
                writer.write(number, values)

    def close(self) -> None:
        try:
            for writer in self.writers.values():
                writer.close()
        finally:
            self.lock.release()

    def abort(self) -> None:
        try:
            for writer in self.writers.values():
                writer.abort()
        finally:
            self.lock.release()

    def __enter__(self) -> DepthOutputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _exr_attributes(job: dict) -> dict[str, str]:
    """The run's model and settings as EXR header attributes (JSON strings)."""
    return {
        "dav:model": json.dumps(job.get("model"), sort_keys=True),
        "dav:settings": json.dumps(job.get("settings"), sort_keys=True),
    }


def _claim_folder(
    folder: Path, job: dict, resume: bool, overwrite: bool, names: Mapping[str, str], name: str = DEFAULT_NAME
) -> None:
    """Apply the contract to what the folder holds before any writer opens (see the module doc)."""
    previous = depth_files(folder, [name])
    manifest = folder / MANIFEST_NAME
    if overwrite:
        for path in previous:
            path.unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
        return
    if not previous:
        manifest.unlink(missing_ok=True)  # a manifest without files describes nothing that is there
        return
    restart = f"use {names['overwrite']} to replace them, or another folder"
    if not resume:
        finish = f"{names['resume']} to finish that run, or " if names["resume"] else ""
        raise ValueError(
            f"{names['output']} {folder} already holds {len(previous)} depth files of another run: {finish}{restart}"
        )
    recorded = (read_manifest(folder) or {}).get("job")
    if recorded is None:
        raise ValueError(
            f"{names['resume']}: the depth files in {folder} record no job, so they cannot be resumed; {restart}"
        )
    _check_same_job(folder, json.loads(json.dumps(recorded)), json.loads(json.dumps(job)), names, restart)


def _check_same_job(folder: Path, recorded: dict, job: dict, names: Mapping[str, str], restart: str) -> None:
    where = f"{names['resume']}: the frames in {folder}"
    if recorded.get("input") != job.get("input"):
        raise ValueError(f"{where} were made from another input; {restart}")
    if recorded.get("settings") != job.get("settings"):
        old, new = recorded.get("settings") or {}, job.get("settings") or {}
        changed = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted({*old, *new}) if old.get(k) != new.get(k))
        raise ValueError(f"{where} were made with other settings ({changed}); {restart}")
    if recorded.get("model") != job.get("model"):
        raise ValueError(f"{where} were made with another model ({recorded.get('model')}); {restart}")
    if recorded.get("output") != job.get("output"):
        old, new = recorded.get("output") or {}, job.get("output") or {}
        changed = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted({*old, *new}) if old.get(k) != new.get(k))
        raise ValueError(f"{where} were written under other names or layout ({changed}); {restart}")
